#!/usr/bin/env bash
# Configures and builds everything into build/ (Release, ccache when installed).
# TESSERA_WERROR=ON in the environment turns warnings into errors (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTESSERA_WERROR="${TESSERA_WERROR:-OFF}" >/dev/null
cmake --build build -j"$(nproc)"
