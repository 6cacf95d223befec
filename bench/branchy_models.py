#!/usr/bin/python3
"""Writes two models with wide independent branches, for timing the parallel execution mode
(bench/inter_op_bench.sh; random weights, fixed seed):

  OUT_DIR/inception/model.onnx    3 Inception-v1-like blocks on [1, 64, 28, 28]: per block four
                                  branches (1x1; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 max pool -> 1x1),
                                  concatenated, each conv followed by Relu;
  OUT_DIR/wide_matmul/model.onnx  8 branches of 4 MatMul -> Tanh on [8, 256] x [256, 256]
                                  weights, summed: small kernels, where one op cannot use two cores.

Usage: branchy_models.py OUT_DIR
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save


def weight(rng, name, shape, initializers):
    fan_in = int(np.prod(shape[1:]))
    initializers.append(numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), name))
    return name


def conv_relu(rng, nodes, inits, x, out, cin, cout, k):
    w = weight(rng, out + "_w", [cout, cin, k, k], inits)
    b = weight(rng, out + "_b", [cout], inits)
    nodes.append(helper.make_node("Conv", [x, w, b], [out + "_c"], pads=[k // 2] * 4))
    nodes.append(helper.make_node("Relu", [out + "_c"], [out]))


def inception(rng):
    nodes, inits = [], []
    x, channels = "x", 64
    for block in range(3):
        p = f"b{block}_"
        conv_relu(rng, nodes, inits, x, p + "1x1", channels, 32, 1)
        conv_relu(rng, nodes, inits, x, p + "3x3_reduce", channels, 48, 1)
        conv_relu(rng, nodes, inits, p + "3x3_reduce", p + "3x3", 48, 64, 3)
        conv_relu(rng, nodes, inits, x, p + "5x5_reduce", channels, 16, 1)
        conv_relu(rng, nodes, inits, p + "5x5_reduce", p + "5x5", 16, 32, 5)
        nodes.append(helper.make_node("MaxPool", [x], [p + "pool"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        conv_relu(rng, nodes, inits, p + "pool", p + "pool_proj", channels, 32, 1)
        nodes.append(helper.make_node("Concat", [p + "1x1", p + "3x3", p + "5x5", p + "pool_proj"], [p + "out"], axis=1))
        x, channels = p + "out", 32 + 64 + 32 + 32
    nodes.append(helper.make_node("Identity", [x], ["y"]))
    return helper.make_graph(nodes, "inception", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 28, 28])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 28, 28])], inits)


def wide_matmul(rng):
    nodes, inits, ends = [], [], []
    for branch in range(8):
        h = "x"
        for layer in range(4):
            out = f"h{branch}_{layer}"
            nodes.append(helper.make_node("MatMul", [h, weight(rng, out + "_w", [256, 256], inits)], [out + "_m"]))
            nodes.append(helper.make_node("Tanh", [out + "_m"], [out]))
            h = out
        ends.append(h)
    nodes.append(helper.make_node("Sum", ends, ["y"]))
    return helper.make_graph(nodes, "wide_matmul", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 256])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 256])], inits)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rng = np.random.default_rng(0)
    for name, graph in (("inception", inception(rng)), ("wide_matmul", wide_matmul(rng))):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        os.makedirs(os.path.join(sys.argv[1], name), exist_ok=True)
        save(model, os.path.join(sys.argv[1], name, "model.onnx"))


if __name__ == "__main__":
    main()
