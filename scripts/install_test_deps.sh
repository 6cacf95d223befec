#!/usr/bin/env bash
# Installs what the demo, the differential tests, the sklearn ZipMap test (tests/sklearn/) and
# the benchmarks need, when missing:
# Debian's python3 torch/torchvision/onnx/numpy/sklearn, node + npm, and onnxruntime-node
# (npm, --ignore-scripts: the package already carries libonnxruntime.so) into build/ort.
# Usage: scripts/install_test_deps.sh [--no-ort]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_VERSION=1.30.0

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

apt_install() {
  # apt may be held by another installer for a while: retry.
  for i in 1 2 3 4 5 6; do
    if DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "$@" >/dev/null; then return 0; fi
    echo "install_test_deps: apt-get busy or failed, retry $i" >&2; sleep 10
  done
  return 1
}

missing=()
/usr/bin/python3 -c "import torch, torchvision" 2>/dev/null || missing+=(python3-torch python3-torchvision)
/usr/bin/python3 -c "import onnx" 2>/dev/null || missing+=(python3-onnx)
/usr/bin/python3 -c "import numpy" 2>/dev/null || missing+=(python3-numpy)
/usr/bin/python3 -c "import sklearn" 2>/dev/null || missing+=(python3-sklearn)
# Without an optimized BLAS, torch (the benchmarks' reference) falls back to the reference BLAS,
# tens of times slower: checked on its own, since python3-sklearn may already be there without it.
dpkg -s libopenblas0-openmp >/dev/null 2>&1 || missing+=(libopenblas0-openmp)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get update -q >/dev/null || true
  apt_install "${missing[@]}"
fi

[ "${1:-}" = "--no-ort" ] && exit 0
if node -e "require('$REPO/tests/differential/ort_loader').loadOrt()" 2>/dev/null; then
  exit 0
fi
mkdir -p "$REPO/build/ort"
npm install --prefix "$REPO/build/ort" --ignore-scripts --no-audit --no-fund "onnxruntime-node@$ORT_VERSION"
node -e "require('$REPO/tests/differential/ort_loader').loadOrt(); console.log('onnxruntime-node ok')"
