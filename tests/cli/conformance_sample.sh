#!/usr/bin/env bash
# A sample of the ONNX conformance cases (every EVERY-th in name order) through `tessera test`,
# with the expected failures that are in the sample; the remaining arguments go to `tessera test`
# (e.g. --inter-op-threads 2). Usage:
#   conformance_sample.sh TESSERA CASES_DIR EXPECTED_FAILURES EVERY [TEST_FLAGS...]
# Exit 77 (skipped) when CASES_DIR is absent.
set -eu
tessera=$1 expected=$3 every=$4
root=$(cd "$2" 2>/dev/null && pwd) || { echo "no backend test data at $2: skipped"; exit 77; }
shift 4
sample=$(mktemp -d)
trap 'rm -rf "$sample" "$sample.cases" "$sample.expected"' EXIT
printf '%s\n' "$root"/*/*/ | awk -v every="$every" '(NR - 1) % every == 0' | while read -r case_dir; do
  suite=$(basename "$(dirname "$case_dir")")
  mkdir -p "$sample/$suite"
  ln -s "$case_dir" "$sample/$suite/$(basename "$case_dir")"
done
# The expected failures that are in the sample.
(cd "$sample" && ls -d */*) >"$sample.cases"
awk 'NR == FNR { in_sample[$1] = 1; next } /^#/ || $1 in in_sample' "$sample.cases" "$expected" >"$sample.expected"
"$tessera" test "$sample" --expected-failures "$sample.expected" "$@"
