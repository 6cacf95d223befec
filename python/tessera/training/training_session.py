"""TrainingSession: trains from the artifacts generate_artifacts wrote, numpy in and out."""

import os

from tessera._tessera import _TrainingSession


class TrainingSession:
    """A session over training artifacts: `artifact_directory` with the standard file names, or
    the files named one by one (`eval_model` optional). Steps take a dict {input name: array}
    (the model's inputs and "target") or the arrays in input order.

        session = TrainingSession("artifacts")
        for x, y in batches:
            session.lazy_reset_grad()
            loss = session.train_step({"x": x, "target": y})
            session.optimizer_step()
        loss, (logits,) = session.eval_step({"x": x, "target": y})
    """

    def __init__(self, artifact_directory=None, *, training_model=None, eval_model=None, optimizer=None, checkpoint=None):
        if artifact_directory is not None:
            d = os.fspath(artifact_directory)
            training_model = training_model or os.path.join(d, "training_model.onnx")
            if eval_model is None and os.path.exists(os.path.join(d, "eval_model.onnx")):
                eval_model = os.path.join(d, "eval_model.onnx")
            optimizer = optimizer or os.path.join(d, "optimizer.cfg")
            checkpoint = checkpoint or os.path.join(d, "checkpoint.ckpt")
        if training_model is None or optimizer is None or checkpoint is None:
            raise ValueError("TrainingSession needs an artifact directory, or training_model, optimizer and checkpoint")
        self._session = _TrainingSession(os.fspath(training_model), os.fspath(eval_model) if eval_model else "",
                                         os.fspath(optimizer), os.fspath(checkpoint))

    def _feed(self, inputs, eval):
        if len(inputs) == 1 and isinstance(inputs[0], dict):
            return inputs[0]
        names = self._session.input_names(eval)
        if len(inputs) != len(names):
            raise ValueError(f"expected {len(names)} arrays ({', '.join(names)}), got {len(inputs)}")
        return dict(zip(names, inputs))

    def train_step(self, *inputs):
        """Forward and backward; returns the loss. Gradients add up until lazy_reset_grad."""
        return self._session.train_step(self._feed(inputs, False))

    def eval_step(self, *inputs):
        """The eval model (else the training forward in inference mode): (loss, [outputs])."""
        return self._session.eval_step(self._feed(inputs, True))

    def optimizer_step(self):
        self._session.optimizer_step()

    def lazy_reset_grad(self):
        self._session.lazy_reset_grad()

    def get_learning_rate(self):
        return self._session.get_learning_rate()

    def set_learning_rate(self, learning_rate):
        self._session.set_learning_rate(float(learning_rate))

    @property
    def step(self):
        """Optimizer steps taken (a loaded checkpoint's included)."""
        return self._session.step()

    def save_checkpoint(self, path):
        self._session.save_checkpoint(os.fspath(path))

    def load_checkpoint(self, path):
        self._session.load_checkpoint(os.fspath(path))

    def export_inference_model(self, path):
        """The forward graph without the loss, trained parameters as initializers, as ONNX."""
        self._session.export_inference_model(os.fspath(path))

    def parameters(self):
        """{name: array} copies of the trainable parameters."""
        return self._session.parameters()

    def input_names(self):
        return self._session.input_names(False)

    def eval_output_names(self):
        return self._session.eval_output_names()
