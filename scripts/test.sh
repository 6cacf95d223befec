#!/usr/bin/env bash
# Builds, then runs every test: unit and CLI tests (ctest), the differential tests against ONNX
# Runtime on real-size models exported from PyTorch, and last the ONNX conformance suites, which
# must pass at least the count kept in tests/conformance_min_passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/install_test_deps.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure
tests/differential/run_differential.sh
build/tessera test ../shared/onnx-backend-tests --min-passed "$(cat tests/conformance_min_passed)"
