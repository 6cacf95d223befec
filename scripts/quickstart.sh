#!/usr/bin/env bash
# On a fresh Debian 12 machine: installs the build dependencies, builds, and classifies the
# bundled handwritten-digit samples.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
scripts/demo.sh
