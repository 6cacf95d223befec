"""Failures raise tessera.TesseraError subclasses (ONNX Runtime's names) carrying the C++ message."""

import numpy as np
import pytest
from onnx import TensorProto, helper

import tessera
from conftest import make_model


def test_hierarchy():
    for error in (tessera.InvalidArgument, tessera.InvalidGraph, tessera.NotImplemented, tessera.NoSuchFile,
                  tessera.RuntimeException, tessera.Fail):
        assert issubclass(error, tessera.TesseraError) and issubclass(error, RuntimeError)
    assert issubclass(tessera.InvalidArgument, ValueError)
    assert issubclass(tessera.Cancelled, tessera.Fail) and issubclass(tessera.DeadlineExceeded, tessera.Fail)


def test_missing_file(tmp_path):
    with pytest.raises(tessera.NoSuchFile, match=f"model '{tmp_path}/none.onnx': cannot open"):
        tessera.InferenceSession(str(tmp_path / "none.onnx"))


def test_not_a_model():
    with pytest.raises(tessera.InvalidGraph, match="not a valid ONNX model"):
        tessera.InferenceSession(b"this is not protobuf")


def test_unsupported_op_is_not_implemented():
    model = make_model([helper.make_node("NoSuchOp", ["x"], ["y"], domain="org.unknown")],
                       [("x", TensorProto.FLOAT, [1])], [("y", TensorProto.FLOAT, [1])])
    model.opset_import.append(helper.make_opsetid("org.unknown", 1))
    with pytest.raises(tessera.TesseraError, match="NoSuchOp"):
        tessera.InferenceSession(model.SerializeToString())


def test_bad_feeds_name_the_input(digits_model):
    session = tessera.InferenceSession(digits_model)
    with pytest.raises(tessera.InvalidArgument, match="image.*float"):
        session.run(None, {"image": np.zeros((1, 1, 8, 8), np.int64)})
    with pytest.raises(tessera.InvalidArgument, match="image"):
        session.run(None, {"image": np.zeros((1, 1, 7, 8), np.float32)})
    with pytest.raises(tessera.InvalidArgument, match="'pixels' is not an input of the model \\(inputs: 'image'\\)"):
        session.run(None, {"pixels": np.zeros((1, 1, 8, 8), np.float32)})
    with pytest.raises(tessera.InvalidArgument, match="image"):
        session.run(None, {})
    with pytest.raises(tessera.InvalidArgument, match="nope"):
        session.run(["nope"], {"image": np.zeros((1, 1, 8, 8), np.float32)})
