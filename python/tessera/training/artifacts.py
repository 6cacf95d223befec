"""generate_artifacts: the files a TrainingSession trains from (docs/training.md), written by
Tessera's C++ model writer, so they do not depend on the installed onnx package's version."""

import os

from tessera._tessera import _generate_artifacts

LOSSES = ("CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss", "L1Loss")
OPTIMIZERS = ("AdamW", "SGD")


def _model_bytes(model, what):
    if isinstance(model, (str, os.PathLike)):
        with open(model, "rb") as f:
            return f.read()
    if isinstance(model, bytes):
        return model
    if hasattr(model, "SerializeToString"):
        return model.SerializeToString()
    raise TypeError(f"{what} must be an onnx.ModelProto, a path or bytes, not {type(model).__name__}")


def generate_artifacts(model, requires_grad, loss="CrossEntropyLoss", optimizer="AdamW", artifact_directory=".", *,
                       eval_model=None, output=None, learning_rate=1e-3, weight_decay=None, momentum=0.0,
                       nesterov=False, betas=(0.9, 0.999), eps=1e-8, warmup_steps=0, total_steps=0):
    """Writes training_model.onnx (the loss of `output`, else the model's first output, against a
    new input "target", as output 0), eval_model.onnx when `eval_model` is given (e.g. the model
    exported in eval mode), optimizer.cfg and checkpoint.ckpt (the `requires_grad` initializers)
    into `artifact_directory`, made if missing.

    `loss`: "CrossEntropyLoss" (target: int64 class indices), "MSELoss", "BCEWithLogitsLoss",
    "L1Loss" (target: float32 of the output's shape), all with PyTorch's reduction "mean".
    `optimizer`: "AdamW" (weight_decay defaults to PyTorch's 0.01) or "SGD" (0); the learning rate
    warms up linearly over `warmup_steps` and decays linearly to 0 at `total_steps` when set."""
    if loss not in LOSSES:
        raise ValueError(f"loss {loss!r} is not one of {', '.join(LOSSES)}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer {optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    if isinstance(requires_grad, str):
        requires_grad = [requires_grad]
    if weight_decay is None:
        weight_decay = 0.01 if optimizer == "AdamW" else 0.0
    os.makedirs(artifact_directory, exist_ok=True)
    _generate_artifacts(_model_bytes(model, "model"), list(requires_grad), loss, optimizer, os.fspath(artifact_directory),
                        float(learning_rate), float(weight_decay), float(momentum), bool(nesterov), float(betas[0]),
                        float(betas[1]), float(eps), int(warmup_steps), int(total_steps),
                        None if eval_model is None else _model_bytes(eval_model, "eval_model"), output or "")
    return artifact_directory
