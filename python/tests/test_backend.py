"""tessera.backend as an onnx.backend.base.Backend: prepare, run_model, run_node, and a few of
the conformance cases through the ONNX project's own runner."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto, helper

import tessera.backend
from conftest import REPO, make_model

BACKEND_TESTS = REPO.parent / "shared" / "onnx-backend-tests"


def test_supports_cpu_only():
    assert tessera.backend.supports_device("CPU") and not tessera.backend.supports_device("CUDA")


def test_prepare_and_run_model_by_position():
    model = make_model([helper.make_node("Sub", ["a", "b"], ["y"])],
                       [("a", TensorProto.FLOAT, [2]), ("b", TensorProto.FLOAT, [2])], [("y", TensorProto.FLOAT, [2])])
    rep = tessera.backend.prepare(model, "CPU")
    outputs = rep.run([np.array([5, 7], np.float32), np.array([1, 2], np.float32)])
    np.testing.assert_array_equal(outputs.y, [4, 5])
    (y,) = tessera.backend.run_model(model, {"a": np.ones(2, np.float32), "b": np.ones(2, np.float32)})
    np.testing.assert_array_equal(y, [0, 0])
    with pytest.raises(RuntimeError, match="not CUDA"):
        tessera.backend.prepare(model, "CUDA")


def test_run_node():
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=2.0)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((4, 3), np.float32)
    c = np.arange(4, dtype=np.float32)
    (y,) = tessera.backend.run_node(node, [a, b, c])
    np.testing.assert_allclose(y, 2 * a @ b.T + c)


@pytest.mark.skipif(not (BACKEND_TESTS / "node").is_dir(), reason="no conformance data next to this checkout")
def test_onnx_runner_passes_a_sample_of_node_cases():
    script = REPO / "python" / "tools" / "run_onnx_backend_tests.py"
    result = subprocess.run([sys.executable, str(script), "--data", str(BACKEND_TESTS), "--failures",
                             "--include", "^test_(relu|add|matmul_2d|softmax_axis_0|conv_with_strides_padding)_cpu$"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "5 passed, 0 failed, 0 skipped", result.stdout
