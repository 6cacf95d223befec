#!/usr/bin/env bash
# Correctness of the lower ISA paths on a machine that has a higher one: the unit tests, then a
# sample of the ONNX conformance cases (every EVERY-th in name order), with TESSERA_ISA forced.
# Timings are not checked. Usage: isa_forced.sh ISA TESSERA UNIT_TESTS CASES_DIR EXPECTED_FAILURES [EVERY]
# Run from build/tests (the unit tests find the conformance data from there). Exit 77 (skipped)
# when CASES_DIR is absent.
set -eu
isa=$1 tessera=$2 unit_tests=$3 expected=$5 every=${6:-4}
root=$(cd "$4" 2>/dev/null && pwd) || { echo "no backend test data at $4: skipped"; exit 77; }
export TESSERA_ISA=$isa
"$unit_tests" --gtest_brief=1
sample=$(mktemp -d)
trap 'rm -rf "$sample"' EXIT
printf '%s\n' "$root"/*/*/ | awk -v every="$every" '(NR - 1) % every == 0' | while read -r case_dir; do
  suite=$(basename "$(dirname "$case_dir")")
  mkdir -p "$sample/$suite"
  ln -s "$case_dir" "$sample/$suite/$(basename "$case_dir")"
done
# The expected failures that are in the sample.
(cd "$sample" && ls -d */*) >"$sample.cases"
awk 'NR == FNR { in_sample[$1] = 1; next } /^#/ || $1 in in_sample' "$sample.cases" "$expected" >"$sample.expected"
trap 'rm -rf "$sample" "$sample.cases" "$sample.expected"' EXIT
"$tessera" test "$sample" --expected-failures "$sample.expected"
