#!/usr/bin/env bash
# Builds, then runs every test: unit and CLI tests through ctest, then the ONNX conformance
# suites, which must pass at least the count kept in tests/conformance_min_passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure
build/tessera test ../shared/onnx-backend-tests/* --min-passed "$(cat tests/conformance_min_passed)"
