"""Makes the small models and feeds that tests/cli/bad_inputs.sh runs the CLI on.
Run with Debian's python3-onnx: /usr/bin/python3 make_models.py (outputs are committed)."""
import os
import random

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))


def save(model, name):
    onnx.save(model, os.path.join(here, name))


def add_model(nodes, inputs=("a", "b")):
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


valid = add_model([helper.make_node("Add", ["a", "b"], ["y"], name="add")])
save(valid, "add.onnx")
save(add_model([helper.make_node("Add", ["a", "missing"], ["y"], name="add")]), "missing_input.onnx")
save(add_model([helper.make_node("FrobnicateTensor", ["a", "b"], ["y"], name="frob")]), "unknown_op.onnx")

# A shape that no machine can hold: 4e15 floats.
huge = helper.make_graph(
    [helper.make_node("ConstantOfShape", ["shape"], ["y"], name="fill")], "g", [],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    [numpy_helper.from_array(np.array([1000000, 1000000, 1000], np.int64), "shape")])
save(helper.make_model(huge, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "absurd_size.onnx")

# A Loop that would run for ages (2^62 trips of y += 1), for `tessera run --timeout-ms`.
body = helper.make_graph(
    [helper.make_node("Add", ["y_in", "one"], ["y_out"], name="step"),
     helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going")], "body",
    [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("y_in", TensorProto.FLOAT, [2])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("y_out", TensorProto.FLOAT, [2])])
long_loop = helper.make_graph(
    [helper.make_node("Loop", ["trips", "cond", "y0"], ["y"], name="forever", body=body)], "g", [],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    [numpy_helper.from_array(np.array(2**62, np.int64), "trips"),
     numpy_helper.from_array(np.array(True), "cond"),
     numpy_helper.from_array(np.zeros(2, np.float32), "y0"),
     numpy_helper.from_array(np.ones(2, np.float32), "one")])
save(helper.make_model(long_loop, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "long_loop.onnx")

data = valid.SerializeToString()
with open(os.path.join(here, "truncated.onnx"), "wb") as f:
    f.write(data[: len(data) // 2])
rng = random.Random(7)
with open(os.path.join(here, "random.onnx"), "wb") as f:
    f.write(bytes(rng.randrange(256) for _ in range(512)))

os.makedirs(os.path.join(here, "good_feed"), exist_ok=True)
os.makedirs(os.path.join(here, "wrong_dtype"), exist_ok=True)
os.makedirs(os.path.join(here, "wrong_shape"), exist_ok=True)
ones = np.ones((2, 3), np.float32)
for folder, a in (("good_feed", ones), ("wrong_dtype", ones.astype(np.float64)), ("wrong_shape", np.ones((3, 2), np.float32))):
    for k, name in enumerate(("a", "b")):
        value = a if name == "a" else ones
        with open(os.path.join(here, folder, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(value, name).SerializeToString())
