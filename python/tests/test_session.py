"""InferenceSession's introspection, options and providers on the bundled digits model."""

import json
import pathlib
import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import tessera
from conftest import make_model


def test_inputs_and_outputs_as_declared(digits_model):
    session = tessera.InferenceSession(digits_model)
    (image,) = session.get_inputs()
    (probabilities,) = session.get_outputs()
    assert (image.name, image.type, image.shape) == ("image", "tensor(float)", ["batch", 1, 8, 8])
    assert (probabilities.name, probabilities.type, probabilities.shape) == ("probabilities", "tensor(float)",
                                                                             ["batch", 10])
    assert repr(image) == "NodeArg(name='image', type='tensor(float)', shape=['batch', 1, 8, 8])"


def test_unknown_dims_are_none_and_types_have_ort_names(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.DOUBLE, None)
    x.type.tensor_type.shape.dim.add()  # one dim, neither fixed nor named
    seq = helper.make_tensor_sequence_value_info("s", TensorProto.INT64, None)
    model = make_model([helper.make_node("Identity", ["x"], ["y"]),
                        helper.make_node("SequenceConstruct", ["i"], ["s"])],
                       [x, ("i", TensorProto.INT64, [2])], [("y", TensorProto.DOUBLE, [None]), seq])
    session = tessera.InferenceSession(model.SerializeToString())
    assert [(a.name, a.type, a.shape) for a in session.get_inputs()] == [("x", "tensor(double)", [None]),
                                                                          ("i", "tensor(int64)", [2])]
    assert [a.type for a in session.get_outputs()] == ["tensor(double)", "seq(tensor(int64))"]


def test_model_metadata():
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", TensorProto.FLOAT, [2])],
                       [("y", TensorProto.FLOAT, [2])], producer_name="meta-test", producer_version="2.0",
                       domain="org.example", model_version=3, doc_string="relu")
    helper.set_model_props(model, {"author": "tessera", "license": "MIT"})
    meta = tessera.InferenceSession(model.SerializeToString()).get_modelmeta()
    assert (meta.producer_name, meta.producer_version, meta.graph_name, meta.domain, meta.description,
            meta.version) == ("meta-test", "2.0", "test_graph", "org.example", "relu", 3)
    assert meta.custom_metadata_map == {"author": "tessera", "license": "MIT"}


def test_providers_and_device(digits_model):
    assert tessera.get_available_providers() == ["CPUExecutionProvider"]
    assert tessera.get_device() == "CPU"
    assert "CUDAExecutionProvider" in tessera.get_all_providers()
    session = tessera.InferenceSession(digits_model, providers=[("CPUExecutionProvider", {})])
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert session.get_provider_options() == {"CPUExecutionProvider": {}}


def test_unavailable_provider_falls_back_with_a_warning(digits_model):
    with pytest.warns(UserWarning, match="CUDAExecutionProvider"):
        session = tessera.InferenceSession(digits_model, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert session.get_providers() == ["CPUExecutionProvider"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(tessera.InvalidArgument, match="none of the providers"):
            tessera.InferenceSession(digits_model, providers=["CUDAExecutionProvider"])


def test_unknown_provider_is_an_error(digits_model):
    with pytest.raises(ValueError, match="unknown execution provider 'GPUProvider'"):
        tessera.InferenceSession(digits_model, providers=["GPUProvider"])


def test_every_optimization_level_gives_the_reference(digits_model, digits_data):
    image, expected = digits_data
    for level in tessera.GraphOptimizationLevel:
        options = tessera.SessionOptions()
        options.graph_optimization_level = level
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = tessera.InferenceSession(digits_model, sess_options=options)
        assert session.get_session_options().graph_optimization_level == level
        (got,) = session.run(None, {"image": image})
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)


def test_free_dimension_override_fixes_the_batch_and_warm_up_keeps_the_outputs(digits_model, digits_data):
    image, expected = digits_data
    options = tessera.SessionOptions()
    assert options.warm_up is True  # the default
    options.add_free_dimension_override_by_name("batch", image.shape[0])
    session = tessera.InferenceSession(digits_model, sess_options=options)
    assert session.get_inputs()[0].shape == [image.shape[0], 1, 8, 8]
    (got,) = session.run(None, {"image": image})
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)
    with pytest.raises(tessera.InvalidArgument, match="dimension 0 differs"):
        session.run(None, {"image": np.zeros((image.shape[0] + 1, 1, 8, 8), np.float32)})
    options = tessera.SessionOptions()
    options.add_free_dimension_override_by_name("sequence", 1)
    with pytest.raises(tessera.InvalidArgument, match="names dim 'sequence', which no input of the model has"):
        tessera.InferenceSession(digits_model, sess_options=options)


def test_parallel_execution_mode_gives_the_sequential_outputs():
    # Four independent MatMul -> Relu branches, concatenated: ORT_PARALLEL on 2 and 0 (one per
    # core) inter-op threads gives the sequential run's outputs bit for bit.
    rng = np.random.default_rng(3)
    weights = [helper.make_tensor(f"w{i}", TensorProto.FLOAT, [16, 16], rng.standard_normal(256).astype(np.float32))
               for i in range(4)]
    nodes = []
    for i in range(4):
        nodes += [helper.make_node("MatMul", ["x", f"w{i}"], [f"h{i}"]), helper.make_node("Relu", [f"h{i}"], [f"r{i}"])]
    nodes.append(helper.make_node("Concat", [f"r{i}" for i in range(4)], ["y"], axis=1))
    model = make_model(nodes, [("x", TensorProto.FLOAT, [8, 16])], [("y", TensorProto.FLOAT, [8, 64])],
                       initializers=weights).SerializeToString()
    x = rng.standard_normal((8, 16)).astype(np.float32)
    (expected,) = tessera.InferenceSession(model).run(None, {"x": x})
    for threads in (2, 0):
        options = tessera.SessionOptions()
        options.execution_mode = tessera.ExecutionMode.ORT_PARALLEL
        options.inter_op_num_threads = threads
        session = tessera.InferenceSession(model, sess_options=options)
        assert session.get_session_options().execution_mode == tessera.ExecutionMode.ORT_PARALLEL
        for _ in range(5):
            (got,) = session.run(None, {"x": x})
            np.testing.assert_array_equal(got, expected)


def test_bad_option_values_are_errors(digits_model):
    options = tessera.SessionOptions()
    options.graph_optimization_level = 5
    with pytest.raises(tessera.InvalidArgument, match="graph_optimization_level 5"):
        tessera.InferenceSession(digits_model, sess_options=options)
    options = tessera.SessionOptions()
    options.execution_mode = 3
    with pytest.raises(tessera.InvalidArgument, match="execution_mode 3"):
        tessera.InferenceSession(digits_model, sess_options=options)
    options = tessera.SessionOptions()
    options.execution_mode = tessera.ExecutionMode.ORT_PARALLEL
    options.inter_op_num_threads = -2
    with pytest.raises(tessera.InvalidArgument, match="inter_op_threads must be >= 0, got -2"):
        tessera.InferenceSession(digits_model, sess_options=options)
    options = tessera.SessionOptions()
    options.log_severity_level = 7
    with pytest.raises(tessera.InvalidArgument, match="log severity level 7"):
        tessera.InferenceSession(digits_model, sess_options=options)
    with pytest.raises(AttributeError):
        options.no_such_option = 1


def test_optimized_model_is_saved_and_loads(tmp_path, digits_model, digits_data):
    options = tessera.SessionOptions()
    options.graph_optimization_level = tessera.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    tessera.InferenceSession(digits_model, sess_options=options)
    onnx.checker.check_model(onnx.load(options.optimized_model_filepath))
    image, expected = digits_data
    (got,) = tessera.InferenceSession(options.optimized_model_filepath).run(None, {"image": image})
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)


def test_profiling_writes_a_trace(tmp_path, digits_model, digits_data):
    options = tessera.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(tmp_path / "profile")
    session = tessera.InferenceSession(digits_model, sess_options=options)
    session.run(None, {"image": digits_data[0]})
    path = session.end_profiling()
    assert path.startswith(str(tmp_path / "profile_")) and path.endswith(".json")
    events = json.load(open(path))["traceEvents"]
    assert any(e.get("args", {}).get("op_type") == "Gemm" for e in events)
    assert tessera.InferenceSession(digits_model).end_profiling() == ""


def test_session_from_bytes_and_pathlike(tmp_path, digits_model, digits_data):
    image, expected = digits_data
    data = open(digits_model, "rb").read()
    for source in (data, bytearray(data), pathlib.Path(digits_model)):
        (got,) = tessera.InferenceSession(source).run(["probabilities"], {"image": image})
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)
    with pytest.raises(TypeError, match="Unable to load from type"):
        tessera.InferenceSession(42)


def test_log_severity_verbose_reports_phases(digits_model, capfd):
    options = tessera.SessionOptions()
    options.log_severity_level = 0
    tessera.InferenceSession(digits_model, sess_options=options)
    assert "[tessera verbose] " in capfd.readouterr().err
    options.log_severity_level = 3
    tessera.InferenceSession(digits_model, sess_options=options)
    assert capfd.readouterr().err == ""
