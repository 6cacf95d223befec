#!/usr/bin/python3
"""Prints the digits demo: each sample as 8x8 ASCII art with Tessera's prediction and the label.

Usage: digits_report.py SAMPLES_DIR OUTPUT_DIR   (SAMPLES_DIR: input_0.pb + labels.json;
OUTPUT_DIR: output_0.pb written by `tessera run ... --output-dir`). Exit 1 on a misprediction.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tensorproto  # noqa: E402

SHADES = " .:-=+*#%@"


def main():
    samples, outputs = sys.argv[1], sys.argv[2]
    _, images = tensorproto.read_tensor(os.path.join(samples, "input_0.pb"))
    _, probs = tensorproto.read_tensor(os.path.join(outputs, "output_0.pb"))
    with open(os.path.join(samples, "labels.json")) as f:
        labels = json.load(f)["labels"]
    if probs.shape != (len(labels), 10):
        sys.exit(f"expected probabilities of shape [{len(labels)}, 10], got {list(probs.shape)}")
    preds = probs.argmax(1)
    cell = 10  # characters per sample column
    for row in range(8):
        line = ""
        for img in images[:, 0]:
            line += "".join(SHADES[min(9, int(v * 9.999))] for v in img[row]) + "  "
        print("  " + line.rstrip())
    print("  " + "".join(f"{'pred ' + str(p):<{cell}}" for p in preds).rstrip())
    print("  " + "".join(f"{'label ' + str(y):<{cell}}" for y in labels).rstrip())
    print("  " + "".join(f"{f'{probs[i, p] * 100:.0f}%':<{cell}}" for i, p in enumerate(preds)).rstrip())
    correct = int((preds == np.array(labels)).sum())
    print(f"\n{correct}/{len(labels)} correct")
    return 0 if correct == len(labels) else 1


if __name__ == "__main__":
    sys.exit(main())
