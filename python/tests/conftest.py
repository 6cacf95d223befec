"""Shared fixtures: the repository's bundled digits model and small graphs made with onnx.helper."""

import os
import pathlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = pathlib.Path(__file__).resolve().parents[2]
DIGITS = REPO / "models" / "digits"


def read_tensor(path):
    tensor = TensorProto()
    tensor.ParseFromString(pathlib.Path(path).read_bytes())
    return numpy_helper.to_array(tensor)


def make_model(nodes, inputs, outputs, initializers=(), opset=17, ml_opset=None, **model_fields):
    """A ModelProto from nodes and (name, elem_type, shape) inputs/outputs."""
    def info(entry):
        if isinstance(entry, onnx.ValueInfoProto):
            return entry
        name, elem_type, shape = entry
        return helper.make_tensor_value_info(name, elem_type, shape)

    graph = helper.make_graph(nodes, "test_graph", [info(i) for i in inputs], [info(o) for o in outputs],
                              initializer=list(initializers))
    opsets = [helper.make_opsetid("", opset)]
    if ml_opset:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ml_opset))
    model = helper.make_model(graph, opset_imports=opsets, **model_fields)
    model.ir_version = 8
    return model


@pytest.fixture
def digits_model():
    return str(DIGITS / "model.onnx")


@pytest.fixture
def digits_data():
    """The bundled test input and PyTorch's output for it."""
    data = DIGITS / "test_data_set_0"
    return read_tensor(data / "input_0.pb"), read_tensor(data / "output_0.pb")


@pytest.fixture
def cli():
    """The tessera CLI of this build (the ctest passes it), else build/tessera."""
    path = os.environ.get("TESSERA_CLI", str(REPO / "build" / "tessera"))
    if not os.path.exists(path):
        pytest.skip(f"no CLI at {path}")
    return path


def identity_model(elem_type, shape=("n",)):
    return make_model([helper.make_node("Identity", ["x"], ["y"])], [("x", elem_type, list(shape))],
                      [("y", elem_type, list(shape))])


def matmul_chain_model(size=256, depth=24, seed=0):
    """y = x @ W1 @ W2 ... (float32): enough work for a run to last a while, for the tests of
    threads, termination and timeouts."""
    rng = np.random.default_rng(seed)
    inits, nodes, prev = [], [], "x"
    for i in range(depth):
        w = (rng.standard_normal((size, size)) / np.sqrt(size)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        out = "y" if i == depth - 1 else f"h{i}"
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [out]))
        prev = out
    model = make_model(nodes, [("x", TensorProto.FLOAT, ["n", size])], [("y", TensorProto.FLOAT, ["n", size])], inits)
    weights = [numpy_helper.to_array(t) for t in inits]
    return model, weights
