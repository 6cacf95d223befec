"""Minimal ONNX TensorProto reader/writer (numpy only, no onnx package needed).

Handles the fields Tessera's test data uses: dims=1, data_type=2, float_data=4,
int32_data=5, int64_data=7, name=8, raw_data=9, double_data=10, uint64_data=11.
"""
import struct

import numpy as np

# ONNX TensorProto.DataType -> numpy dtype
DTYPES = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16,
    6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64,
    12: np.uint32, 13: np.uint64,
}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}


def _varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def read_tensor(path_or_bytes):
    """Returns (name, numpy array)."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        buf = bytes(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            buf = f.read()
    dims, name, dtype, raw = [], "", 1, None
    typed = {4: [], 5: [], 7: [], 10: [], 11: []}
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, pos = _varint(buf, pos)
            if field == 1:
                dims.append(_signed64(v))
            elif field == 2:
                dtype = v
            elif field in (5, 7, 11):
                typed[field].append(v)
        elif wire == 1:  # 64-bit
            if field == 10:
                typed[10].append(struct.unpack_from("<d", buf, pos)[0])
            pos += 8
        elif wire == 5:  # 32-bit
            if field == 4:
                typed[4].append(struct.unpack_from("<f", buf, pos)[0])
            pos += 4
        elif wire == 2:
            n, pos = _varint(buf, pos)
            chunk = buf[pos:pos + n]
            pos += n
            if field == 8:
                name = chunk.decode("utf-8")
            elif field == 9:
                raw = chunk
            elif field == 1:  # packed dims
                p = 0
                while p < len(chunk):
                    v, p = _varint(chunk, p)
                    dims.append(_signed64(v))
            elif field == 4:
                typed[4].extend(np.frombuffer(chunk, "<f4").tolist())
            elif field == 10:
                typed[10].extend(np.frombuffer(chunk, "<f8").tolist())
            elif field in (5, 7, 11):
                p = 0
                while p < len(chunk):
                    v, p = _varint(chunk, p)
                    typed[field].append(v)
        else:
            raise ValueError(f"unsupported wire type {wire} in TensorProto")
    if dtype not in DTYPES:
        raise ValueError(f"unsupported TensorProto data_type {dtype}")
    np_dtype = np.dtype(DTYPES[dtype])
    if raw is not None:
        arr = np.frombuffer(raw, np_dtype.newbyteorder("<")).astype(np_dtype)
    elif dtype == 1:
        arr = np.array(typed[4], np.float32)
    elif dtype == 11:
        arr = np.array(typed[10], np.float64)
    elif dtype == 7:
        arr = np.array([_signed64(v) for v in typed[7]], np.int64)
    elif dtype in (12, 13):
        arr = np.array(typed[11], np_dtype)
    elif dtype == 10:  # float16 bits stored in int32_data
        arr = np.array(typed[5], np.uint16).view(np.float16)
    else:  # int32, int16, int8, uint16, uint8, bool in int32_data
        arr = np.array([v - (1 << 64) if v >= 1 << 63 else v for v in typed[5]]).astype(np_dtype)
    return name, arr.reshape(dims)


def _enc_varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tensor_bytes(arr, name=""):
    arr = np.ascontiguousarray(arr)
    if arr.dtype not in CODES:
        raise ValueError(f"unsupported dtype {arr.dtype}")
    out = bytearray()
    for d in arr.shape:
        out += _enc_varint(1 << 3 | 0) + _enc_varint(int(d))
    out += _enc_varint(2 << 3 | 0) + _enc_varint(CODES[arr.dtype])
    if name:
        nb = name.encode("utf-8")
        out += _enc_varint(8 << 3 | 2) + _enc_varint(len(nb)) + nb
    raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    out += _enc_varint(9 << 3 | 2) + _enc_varint(len(raw)) + raw
    return bytes(out)


def write_tensor(path, arr, name=""):
    with open(path, "wb") as f:
        f.write(tensor_bytes(arr, name))
