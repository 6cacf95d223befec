#!/usr/bin/env bash
# CI's sanitizer stage (after scripts/test.sh; docs/testing.md): one clang ASan + UBSan build
# (CMake preset `fuzz`, in build-fuzz/) serves all of:
#   1. the unit tests under ASan + UBSan + LSan, but for the two that run every conformance
#      model in-process (InferenceConformance.*, ModelWriter.EveryConformanceModelRoundTrips:
#      the sample below runs the same kernels; UNIT_FILTER='*' keeps them);
#   2. a sample of the ONNX conformance suite under ASan: every EVERY-th case (default 4) in
#      name order over all suites, at the default optimization level, against the expected
#      failures of the sampled cases;
#   3. each libFuzzer target for FUZZ_SECONDS (default 60) from seeds made of every 4th
#      conformance case (tests/fuzz/make_seeds.sh).
#   4. under TSan (preset tsan, build-tsan/): the thread pool's and the profiler's tests, a binary
#      of their own over the core stage only. The session-level concurrency tests (many runs on
#      one session) stay in the preset: a second full build does not fit CI's time budget.
# Environment: EVERY, FUZZ_SECONDS, UNIT_FILTER, BACKEND_TESTS (default ../shared/onnx-backend-tests).
set -euo pipefail
cd "$(dirname "$0")/.."
every="${EVERY:-4}"
fuzz_seconds="${FUZZ_SECONDS:-60}"
backend_tests="${BACKEND_TESTS:-../shared/onnx-backend-tests}"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# clang and its sanitizer and libFuzzer runtimes: this stage's own dependencies.
packages=(clang libclang-rt-14-dev)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi

cmake --preset fuzz -DTESSERA_WERROR="${TESSERA_WERROR:-OFF}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target tessera_unit_tests tessera_cli fuzz_model_load fuzz_session_run fuzz_value_decode

echo "== unit tests under ASan + UBSan"
unit_filter="${UNIT_FILTER:--InferenceConformance.*:ModelWriter.EveryConformanceModelRoundTrips}"
(cd build-fuzz/tests && ./tessera_unit_tests --gtest_brief=1 --gtest_filter="$unit_filter")

echo "== conformance under ASan + UBSan: every ${every}th case"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -d "$backend_tests" ]; then
  printf '%s\n' "$backend_tests"/*/*/model.onnx | awk -v every="$every" '(NR - 1) % every == 0' |
    xargs -n1 dirname >"$work/cases.txt"
  # Only the expectations of the sampled cases (SUITE/CASE labels).
  awk -F/ '{ print $(NF - 1) "/" $NF }' "$work/cases.txt" |
    awk 'NR == FNR { run[$1] = 1; next } /^#/ || NF == 0 || ($1 in run)' - tests/conformance_expected_failures.txt \
      >"$work/expected.txt"
  echo "$(wc -l <"$work/cases.txt") cases"
  xargs -a "$work/cases.txt" -d '\n' build-fuzz/tessera test --jobs "$(nproc)" --expected-failures "$work/expected.txt" |
    grep -v "^XFAIL " | tail -5
else
  echo "no conformance cases at $backend_tests: skipped"
fi

echo "== fuzz targets, ${fuzz_seconds} s each"
tests/fuzz/make_seeds.sh "$work/seeds" "$backend_tests" 4
tests/fuzz/run_long.sh -t "$fuzz_seconds" -b build-fuzz -o "$work/fuzz" -s "$work/seeds"

echo "== thread pool and profiler tests under TSan"
cmake --preset tsan -DTESSERA_WERROR="${TESSERA_WERROR:-OFF}" >/dev/null
cmake --build build-tsan -j"$(nproc)" --target tessera_tsan_core_tests
TSAN_OPTIONS="halt_on_error=1" build-tsan/tests/tessera_tsan_core_tests --gtest_brief=1
