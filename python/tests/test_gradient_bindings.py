"""tessera._tessera.build_gradient_graphs: forward and backward models from one ONNX model."""

import numpy as np
import pytest
from conftest import make_model
from onnx import TensorProto, helper, numpy_helper

import tessera
from tessera import _tessera


def relu_matmul_model():
    """y = Relu(x @ w) + b."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Add", ["r", "b"], ["y"])]
    return make_model(nodes, [("x", TensorProto.FLOAT, [4, 3]), ("w", TensorProto.FLOAT, [3, 5]), ("b", TensorProto.FLOAT, [5])],
                      [("y", TensorProto.FLOAT, [4, 5])])


def test_forward_and_backward_models_give_the_gradients():
    graphs = _tessera.build_gradient_graphs(relu_matmul_model().SerializeToString(), ["y"], ["w", "b", "x"])
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3, 5), (5,)))
    forward = tessera.InferenceSession(graphs["forward"])
    outputs = forward.run(None, {"x": x, "w": w, "b": b})
    h = x @ w
    np.testing.assert_allclose(outputs[0], np.maximum(h, 0) + b, rtol=1e-6)
    assert [o.name for o in forward.get_outputs()] == ["y"] + graphs["saved"]

    dy = rng.standard_normal((4, 5)).astype(np.float32)
    values = dict(zip(graphs["saved"], outputs[1:]), x=x, w=w, b=b)
    values[graphs["y_grads"][0]] = dy
    backward = tessera.InferenceSession(graphs["backward"])
    assert [i.name for i in backward.get_inputs()] == graphs["backward_inputs"]
    dw, db, dx = backward.run(graphs["x_grads"], {k: values[k] for k in graphs["backward_inputs"]})
    dh = dy * (h > 0)
    np.testing.assert_allclose(dw, x.T @ dh, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db, dy.sum(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, dh @ w.T, rtol=1e-5, atol=1e-6)


def test_missing_builder_names_the_op_and_node():
    model = make_model([helper.make_node("CumSum", ["x", "axis"], ["y"], name="running_total")],
                       [("x", TensorProto.FLOAT, [4]), ("axis", TensorProto.INT64, [])], [("y", TensorProto.FLOAT, [4])])
    with pytest.raises(tessera.NotImplemented, match="no gradient builder for op CumSum.*running_total"):
        _tessera.build_gradient_graphs(model.SerializeToString(), ["y"], ["x"])


def test_unknown_names_are_refused():
    data = relu_matmul_model().SerializeToString()
    with pytest.raises(tessera.InvalidArgument, match="x 'nope' is neither an input nor an initializer"):
        _tessera.build_gradient_graphs(data, ["y"], ["nope"])
    with pytest.raises(tessera.InvalidArgument, match="y 'nope' is not a value"):
        _tessera.build_gradient_graphs(data, ["nope"], ["w"])


def test_initializer_x_is_fed_and_not_folded_away():
    """An x held as an initializer becomes an input of both models (as a TrainingSession feeds its
    parameters), so the folding before the gradient cannot turn Relu(w) into a constant."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 5)).astype(np.float32)
    nodes = [helper.make_node("Relu", ["w"], ["rw"]), helper.make_node("MatMul", ["x", "rw"], ["y"])]
    model = make_model(nodes, [("x", TensorProto.FLOAT, [4, 3])], [("y", TensorProto.FLOAT, [4, 5])],
                       initializers=[numpy_helper.from_array(w, "w")])
    graphs = _tessera.build_gradient_graphs(model.SerializeToString(), ["y"], ["w"])
    forward = tessera.InferenceSession(graphs["forward"])
    assert sorted(i.name for i in forward.get_inputs()) == ["w", "x"]
    x = rng.standard_normal((4, 3)).astype(np.float32)
    outputs = forward.run(None, {"x": x, "w": w})
    np.testing.assert_allclose(outputs[0], x @ np.maximum(w, 0), rtol=1e-5, atol=1e-6)
    dy = rng.standard_normal((4, 5)).astype(np.float32)
    values = dict(zip(graphs["saved"], outputs[1:]), x=x, w=w)
    values[graphs["y_grads"][0]] = dy
    backward = tessera.InferenceSession(graphs["backward"])
    (dw,) = backward.run(graphs["x_grads"], {k: values[k] for k in graphs["backward_inputs"]})
    np.testing.assert_allclose(dw, (x.T @ dy) * (w > 0), rtol=1e-5, atol=1e-6)


def test_runner_takes_and_returns_lists_in_a_fixed_order():
    """_GradientRunner (TesseraModule's path): feeds by position, the saved step kept in C++."""
    graphs = _tessera.build_gradient_graphs(relu_matmul_model().SerializeToString(), ["y"], ["w", "b", "x"])
    runner = _tessera._GradientRunner(graphs["forward"], graphs["backward"], ["b", "x", "w"], ["y"], graphs["saved"],
                                      graphs["y_grads"], 1)
    rng = np.random.default_rng(2)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3, 5), (5,)))
    (y,), step = runner.forward([b, x, w])
    h = x @ w
    np.testing.assert_allclose(y, np.maximum(h, 0) + b, rtol=1e-6)
    dy = rng.standard_normal((4, 5)).astype(np.float32)
    dw, db, dx = runner.backward(step, [dy])  # graphs["x_grads"] order: the xs asked for
    dh = dy * (h > 0)
    np.testing.assert_allclose(dw, x.T @ dh, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db, dy.sum(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, dh @ w.T, rtol=1e-5, atol=1e-6)
    with pytest.raises(tessera.InvalidArgument, match="2 arrays for 3 feeds"):
        runner.forward([b, x])
    with pytest.raises(tessera.InvalidArgument, match="input 'x'"):
        runner.forward([b, np.zeros((4, 3), np.complex64), w])
    with pytest.raises(tessera.InvalidArgument, match="'nope' is not an input"):
        _tessera._GradientRunner(graphs["forward"], graphs["backward"], ["b", "x", "nope"], ["y"], graphs["saved"],
                                 graphs["y_grads"], 1)


def test_runner_kept_feeds_follow_their_arrays():
    """kept_feeds: a parameter's converted value is reused while the same array comes unchanged in
    layout; updates in place are seen, another array or a changed layout is converted again."""
    graphs = _tessera.build_gradient_graphs(relu_matmul_model().SerializeToString(), ["y"], ["w", "b", "x"])
    runner = _tessera._GradientRunner(graphs["forward"], graphs["backward"], ["b", "x", "w"], ["y"], graphs["saved"],
                                      graphs["y_grads"], 1, kept_feeds=[0, 2])
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3, 5), (5,)))

    def expect(w_now, b_now):
        (y,), _ = runner.forward([b, x, w])
        np.testing.assert_allclose(y, np.maximum(x @ w_now, 0) + b_now, rtol=1e-6)

    expect(w, b)
    w *= 2  # in place, as an optimizer step: the kept value reads the same memory
    b[...] = rng.standard_normal(5)
    expect(w, b)
    w = rng.standard_normal((3, 5)).astype(np.float32)  # another array object
    expect(w, b)
    w.shape = (5, 3)  # the same object, its layout changed in place: converted again, and refused
    with pytest.raises(tessera.InvalidArgument, match="input 'w'"):
        runner.forward([b, x, w])
    w.shape = (3, 5)
    expect(w, b)
    with pytest.raises(tessera.InvalidArgument, match="kept_feeds: 3 is not a feed index"):
        _tessera._GradientRunner(graphs["forward"], graphs["backward"], ["b", "x", "w"], ["y"], graphs["saved"],
                                 graphs["y_grads"], 1, kept_feeds=[3])


def test_runner_hands_outputs_over_as_dlpack_capsules():
    """tensor_from_dlpack: each numeric output becomes what that function makes of a DLPack
    capsule (a torch tensor for TesseraModule), over Tessera's buffer, alive after the runner."""
    torch = pytest.importorskip("torch")
    graphs = _tessera.build_gradient_graphs(relu_matmul_model().SerializeToString(), ["y"], ["w", "b", "x"])
    args = (graphs["forward"], graphs["backward"], ["b", "x", "w"], ["y"], graphs["saved"], graphs["y_grads"], 1)
    as_numpy = _tessera._GradientRunner(*args)
    as_torch = _tessera._GradientRunner(*args, tensor_from_dlpack=torch.utils.dlpack.from_dlpack)
    rng = np.random.default_rng(4)
    feeds = [rng.standard_normal(s).astype(np.float32) for s in ((5,), (4, 3), (3, 5))]
    dy = rng.standard_normal((4, 5)).astype(np.float32)
    (y_np,), step_np = as_numpy.forward(feeds)
    (y_t,), step_t = as_torch.forward(feeds)
    assert isinstance(y_t, torch.Tensor) and y_t.dtype == torch.float32 and tuple(y_t.shape) == (4, 5)
    np.testing.assert_array_equal(y_t.numpy(), y_np)
    grads_t = as_torch.backward(step_t, [dy])
    for g_t, g_np in zip(grads_t, as_numpy.backward(step_np, [dy])):
        assert isinstance(g_t, torch.Tensor)
        np.testing.assert_array_equal(g_t.numpy(), g_np)
    expected = [g.numpy().copy() for g in grads_t]
    del as_torch, step_t
    for g, e in zip(grads_t, expected):  # the tensors own their buffers
        np.testing.assert_array_equal(g.numpy(), e)
    # A capsule the function drops unconsumed: its destructor frees the tensor (no crash, no double free).
    dropping = _tessera._GradientRunner(*args, tensor_from_dlpack=lambda capsule: "dropped")
    (out,), _ = dropping.forward(feeds)
    assert out == "dropped"


def test_runner_reads_feeds_at_an_address():
    """An (owner, address) feed: the memory at the address, of the input's declared shape and type,
    kept alive by the owner (TesseraModule passes torch tensors and their data_ptr)."""
    graphs = _tessera.build_gradient_graphs(relu_matmul_model().SerializeToString(), ["y"], ["w", "b"])
    runner = _tessera._GradientRunner(graphs["forward"], graphs["backward"], ["b", "x", "w"], ["y"], graphs["saved"],
                                      graphs["y_grads"], 1)
    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3, 5), (5,)))
    dy = rng.standard_normal((4, 5)).astype(np.float32)
    (y,), step = runner.forward([b, (x, x.ctypes.data), w])
    h = x @ w
    np.testing.assert_allclose(y, np.maximum(h, 0) + b, rtol=1e-6)
    dw, db = runner.backward(step, [(dy, dy.ctypes.data)])
    np.testing.assert_allclose(dw, x.T @ (dy * (h > 0)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db, dy.sum(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(tessera.InvalidArgument, match="input 'x': an \\(owner, address\\) feed has a null address"):
        runner.forward([b, (x, 0), w])
    with pytest.raises(tessera.InvalidArgument, match="must be a pair"):
        runner.forward([b, (x,), w])
    # A dim the model leaves open: the address alone does not say the shape.
    open_model = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", TensorProto.FLOAT, ["n", 3])],
                            [("y", TensorProto.FLOAT, ["n", 3])])
    open_graphs = _tessera.build_gradient_graphs(open_model.SerializeToString(), ["y"], ["x"])
    open_runner = _tessera._GradientRunner(open_graphs["forward"], open_graphs["backward"], ["x"], ["y"],
                                           open_graphs["saved"], open_graphs["y_grads"], 1)
    with pytest.raises(tessera.InvalidArgument, match="needs a fixed shape"):
        open_runner.forward([(x, x.ctypes.data)])


def test_runner_backward_takes_only_its_own_steps():
    """The saved step is an opaque capsule: another runner's step, or any other object, is refused."""
    graphs = _tessera.build_gradient_graphs(relu_matmul_model().SerializeToString(), ["y"], ["w", "b"])
    args = (graphs["forward"], graphs["backward"], ["b", "x", "w"], ["y"], graphs["saved"], graphs["y_grads"], 1)
    first, second = _tessera._GradientRunner(*args), _tessera._GradientRunner(*args)
    rng = np.random.default_rng(6)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3, 5), (5,)))
    dy = np.ones((4, 5), np.float32)
    _, step = first.forward([b, x, w])
    for wrong in (step, None, "step"):
        runner = second if wrong is step else first
        with pytest.raises(tessera.InvalidArgument, match="not one this runner's forward returned"):
            runner.backward(wrong, [dy])
    dw, db = first.backward(step, [dy])
    np.testing.assert_allclose(db, dy.sum(0), rtol=1e-6)
