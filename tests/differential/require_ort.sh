# Sourced by the scripts that compare Tessera with ONNX Runtime: exits 77 (skipped) when node,
# onnxruntime-node (found by ort_loader.js) or numpy is missing. Expects PY (the Python to use).
command -v node >/dev/null || { echo "node not installed: skipped"; exit 77; }
node -e "require('$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ort_loader').loadOrt()" >/dev/null 2>&1 ||
  { echo "onnxruntime-node not found: skipped"; exit 77; }
"$PY" -c "import numpy" 2>/dev/null || { echo "numpy not installed: skipped"; exit 77; }
