"""tessera.training.TesseraModule against torch eager: one step's outputs and gradients, optimizer
runs (200 steps of SGD and AdamW), BatchNorm's running statistics, eval mode, the fallback, and convergence on scikit-learn's
digits."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import tessera  # noqa: E402
from tessera.training import TesseraModule  # noqa: E402

torch.set_num_threads(2)
THREADS = 2


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 10))


def cnn():
    # No conv bias before BatchNorm (it would have a zero gradient, see `determined`).
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 2 * 2, 10))


def transformer():
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    return nn.Sequential(nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), nn.Flatten(), nn.Linear(8 * 32, 10))


MODELS = {"mlp": (mlp, (16, 64)), "cnn": (cnn, (16, 1, 8, 8)), "transformer": (transformer, (4, 8, 32))}


def pair(make, seed):
    """The same module twice (same weights): one for torch, one wrapped."""
    torch.manual_seed(seed)
    reference = make()
    wrapped = make()
    wrapped.load_state_dict(reference.state_dict())
    return reference, TesseraModule(wrapped, fallback=False, intra_op_threads=THREADS)


def reseed(reference, wrapped, seed):
    """New weights for both from `seed`, in place (the wrapper's sessions are kept)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(torch.randn_like(p) * (1.0 / max(1, p.shape[-1]) ** 0.5))
        wrapped.module.load_state_dict(reference.state_dict())


def assert_close(actual, expected, rtol, atol, what):
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("name", list(MODELS))
def test_one_step_matches_torch_over_8_seeds(name):
    make, shape = MODELS[name]
    reference, wrapped = pair(make, 0)
    for seed in range(8):
        reseed(reference, wrapped, seed)
        x = torch.randn(*shape)
        target = torch.randint(0, 10, (shape[0],))
        losses = []
        for model in (reference, wrapped):
            model.zero_grad()
            out = model(x)
            loss = nn.functional.cross_entropy(out, target)
            loss.backward()
            losses.append((out, loss))
        assert_close(losses[1][0], losses[0][0], 1e-4, 1e-5, f"{name} seed {seed}: outputs")
        for (pname, p), q in zip(reference.named_parameters(), wrapped.module.parameters()):
            assert q.grad is not None, f"{name}: no gradient for {pname}"
            assert_close(q.grad, p.grad, 1e-4, 1e-5, f"{name} seed {seed}: gradient of {pname}")
    assert len(wrapped._compiled) == 1  # one export for all seeds


def train_pair(name, optimizer, steps, seed=0):
    """Trains torch and the wrapper side by side on the same batches; returns their losses and
    modules."""
    make, shape = MODELS[name]
    reference, wrapped = pair(make, seed)
    opts = [optimizer(m.parameters()) for m in (reference, wrapped)]
    gen = torch.Generator().manual_seed(seed + 1)
    # Fresh batches labelled by a fixed linear teacher: learnable, and the gradients stay away from
    # the near-cancellations of an overfitted model (where AdamW amplifies rounding).
    teacher = torch.randn(int(np.prod(shape[1:])), 10, generator=gen)
    losses = ([], [])
    for _ in range(steps):
        x = torch.randn(*shape, generator=gen)
        target = (x.flatten(1) @ teacher).argmax(1)
        for k, (model, opt) in enumerate(zip((reference, wrapped), opts)):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), target)
            loss.backward()
            opt.step()
            losses[k].append(loss.item())
    return losses, reference, wrapped


def determined(name, p):
    """p without the elements whose gradient is zero in exact arithmetic: there AdamW turns
    rounding noise into steps of the learning rate's size, in torch as in Tessera, so they drift
    apart by chance. The key third of attention's in_proj_bias is such a slice (softmax ignores a
    shift shared by a query's scores)."""
    if name.endswith("self_attn.in_proj_bias"):
        e = p.shape[0] // 3
        return torch.cat([p[:e], p[2 * e:]])
    return p


OPTIMIZERS = {"sgd": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3)}


def check_200_steps(name, optimizer):
    (ref_losses, losses), reference, wrapped = train_pair(name, OPTIMIZERS[optimizer], 200)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-3, err_msg=f"{name} {optimizer}: losses")
    assert np.mean(ref_losses[-20:]) < np.mean(ref_losses[:20]), f"{name} {optimizer}: did not train"
    for (pname, p), q in zip(reference.named_parameters(), wrapped.module.parameters()):
        assert_close(determined(pname, q), determined(pname, p), 1e-3, 1e-4, f"{name} {optimizer}: final {pname}")
    return ref_losses


# The MLP here; all three models in `bench/train_bench.py --parity` (minutes on a loaded machine).
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_200_steps_match_torch(optimizer):
    check_200_steps("mlp", optimizer)


def test_batchnorm_running_statistics_follow_torch():
    (ref_losses, losses), reference, wrapped = train_pair("cnn", OPTIMIZERS["sgd"], 5)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-3)
    for (bname, b), c in zip(reference.named_buffers(), wrapped.module.buffers()):
        if b.dtype == torch.int64:
            assert int(c) == int(b) == 5, bname
        else:
            assert_close(c, b, 1e-4, 1e-5, f"buffer {bname}")


@pytest.mark.parametrize("name", list(MODELS))
def test_eval_mode_runs_inference_and_matches_torch(name):
    make, shape = MODELS[name]
    reference, wrapped = pair(make, 3)
    reference.eval()
    wrapped.eval()
    x = torch.randn(*shape)
    out = wrapped(x)
    assert not out.requires_grad
    assert_close(out, reference(x), 1e-4, 1e-5, f"{name} eval")
    ((_, _, want_grad),) = wrapped._compiled.keys()
    assert not want_grad
    with torch.no_grad():  # training mode without a gradient: inference too
        wrapped.train()
        reference.train()
        assert_close(wrapped(x), reference(x), 1e-4, 1e-5, f"{name} train, no_grad")


def test_input_gradient_and_new_shape_reexports():
    reference, wrapped = pair(mlp, 4)
    for batch in (16, 5):
        x = torch.randn(batch, 64)
        xr, xw = x.clone().requires_grad_(), x.clone().requires_grad_()
        reference(xr).square().sum().backward()
        wrapped(xw).square().sum().backward()
        assert_close(xw.grad, xr.grad, 1e-4, 1e-5, f"dL/dx at batch {batch}")
    assert len(wrapped._compiled) == 2


class CumSumModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(6, 6)

    def forward(self, x):
        return torch.cumsum(self.linear(x), dim=1)


def test_missing_gradient_falls_back_with_one_warning():
    torch.manual_seed(0)
    model = TesseraModule(CumSumModel())
    reference = CumSumModel()
    reference.load_state_dict(model.module.state_dict())
    x = torch.randn(3, 6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            model(x).sum().backward()
    messages = [str(w.message) for w in caught if "TesseraModule" in str(w.message)]
    assert len(messages) == 1 and "CumSum" in messages[0], messages
    reference(x).sum().backward()
    assert_close(model.module.linear.weight.grad, reference.linear.weight.grad * 3, 1e-5, 1e-6, "fallback gradient")


def test_missing_gradient_without_fallback_names_the_op():
    model = TesseraModule(CumSumModel(), fallback=False)
    with pytest.raises(tessera.NotImplemented, match="CumSum"):
        model(torch.randn(3, 6))


def digits_transformer():
    """The transformer on digits: each image row a token of 8 features."""
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    return nn.Sequential(nn.Linear(8, 32), nn.TransformerEncoder(layer, 2, enable_nested_tensor=False),
                         nn.Flatten(), nn.Linear(8 * 32, 10))


# Per model: its factory and the shape one digit image is fed as.
DIGITS_MODELS = {"mlp": (mlp, (64,)), "cnn": (cnn, (1, 8, 8)), "transformer": (digits_transformer, (8, 8))}


def digits_accuracies(name, epochs=30):
    """Test accuracy (%) on scikit-learn's digits after `epochs` of AdamW, for torch and for
    TesseraModule from the same initial weights and batches."""
    datasets = pytest.importorskip("sklearn.datasets")
    make, shape = DIGITS_MODELS[name]
    digits = datasets.load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32).reshape(-1, *shape)
    y = torch.tensor(digits.target)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, test = perm[:1400], perm[1400:]
    torch.manual_seed(0)
    reference = make()
    wrapped = make()
    wrapped.load_state_dict(reference.state_dict())
    accuracies = []
    for model in (reference, TesseraModule(wrapped, fallback=False, intra_op_threads=THREADS)):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(1)
        for _ in range(epochs):
            order = train[torch.randperm(len(train), generator=gen)]
            for k in range(0, len(order) - 63, 64):  # full batches: one signature
                batch = order[k:k + 64]
                opt.zero_grad()
                nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            accuracies.append(float((model(x[test]).argmax(1) == y[test]).float().mean()) * 100)
    return accuracies


# The MLP here; all three models in `bench/train_bench.py --parity`.
def test_digits_convergence_matches_torch():
    torch_accuracy, tessera_accuracy = digits_accuracies("mlp")
    print(f"digits MLP, 30 epochs AdamW: torch {torch_accuracy:.2f}%, TesseraModule {tessera_accuracy:.2f}%")
    assert torch_accuracy > 90
    assert abs(tessera_accuracy - torch_accuracy) <= 1.0


def test_replaced_parameters_and_moved_data_are_fed():
    """The wrapper keeps its parameters' numpy views between steps; a parameter replaced in its
    module, or one whose data moved (`p.data = ...`), must be fed as it is now."""
    reference, wrapped = pair(mlp, 0)
    x = torch.randn(16, 64)
    assert_close(wrapped(x), reference(x), 1e-5, 1e-6, "before")
    new_weight = torch.randn(128, 64)
    reference[0].weight.data = new_weight.clone()
    wrapped.module[0].weight.data = new_weight.clone()
    assert_close(wrapped(x), reference(x), 1e-5, 1e-6, "after p.data = ...")
    new_bias = torch.randn(10)
    reference[4].bias = torch.nn.Parameter(new_bias.clone())
    wrapped.module[4].bias = torch.nn.Parameter(new_bias.clone())
    assert_close(wrapped(x), reference(x), 1e-5, 1e-6, "after a new Parameter")


def test_non_contiguous_inputs_and_gradients_are_read_right():
    """Contiguous CPU inputs go in by address, others as numpy views: both give torch's answer."""
    reference, wrapped = pair(mlp, 1)
    x = torch.randn(64, 16).t()  # [16, 64], not contiguous
    assert not x.is_contiguous()
    y_ref, y = reference(x), wrapped(x)
    assert_close(y, y_ref, 1e-5, 1e-6, "forward")
    g = torch.randn(10, 16).t()  # dL/dy not contiguous either
    y_ref.backward(g)
    y.backward(g)
    for (name, p_ref), p in zip(reference.named_parameters(), wrapped.module.parameters()):
        assert_close(p.grad, p_ref.grad, 1e-4, 1e-5, name)


class _LinearAndMask(nn.Module):
    """Two outputs: a float one, and a bool one (no DLPack type in torch 1.13: it comes back
    through numpy)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 4)

    def forward(self, x):
        y = self.linear(x)
        return y, y > 0


def test_bool_outputs_come_back_as_tensors():
    torch.manual_seed(3)
    reference = _LinearAndMask()
    wrapped = TesseraModule(_LinearAndMask(), fallback=False, intra_op_threads=THREADS)
    wrapped.module.load_state_dict(reference.state_dict())
    x = torch.randn(5, 8)
    (y_ref, mask_ref), (y, mask) = reference(x), wrapped(x)
    assert isinstance(mask, torch.Tensor) and mask.dtype == torch.bool
    assert torch.equal(mask, mask_ref)
    assert_close(y, y_ref, 1e-5, 1e-6, "y")
    y.sum().backward()
    y_ref.sum().backward()
    assert_close(wrapped.module.linear.weight.grad, reference.linear.weight.grad, 1e-5, 1e-6, "dW")
