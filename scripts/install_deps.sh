#!/usr/bin/env bash
# Installs the Debian packages Tessera builds and tests with (needs root; uses sudo otherwise).
set -euo pipefail
packages=(build-essential cmake ccache libprotobuf-dev protobuf-compiler libgtest-dev libgmock-dev
          libcli11-dev nlohmann-json3-dev libre2-dev pkg-config zlib1g-dev  # zlib: the CLI reads .npz
          libjpeg62-turbo-dev libpng-dev libtiff-dev libwebp-dev libopenjp2-7-dev
          libdnnl-dev \
          python3-numpy python3-onnx python3-sklearn  # ctest's sklearn_zipmap test
          pybind11-dev python3-pytest  # the Python package and its tests
          libcpp-httplib-dev curl wrk python3-yaml  # tessera serve, its tests (yaml: deploy/'s manifests) and bench
          libgrpc++-dev protobuf-compiler-grpc python3-grpcio  # tessera serve --grpc-port, its Python test client
          clang libclang-rt-14-dev  # scripts/sanitize.sh: ASan/UBSan/TSan runtimes and libFuzzer
          llvm)  # llvm-symbolizer: sanitizer reports with file:line (clang does not pull it in)
if dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  exit 0
fi
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
