'use strict';
// Finds onnxruntime-node: $ORT_NODE_PATH, then /work/ort (where this workplace installs it),
// then build/ort (scripts/install_test_deps.sh), then the normal module search path.
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const CANDIDATES = [
  process.env.ORT_NODE_PATH,
  '/work/ort/node_modules/onnxruntime-node',
  path.join(REPO, 'build', 'ort', 'node_modules', 'onnxruntime-node'),
  'onnxruntime-node',
].filter(Boolean);

function loadOrt() {
  const errors = [];
  for (const c of CANDIDATES) {
    try {
      return require(c);
    } catch (e) {
      errors.push(`${c}: ${String(e.message).split('\n')[0]}`);
    }
  }
  throw new Error(`onnxruntime-node not found (run scripts/install_test_deps.sh or set ORT_NODE_PATH):\n  ${errors.join('\n  ')}`);
}

module.exports = { loadOrt };
