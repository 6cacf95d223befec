#!/usr/bin/env node
'use strict';
// Saves the graph ONNX Runtime (onnxruntime-node) runs after its own optimizer: OUT is the model
// as ORT rewrote it, with the com.microsoft ops it fuses (FusedConv, FusedGemm, FusedMatMul,
// BiasGelu, ...). Usage: node ort_optimize.js MODEL OUT [--level basic|extended|all]
const { loadOrt } = require('../differential/ort_loader');

async function main() {
  const args = process.argv.slice(2);
  const level = args.includes('--level') ? args[args.indexOf('--level') + 1] : 'extended';
  const [model, out] = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--level');
  if (!model || !out) throw new Error('usage: ort_optimize.js MODEL OUT [--level LEVEL]');
  const ort = loadOrt();
  await ort.InferenceSession.create(model, {
    graphOptimizationLevel: level, optimizedModelFilePath: out, intraOpNumThreads: 1,
  });
}

main().catch((e) => {
  process.stderr.write(`ort_optimize: ${e && e.message ? e.message : String(e)}\n`);
  process.exit(1);
});
