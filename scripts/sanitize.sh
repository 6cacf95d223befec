#!/usr/bin/env bash
# CI's sanitizer stage (.ci/run runs it after scripts/test.sh; docs/testing.md). Two builds:
#   build-fuzz/ (preset fuzz: clang, ASan + UBSan, libraries instrumented for libFuzzer) serves
#     1. every unit test under ASan + UBSan + LSan (UNIT_FILTER narrows them);
#     2. a sample of the ONNX conformance suite: every EVERY-th case (default 4) in name order
#        over all suites, at the default optimization level, against the expected failures of
#        the sampled cases;
#     3. each libFuzzer target for FUZZ_SECONDS (default 60) from seeds of every 4th
#        conformance case (tests/fuzz/make_seeds.sh);
#   build-tsan/ (preset tsan) builds only tessera_tsan_tests: the thread pool's, the profiler's
#     and the session concurrency tests (tests/CMakeLists.txt) under TSan.
# Sampled, to fit CI's time: the conformance cases (every EVERY-th), the fuzzers (FUZZ_SECONDS
# each) and TSan (only the concurrency tests). Both builds compile the CPU kernels at -O0, and
# without UBSan under ASan (cmake/sanitizers.cmake says why); docs/testing.md has the cost.
# Findings fail the stage. No suppressions: add one only for third-party code (oneDNN, OpenMP,
# protobuf), with its reason, as LSAN_OPTIONS/TSAN_OPTIONS suppressions=FILE.
# Environment: EVERY, FUZZ_SECONDS, UNIT_FILTER, BACKEND_TESTS (default ../shared/onnx-backend-tests).
# Needs clang and libclang-rt-14-dev (scripts/install_deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
every="${EVERY:-4}"
fuzz_seconds="${FUZZ_SECONDS:-60}"
backend_tests="${BACKEND_TESTS:-../shared/onnx-backend-tests}"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1"
# Each phase prints the wall time so far and the CPU time its children used (user, sys).
phase() { echo "== $1 (at ${SECONDS} s; CPU so far: $(times | tail -1))"; }
# A failing run phase is recorded and the next phases still run, so one run reports every
# finding; the stage fails at the end. A failing build stops it at once.
failed=()
fail() { echo "== FAILED: $1"; failed+=("$1"); }

phase "ASan + UBSan build: the fuzz targets (build-fuzz)"
cmake --preset fuzz -DTESSERA_WERROR="${TESSERA_WERROR:-OFF}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_model_load fuzz_session_run fuzz_value_decode
phase "ASan + UBSan build: the unit tests and the CLI"
cmake --build build-fuzz -j"$(nproc)" --target tessera_unit_tests tessera_cli

phase "unit tests under ASan + UBSan + LSan"
(cd build-fuzz/tests && ./tessera_unit_tests --gtest_brief=1 --gtest_filter="${UNIT_FILTER:-*}") ||
  fail "unit tests under ASan + UBSan + LSan"

phase "conformance under ASan + UBSan: every ${every}th case"
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
  xargs -a "$work/cases.txt" -d '\n' build-fuzz/tessera test --jobs "$(nproc)" --expected-failures "$work/expected.txt" \
    >"$work/conformance.txt" || { grep -v "^XFAIL " "$work/conformance.txt"; fail "conformance sample"; }
  tail -3 "$work/conformance.txt"
else
  echo "no conformance cases at $backend_tests: skipped"
fi

phase "fuzz targets, ${fuzz_seconds} s each"
tests/fuzz/make_seeds.sh "$work/seeds" "$backend_tests" 4
# Findings stay in build-fuzz/stage-fuzz/<target>/ for reproduction (tests/fuzz/run_long.sh).
rm -rf build-fuzz/stage-fuzz
tests/fuzz/run_long.sh -t "$fuzz_seconds" -b build-fuzz -o build-fuzz/stage-fuzz -s "$work/seeds" ||
  { tail -40 build-fuzz/stage-fuzz/*/log.txt; fail "fuzz targets"; }

phase "TSan build (build-tsan, tessera_tsan_tests only)"
cmake --preset tsan -DTESSERA_WERROR="${TESSERA_WERROR:-OFF}" >/dev/null
cmake --build build-tsan -j"$(nproc)" --target tessera_tsan_tests

phase "thread pool, profiler and session concurrency tests under TSan"
(cd build-tsan/tests && ./tessera_tsan_tests --gtest_brief=1) || fail "concurrency tests under TSan"
if [ ${#failed[@]} -gt 0 ]; then
  phase "sanitizer stage FAILED: $(IFS=,; echo "${failed[*]}")"
  exit 1
fi
phase "sanitizer stage passed"
