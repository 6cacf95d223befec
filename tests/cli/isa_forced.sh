#!/usr/bin/env bash
# Correctness of the lower ISA paths on a machine that has a higher one: the unit tests, then a
# sample of the ONNX conformance cases (every EVERY-th in name order), with TESSERA_ISA forced.
# Timings are not checked. Usage: isa_forced.sh ISA TESSERA UNIT_TESTS CASES_DIR EXPECTED_FAILURES [EVERY]
# Run from build/tests (the unit tests find the conformance data from there). Exit 77 (skipped)
# when CASES_DIR is absent.
set -eu
isa=$1 tessera=$2 unit_tests=$3 expected=$5 every=${6:-4}
[ -d "$4" ] || { echo "no backend test data at $4: skipped"; exit 77; }
export TESSERA_ISA=$isa
"$unit_tests" --gtest_brief=1
exec bash "$(dirname "$0")/conformance_sample.sh" "$tessera" "$4" "$expected" "$every"
