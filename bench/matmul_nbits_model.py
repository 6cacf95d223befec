#!/usr/bin/python3
"""Writes a one-node com.microsoft MatMulNBits model (random int4 weights, packed zero points) for
timing against ONNX Runtime: bench/compare_ort.sh OUT.onnx --dim rows=M.

Usage: matmul_nbits_model.py OUT.onnx [--k 4096] [--n 4096] [--block 32] [--bits 4]
A is [rows, K] with a symbolic `rows`; every int4 LLM layer has this shape.
"""
import argparse

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--k", type=int, default=4096)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--bits", type=int, default=4)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    blocks = (a.k + a.block - 1) // a.block
    b = rng.integers(0, 256, size=(a.n, blocks, a.block * a.bits // 8), dtype=np.uint8)
    scales = (rng.random(a.n * blocks) * 0.01).astype(np.float32)
    zp = rng.integers(0, 256, size=(a.n * ((blocks * a.bits + 7) // 8),), dtype=np.uint8)
    node = helper.make_node("MatMulNBits", ["A", "B", "scales", "zero_points"], ["Y"], domain="com.microsoft",
                            K=a.k, N=a.n, bits=a.bits, block_size=a.block)
    graph = helper.make_graph([node], "matmul_nbits",
                              [helper.make_tensor_value_info("A", TensorProto.FLOAT, ["rows", a.k])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["rows", a.n])],
                              [numpy_helper.from_array(b, "B"), numpy_helper.from_array(scales, "scales"),
                               numpy_helper.from_array(zp, "zero_points")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    save(model, a.out)


if __name__ == "__main__":
    main()
