#!/usr/bin/env bash
# Builds, then runs every test: the differential tests against ONNX Runtime on real-size models
# exported from PyTorch, unit and CLI tests (ctest), and last the ONNX conformance suites, where
# exactly the cases in tests/conformance_expected_failures.txt may fail (optimizer on and off).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/install_test_deps.sh
# The differential tests first: they export the real-size models (build/differential-models)
# that some ctests also run (the oneDNN EP, ORT-optimized models, the Python package's checks).
tests/differential/run_differential.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure
# At the default level (all: every optimizer pass) and with the optimizer off: the same cases pass.
build/tessera test ../shared/onnx-backend-tests --expected-failures tests/conformance_expected_failures.txt
build/tessera test ../shared/onnx-backend-tests --expected-failures tests/conformance_expected_failures.txt --opt-level disabled
