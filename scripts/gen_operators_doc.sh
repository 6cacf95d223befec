#!/usr/bin/env bash
# Regenerates docs/operators.md from the kernel registry (`tessera ops --markdown`); the ctest
# operators_doc_up_to_date fails until this is run after kernels are added or changed.
# Usage: scripts/gen_operators_doc.sh [path/to/tessera (default build/tessera)]
set -euo pipefail
cd "$(dirname "$0")/.."
"${1:-build/tessera}" ops --markdown >docs/operators.md
echo "wrote docs/operators.md"
