"""tessera.training: generate_artifacts on small onnx.helper models, a TrainingSession over the
files (train, eval, learning rate, checkpoints), the exported inference model against the eval
step in an InferenceSession, each loss against numpy, and errors naming what is wrong."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import tessera
from tessera.training import TrainingSession, generate_artifacts

from conftest import make_model

N, D, H, C = 16, 4, 8, 3


def mlp(seed=0):
    """logits = Relu(x W1 + b1) W2 + b2, float32, batch dim 'n'."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array((rng.standard_normal((D, H)) * 0.5).astype(np.float32), "W1"),
             numpy_helper.from_array(np.zeros(H, np.float32), "b1"),
             numpy_helper.from_array((rng.standard_normal((H, C)) * 0.5).astype(np.float32), "W2"),
             numpy_helper.from_array(np.zeros(C, np.float32), "b2")]
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["xw"]), helper.make_node("Add", ["xw", "b1"], ["z"]),
             helper.make_node("Relu", ["z"], ["h"]), helper.make_node("MatMul", ["h", "W2"], ["hw"]),
             helper.make_node("Add", ["hw", "b2"], ["logits"])]
    return make_model(nodes, [("x", TensorProto.FLOAT, ["n", D])], [("logits", TensorProto.FLOAT, ["n", C])], inits)


def batch(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D)).astype(np.float32)
    y = (np.argmax(x[:, :C], axis=1)).astype(np.int64)  # learnable: the largest of the first C features
    return x, y


@pytest.fixture
def artifacts(tmp_path):
    generate_artifacts(mlp(), ["W1", "b1", "W2", "b2"], loss="CrossEntropyLoss", optimizer="AdamW",
                       artifact_directory=tmp_path / "artifacts", learning_rate=0.05)
    return tmp_path / "artifacts"


def train(session, steps, first_seed=100):
    losses = []
    for k in range(steps):
        x, y = batch(first_seed + k)
        session.lazy_reset_grad()
        losses.append(session.train_step({"x": x, "target": y}))
        session.optimizer_step()
    return losses


def test_artifact_files_and_session(artifacts):
    assert sorted(p.name for p in artifacts.iterdir()) == ["checkpoint.ckpt", "optimizer.cfg", "training_model.onnx"]
    assert "optimizer adamw" in (artifacts / "optimizer.cfg").read_text()
    session = TrainingSession(artifacts)
    assert session.input_names() == ["x", "target"]
    assert session.eval_output_names() == ["logits"]
    assert session.get_learning_rate() == pytest.approx(0.05)
    assert sorted(session.parameters()) == ["W1", "W2", "b1", "b2"]
    x, y = batch(7)
    before, _ = session.eval_step(x, y)
    losses = train(session, 60)
    assert session.step == 60
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    after, (logits,) = session.eval_step({"x": x, "target": y})
    assert logits.shape == (N, C)
    assert after < 0.5 * before
    # The eval loss is CrossEntropyLoss of the returned logits, computed here by numpy.
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert after == pytest.approx(-log_softmax[np.arange(N), y].mean(), rel=1e-5)


def test_gradients_accumulate_until_reset(tmp_path):
    """For SGD without momentum, two train steps on one batch then a step equal one train step at
    twice the learning rate."""
    generate_artifacts(mlp(), ["W1", "b1", "W2", "b2"], optimizer="SGD", artifact_directory=tmp_path, learning_rate=0.1)
    once, twice = TrainingSession(tmp_path), TrainingSession(tmp_path)
    once.set_learning_rate(0.2)
    x, y = batch(3)
    assert once.train_step(x, y) == twice.train_step(x, y) == twice.train_step(x, y)
    once.optimizer_step()
    twice.optimizer_step()
    start = TrainingSession(tmp_path).parameters()
    for name, value in once.parameters().items():
        np.testing.assert_allclose(twice.parameters()[name], value, rtol=1e-6, atol=1e-7)
        assert name.startswith("b") or not np.allclose(value, start[name])


def test_checkpoint_resume_repeats_losses(artifacts, tmp_path):
    straight = TrainingSession(artifacts)
    train(straight, 5)
    straight.save_checkpoint(tmp_path / "step5.ckpt")
    want = train(straight, 5, first_seed=200)
    resumed = TrainingSession(artifacts)
    resumed.load_checkpoint(tmp_path / "step5.ckpt")
    assert resumed.step == 5
    assert train(resumed, 5, first_seed=200) == want
    for name, value in straight.parameters().items():
        np.testing.assert_array_equal(resumed.parameters()[name], value)
    from_files = TrainingSession(training_model=artifacts / "training_model.onnx", optimizer=artifacts / "optimizer.cfg",
                                 checkpoint=tmp_path / "step5.ckpt")
    assert from_files.step == 5


def test_exported_model_matches_eval(artifacts, tmp_path):
    session = TrainingSession(artifacts)
    train(session, 20)
    session.export_inference_model(tmp_path / "trained.onnx")
    inference = tessera.InferenceSession(str(tmp_path / "trained.onnx"))
    assert [i.name for i in inference.get_inputs()] == ["x"]
    x, y = batch(9)
    _, (logits,) = session.eval_step(x, y)
    np.testing.assert_allclose(inference.run(None, {"x": x})[0], logits, rtol=1e-6, atol=1e-6)
    params = session.parameters()
    np.testing.assert_allclose(np.maximum(x @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"], logits,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("loss", ["MSELoss", "L1Loss", "BCEWithLogitsLoss"])
def test_float_target_losses(tmp_path, loss):
    generate_artifacts(mlp(), ["W1", "b1", "W2", "b2"], loss=loss, optimizer="SGD", artifact_directory=tmp_path,
                       learning_rate=0.1, momentum=0.9)
    session = TrainingSession(tmp_path)
    x, _ = batch(5)
    target = np.random.default_rng(1).uniform(0, 1, (N, C)).astype(np.float32)
    got, (logits,) = session.eval_step(x, target)
    d = logits - target
    want = {"MSELoss": np.mean(d * d), "L1Loss": np.mean(np.abs(d)),
            "BCEWithLogitsLoss": np.mean(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits))))}[loss]
    assert got == pytest.approx(want, rel=1e-5)
    first = session.train_step(x, target)
    for _ in range(30):
        session.optimizer_step()
        session.lazy_reset_grad()
        last = session.train_step(x, target)
    assert last < first


def test_errors_name_what_is_wrong(tmp_path, artifacts):
    with pytest.raises(tessera.TesseraError, match="'nope'"):
        generate_artifacts(mlp(), ["W1", "nope"], artifact_directory=tmp_path / "a")
    with pytest.raises(ValueError, match="HingeLoss"):
        generate_artifacts(mlp(), ["W1"], loss="HingeLoss", artifact_directory=tmp_path / "a")
    with pytest.raises(TypeError, match="model must be"):
        generate_artifacts(42, ["W1"], artifact_directory=tmp_path / "a")
    session = TrainingSession(artifacts)
    with pytest.raises(tessera.TesseraError, match="before any train_step"):
        session.optimizer_step()
    with pytest.raises(tessera.TesseraError, match="'y' is not one of its inputs"):
        session.train_step({"y": np.zeros((N, D), np.float32)})
    with pytest.raises(tessera.TesseraError, match="not a Tessera checkpoint"):
        session.load_checkpoint(artifacts / "optimizer.cfg")
    with pytest.raises(tessera.TesseraError, match="no_such_dir"):
        TrainingSession(tmp_path / "no_such_dir")
