#!/usr/bin/env node
'use strict';
// Runs an ONNX model in onnxruntime-node on IN_DIR/input_K.pb and writes OUT_DIR/output_K.pb
// (graph-output order), the same contract as `tessera run MODEL --data DIR --output-dir OUT`.
// Usage: node ort_run.js MODEL IN_DIR OUT_DIR [--threads N] [--opt disabled|basic|extended|all]
// Inputs match graph inputs by TensorProto name, else by position.
// ORT_NODE_PATH overrides where onnxruntime-node is loaded from (see ort_loader.js).
const fs = require('fs');
const path = require('path');
const { decodeTensor, encodeTensor } = require('./tensorproto');
const { loadOrt } = require('./ort_loader');

function die(msg) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const pos = [];
  const opts = { threads: 2, opt: 'all' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--threads') opts.threads = Number(argv[++i]);
    else if (argv[i] === '--opt') opts.opt = argv[++i];
    else if (argv[i].startsWith('--')) die(`unknown option ${argv[i]}`);
    else pos.push(argv[i]);
  }
  if (pos.length !== 3) die('usage: ort_run.js MODEL IN_DIR OUT_DIR [--threads N] [--opt LEVEL]');
  return { model: pos[0], inDir: pos[1], outDir: pos[2], ...opts };
}

// Reads DIR/input_0.pb, input_1.pb, ... and maps them to the session's input names.
function loadFeeds(session, dir, ort) {
  const files = fs.readdirSync(dir).filter((f) => /^input_\d+\.pb$/.test(f))
    .sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]));
  if (files.length === 0) die(`no input_K.pb files in ${dir}`);
  const feeds = {};
  files.forEach((f, i) => {
    const t = decodeTensor(fs.readFileSync(path.join(dir, f)));
    const name = session.inputNames.includes(t.name) ? t.name : session.inputNames[i];
    if (name === undefined) die(`${f}: model has only ${session.inputNames.length} inputs`);
    const data = t.type === 'bool' ? Array.from(t.data, (b) => b !== 0) : t.data;
    feeds[name] = new ort.Tensor(t.type, data, t.dims);
  });
  return feeds;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(args.model, {
    intraOpNumThreads: args.threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: args.opt,
  });
  const feeds = loadFeeds(session, args.inDir, ort);
  const t0 = process.hrtime.bigint();
  const results = await session.run(feeds);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.mkdirSync(args.outDir, { recursive: true });
  session.outputNames.forEach((name, k) => {
    const v = results[name];
    fs.writeFileSync(path.join(args.outDir, `output_${k}.pb`),
      encodeTensor({ name, type: v.type, dims: v.dims, data: v.data }));
    console.log(`output_${k} ${name}: ${v.type} [${v.dims.join(',')}]`);
  });
  console.log(`ort run: ${ms.toFixed(2)} ms (${args.threads} threads, first run)`);
}

main().catch((e) => die(e && e.message ? e.message : String(e)));
