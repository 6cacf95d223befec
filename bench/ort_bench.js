#!/usr/bin/env node
'use strict';
// Times a model in onnxruntime-node the way `tessera bench` times it in Tessera: random inputs
// (floats in [0,1), ints in [0,99], symbolic dims 1 unless --dim NAME=VALUE), warmup runs,
// then timed runs; prints load and latency percentiles in tessera bench's key: value format.
// Usage: node ort_bench.js MODEL [--threads 2] [--runs 20] [--warmup 3] [--dim NAME=VALUE]...
//        [--data DIR]   (feed DIR/input_K.pb instead of random inputs)
//        [--profile PREFIX]  (ORT's own per-node profile, written to PREFIX_<date>.json)
//        [--inter-op-threads N]  (other than 1: ORT's parallel execution mode on N threads)
const fs = require('fs');
const path = require('path');
const { loadOrt } = require(path.join(__dirname, '..', 'tests', 'differential', 'ort_loader'));

function die(msg) {
  process.stderr.write(`ort_bench: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = { threads: 2, runs: 20, warmup: 3, dims: {}, data: null, model: null, profile: null, interOp: 1 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === '--threads') a.threads = Number(argv[++i]);
    else if (v === '--runs') a.runs = Number(argv[++i]);
    else if (v === '--warmup') a.warmup = Number(argv[++i]);
    else if (v === '--data') a.data = argv[++i];
    else if (v === '--profile') a.profile = argv[++i];
    else if (v === '--inter-op-threads') a.interOp = Number(argv[++i]);
    else if (v === '--dim') {
      const [k, n] = (argv[++i] || '').split('=');
      if (!k || !(Number(n) > 0)) die(`--dim expects NAME=VALUE, got '${argv[i]}'`);
      a.dims[k] = Number(n);
    } else if (v.startsWith('--')) die(`unknown option ${v}`);
    else if (a.model === null) a.model = v;
    else die(`unexpected argument ${v}`);
  }
  if (!a.model) die('usage: ort_bench.js MODEL [--threads N] [--runs N] [--warmup N] [--dim NAME=VALUE]... [--data DIR] [--profile PREFIX] [--inter-op-threads N]');
  if (!(a.interOp >= 0)) die('--inter-op-threads must be 0 or more');
  if (!(a.runs >= 1)) die('--runs must be at least 1');
  return a;
}

// Deterministic generator (mulberry32) so repeated benchmarks feed the same values.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFeeds(session, dims, ort) {
  const next = rng(42);
  const feeds = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) die(`input '${meta.name}' is not a tensor`);
    const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : (dims[d] || 1)));
    const n = shape.reduce((x, y) => x * y, 1);
    let data;
    switch (meta.type) {
      case 'float32': data = Float32Array.from({ length: n }, next); break;
      case 'float64': data = Float64Array.from({ length: n }, next); break;
      case 'int64': data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(next() * 100))); break;
      case 'int32': data = Int32Array.from({ length: n }, () => Math.floor(next() * 100)); break;
      case 'uint8': data = Uint8Array.from({ length: n }, () => Math.floor(next() * 100)); break;
      case 'bool': data = Array.from({ length: n }, () => next() < 0.5); break;
      default: die(`input '${meta.name}': cannot make random ${meta.type} values`);
    }
    feeds[meta.name] = new ort.Tensor(meta.type, data, shape);
  }
  return feeds;
}

function fileFeeds(session, dir, ort) {
  const { decodeTensor } = require(path.join(__dirname, '..', 'tests', 'differential', 'tensorproto'));
  const files = fs.readdirSync(dir).filter((f) => /^input_\d+\.pb$/.test(f))
    .sort((x, y) => Number(x.match(/\d+/)[0]) - Number(y.match(/\d+/)[0]));
  if (!files.length) die(`no input_K.pb files in ${dir}`);
  const feeds = {};
  files.forEach((f, i) => {
    const t = decodeTensor(fs.readFileSync(path.join(dir, f)));
    const name = session.inputNames.includes(t.name) ? t.name : session.inputNames[i];
    feeds[name] = new ort.Tensor(t.type, t.type === 'bool' ? Array.from(t.data, (b) => b !== 0) : t.data, t.dims);
  });
  return feeds;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: a.threads, interOpNumThreads: a.interOp,
    executionMode: a.interOp === 1 ? 'sequential' : 'parallel', graphOptimizationLevel: 'all',
    ...(a.profile ? { enableProfiling: true, profileFilePrefix: a.profile } : {}),
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = a.data ? fileFeeds(session, a.data, ort) : randomFeeds(session, a.dims, ort);
  // The first run is timed apart (first_run_ms), as tessera bench does.
  let firstMs = 0;
  for (let i = 0; i < a.warmup; i++) {
    const s = process.hrtime.bigint();
    await session.run(feeds);
    if (i === 0) firstMs = Number(process.hrtime.bigint() - s) / 1e6;
  }
  const times = [];
  for (let i = 0; i < a.runs; i++) {
    const s = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  times.sort((x, y) => x - y);
  if (a.profile) await session.endProfiling();
  // Same percentile rule as tessera bench: element floor(p * n).
  const pct = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  const f = (x) => x.toFixed(3);
  console.log(`model: ${a.model}\nthreads: ${a.threads}\nload_ms: ${f(loadMs)}\nfirst_run_ms: ${f(firstMs)}\nruns: ${a.runs}` +
    `\nlatency_ms_p50: ${f(pct(0.5))}\nlatency_ms_p90: ${f(pct(0.9))}\nlatency_ms_p99: ${f(pct(0.99))}` +
    `\nlatency_ms_min: ${f(times[0])}\npeak_rss_mb: ${f(process.resourceUsage().maxRSS / 1024)}`);
}

main().catch((e) => die(e && e.message ? e.message : String(e)));
