'use strict';
// Minimal ONNX TensorProto decoder/encoder (no protobuf package needed).
// Fields: dims=1, data_type=2, float_data=4, int32_data=5, int64_data=7, name=8,
// raw_data=9, double_data=10, uint64_data=11. Everything is little-endian.

// ONNX data_type code -> onnxruntime-node tensor type and typed-array constructor.
const TYPES = {
  1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array],
  4: ['uint16', Uint16Array], 5: ['int16', Int16Array], 6: ['int32', Int32Array],
  7: ['int64', BigInt64Array], 9: ['bool', Uint8Array], 10: ['float16', Uint16Array],
  11: ['float64', Float64Array], 12: ['uint32', Uint32Array], 13: ['uint64', BigUint64Array],
};
const CODE_OF = {};
for (const [code, [name]] of Object.entries(TYPES)) CODE_OF[name] = Number(code);

function readVarint(buf, pos) {
  let result = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
}

const toSigned = (v) => BigInt.asIntN(64, v);

// Returns {name, type (ORT type string), dims (number[]), data (typed array)}.
function decodeTensor(buf) {
  const dims = [];
  let name = '', code = 1, raw = null;
  const floats = [], doubles = [], ints = [];  // ints: int32/int64/uint64 data (BigInt)
  let pos = 0;
  const unpackVarints = (chunk, out) => {
    let p = 0;
    while (p < chunk.length) { const [v, q] = readVarint(chunk, p); out.push(v); p = q; }
  };
  while (pos < buf.length) {
    let key; [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) {
      let v; [v, pos] = readVarint(buf, pos);
      if (field === 1) dims.push(Number(toSigned(v)));
      else if (field === 2) code = Number(v);
      else if (field === 5 || field === 7 || field === 11) ints.push(v);
    } else if (wire === 1) {
      if (field === 10) doubles.push(buf.readDoubleLE(pos));
      pos += 8;
    } else if (wire === 5) {
      if (field === 4) floats.push(buf.readFloatLE(pos));
      pos += 4;
    } else if (wire === 2) {
      let n; [n, pos] = readVarint(buf, pos);
      n = Number(n);
      const chunk = buf.subarray(pos, pos + n);
      pos += n;
      if (field === 8) name = chunk.toString('utf8');
      else if (field === 9) raw = chunk;
      else if (field === 1) { const d = []; unpackVarints(chunk, d); for (const v of d) dims.push(Number(toSigned(v))); }
      else if (field === 4) for (let i = 0; i + 4 <= chunk.length; i += 4) floats.push(chunk.readFloatLE(i));
      else if (field === 10) for (let i = 0; i + 8 <= chunk.length; i += 8) doubles.push(chunk.readDoubleLE(i));
      else if (field === 5 || field === 7 || field === 11) unpackVarints(chunk, ints);
    } else {
      throw new Error(`unsupported protobuf wire type ${wire} in TensorProto`);
    }
  }
  if (!(code in TYPES)) throw new Error(`unsupported TensorProto data_type ${code}`);
  const [type, Ctor] = TYPES[code];
  const count = dims.reduce((a, b) => a * b, 1);
  let data;
  if (raw !== null) {
    // Copy: raw_data may be unaligned inside the file buffer.
    const bytes = new Uint8Array(raw.length);
    bytes.set(raw);
    data = new Ctor(bytes.buffer, 0, raw.length / Ctor.BYTES_PER_ELEMENT);
  } else if (code === 1) data = Float32Array.from(floats);
  else if (code === 11) data = Float64Array.from(doubles);
  else if (code === 7) data = BigInt64Array.from(ints.map(toSigned));
  else if (code === 13) data = BigUint64Array.from(ints);
  else if (code === 12) data = Uint32Array.from(ints.map(Number));
  else data = Ctor.from(ints.map((v) => Number(BigInt.asIntN(32, v))));  // int32_data family
  if (data.length !== count) throw new Error(`TensorProto '${name}': ${data.length} elements for dims [${dims}]`);
  return { name, type, dims, data };
}

function encodeVarint(v) {
  let x = BigInt.asUintN(64, BigInt(v));
  const out = [];
  for (;;) {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) out.push(b | 0x80); else { out.push(b); return Buffer.from(out); }
  }
}

// type: ORT type string; data: typed array (bool tensors: Uint8Array or boolean array).
function encodeTensor({ name, type, dims, data }) {
  if (!(type in CODE_OF)) throw new Error(`cannot encode tensor type ${type}`);
  const parts = [];
  for (const d of dims) parts.push(encodeVarint(1 << 3), encodeVarint(d));
  parts.push(encodeVarint(2 << 3), encodeVarint(CODE_OF[type]));
  if (name) {
    const nb = Buffer.from(name, 'utf8');
    parts.push(encodeVarint((8 << 3) | 2), encodeVarint(nb.length), nb);
  }
  let raw;
  if (type === 'bool' && !(data instanceof Uint8Array)) raw = Buffer.from(Array.from(data, (b) => (b ? 1 : 0)));
  else raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  parts.push(encodeVarint((9 << 3) | 2), encodeVarint(raw.length), raw);
  return Buffer.concat(parts);
}

module.exports = { decodeTensor, encodeTensor, TYPES };
