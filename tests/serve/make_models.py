"""Writes the small models the serve test serves into a model repository (python3-onnx):
  ops/1:  FP32 a*2, INT32 b+1, BOOL not c, BYTES identity s, all with a free dim 0;
  slow/1: twenty 1024x1024 MatMuls on [N,1024], slow enough to fill a queue and to be in flight
          when SIGTERM comes;
  with --types, also types/1: an Identity per v2 datatype without a test elsewhere (FP16, FP64,
          INT8, INT16, INT64, UINT8, UINT16, UINT32, UINT64), inputs in_T, outputs out_T.
Usage: make_models.py REPOSITORY [--types]"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save


def write(repo, name, graph, config=None):
    os.makedirs(os.path.join(repo, name, "1"), exist_ok=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, os.path.join(repo, name, "1", "model.onnx"))
    if config:
        with open(os.path.join(repo, name, "config.json"), "w") as f:
            f.write(config)


def main(repo):
    two = numpy_helper.from_array(np.array(2, np.float32), "two")
    one = numpy_helper.from_array(np.array(1, np.int32), "one")
    ops = helper.make_graph(
        [helper.make_node("Mul", ["a", "two"], ["a2"]), helper.make_node("Add", ["b", "one"], ["b1"]),
         helper.make_node("Not", ["c"], ["not_c"]), helper.make_node("Identity", ["s"], ["s_out"])],
        "ops",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 4]),
         helper.make_tensor_value_info("b", TensorProto.INT32, ["n", 4]),
         helper.make_tensor_value_info("c", TensorProto.BOOL, ["n"]),
         helper.make_tensor_value_info("s", TensorProto.STRING, ["n"])],
        [helper.make_tensor_value_info("a2", TensorProto.FLOAT, ["n", 4]),
         helper.make_tensor_value_info("b1", TensorProto.INT32, ["n", 4]),
         helper.make_tensor_value_info("not_c", TensorProto.BOOL, ["n"]),
         helper.make_tensor_value_info("s_out", TensorProto.STRING, ["n"])],
        [two, one])
    write(repo, "ops", ops)

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array((rng.standard_normal((1024, 1024)) / 32).astype(np.float32), "w")
    nodes, prev = [], "x"
    for i in range(20):
        nodes.append(helper.make_node("MatMul", [prev, "w"], [f"m{i}"]))
        prev = f"m{i}"
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    slow = helper.make_graph(nodes, "slow", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1024])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 1024])], [w])
    write(repo, "slow", slow, '{"max_queue_size": 1, "instance_count": 1}')


# v2 datatype -> ONNX element type, for the types model.
TYPES = {"FP16": TensorProto.FLOAT16, "FP64": TensorProto.DOUBLE, "INT8": TensorProto.INT8,
         "INT16": TensorProto.INT16, "INT64": TensorProto.INT64, "UINT8": TensorProto.UINT8,
         "UINT16": TensorProto.UINT16, "UINT32": TensorProto.UINT32, "UINT64": TensorProto.UINT64}


def write_types(repo):
    nodes = [helper.make_node("Identity", [f"in_{t}"], [f"out_{t}"]) for t in TYPES]
    graph = helper.make_graph(nodes, "types",
                              [helper.make_tensor_value_info(f"in_{t}", e, ["n", 3]) for t, e in TYPES.items()],
                              [helper.make_tensor_value_info(f"out_{t}", e, ["n", 3]) for t, e in TYPES.items()])
    write(repo, "types", graph)


if __name__ == "__main__":
    main(sys.argv[1])
    if "--types" in sys.argv[2:]:
        write_types(sys.argv[1])
