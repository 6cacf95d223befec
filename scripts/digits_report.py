#!/usr/bin/python3
"""Prints the digits demo: each sample as 8x8 ASCII art with Tessera's prediction and the label.

Usage: digits_report.py SAMPLES_DIR OUTPUT_DIR   (SAMPLES_DIR: input_0.pb + labels.json;
OUTPUT_DIR: output_0.pb written by `tessera run ... --output-dir`). Exit 1 on a misprediction.
Standard library only (no numpy), so the quickstart needs nothing beyond python3.
"""
import json
import os
import struct
import sys

SHADES = " .:-=+*#%@"


def varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def read_float_tensor(path):
    """(dims, flat list of floats) of a float32 TensorProto (raw_data or float_data)."""
    with open(path, "rb") as f:
        buf = f.read()
    dims, values, dtype, pos = [], [], 1, 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, pos = varint(buf, pos)
            if field == 1:
                dims.append(v)
            elif field == 2:
                dtype = v
        elif wire == 5:
            if field == 4:
                values.append(struct.unpack_from("<f", buf, pos)[0])
            pos += 4
        elif wire == 1:
            pos += 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            chunk = buf[pos:pos + n]
            pos += n
            if field in (9, 4):  # raw_data, packed float_data
                values.extend(struct.unpack(f"<{n // 4}f", chunk))
            elif field == 1:
                p = 0
                while p < n:
                    v, p = varint(chunk, p)
                    dims.append(v)
        else:
            raise ValueError(f"{path}: unsupported protobuf wire type {wire}")
    if dtype != 1:
        raise ValueError(f"{path}: expected a float32 tensor, got data_type {dtype}")
    return dims, values


def main():
    samples, outputs = sys.argv[1], sys.argv[2]
    idims, pixels = read_float_tensor(os.path.join(samples, "input_0.pb"))
    odims, probs = read_float_tensor(os.path.join(outputs, "output_0.pb"))
    with open(os.path.join(samples, "labels.json")) as f:
        labels = json.load(f)["labels"]
    n = len(labels)
    if odims != [n, 10] or idims != [n, 1, 8, 8]:
        sys.exit(f"expected input [{n},1,8,8] and probabilities [{n},10], got {idims} and {odims}")
    rows = [probs[i * 10:(i + 1) * 10] for i in range(n)]
    preds = [max(range(10), key=r.__getitem__) for r in rows]
    cell = 10  # characters per sample column
    for y in range(8):
        line = ""
        for i in range(n):
            px = pixels[i * 64 + y * 8:i * 64 + y * 8 + 8]
            line += "".join(SHADES[max(0, min(9, int(v * 9.999)))] for v in px) + "  "
        print("  " + line.rstrip())
    print("  " + "".join(f"{'pred ' + str(p):<{cell}}" for p in preds).rstrip())
    print("  " + "".join(f"{'label ' + str(y):<{cell}}" for y in labels).rstrip())
    print("  " + "".join(f"{f'{rows[i][p] * 100:.0f}%':<{cell}}" for i, p in enumerate(preds)).rstrip())
    correct = sum(p == y for p, y in zip(preds, labels))
    print(f"\n{correct}/{n} correct" + ("" if correct == n else "  (MISPREDICTIONS: the model gets all 10 right in PyTorch)"))
    return 0 if correct == n else 1


if __name__ == "__main__":
    sys.exit(main())
