"""TesseraModule: trains a torch.nn.Module through Tessera.

    model = tessera.training.TesseraModule(torch_model)
    optimizer = torch.optim.AdamW(model.parameters())
    loss = loss_fn(model(x), y); loss.backward(); optimizer.step()

On the first call for a signature (input shapes, dtypes and which need grads, the module's
training flag, whether a gradient is wanted) the module is exported with torch.onnx.export, its
parameters and buffers as graph inputs, so torch's optimizers keep updating the very tensors
that are fed. With a gradient wanted, Tessera splits the graph into a forward and a backward model
(_tessera.build_gradient_graphs) run in one torch.autograd.Function: forward keeps the activations
the backward model reads, backward returns the gradients of the inputs and parameters. Otherwise
(eval mode or torch.no_grad) the forward model runs alone. Both run through one
_tessera._GradientRunner per signature: feeds and outputs are lists in an order fixed when the
signature is compiled (no names looked up per run), and the saved activations and feeds stay in
C++ between forward and backward. Nothing is copied for contiguous tensors, and a step calls no
numpy code (numpy's code runs nowhere else in a torch step, so it ran cold, at about 4 us a call):
parameters and buffers go in as numpy views made once and kept between steps, with the runner's
values made of them; inputs and dL/dy as (tensor, data_ptr) pairs; outputs and gradients come back
as torch tensors over Tessera's buffers, handed over as DLPack capsules.

BatchNorm in training mode: the exported graph's running mean and variance outputs are copied
into the module's buffers after each forward (the variance rescaled to torch's unbiased
estimate), and num_batches_tracked is counted as torch does.

When export or a gradient builder fails, the module warns once, naming the op or the reason, and
runs in torch from then on for that signature (fallback=False raises instead).
"""

import io
import itertools
import operator
import warnings

import numpy as np
import onnx
import torch
from torch.nn.utils import stateless

from tessera import _tessera

_OPSET = 17  # LayerNormalization is exported as one op from 17
_data_ptr = torch.Tensor.data_ptr
# The runners hand outputs and gradients over as DLPack capsules made into torch tensors by this:
# no numpy array in between (half the cost of numpy + torch.from_numpy per tensor). The converter
# itself where torch has it: torch.utils.dlpack.from_dlpack first asks a capsule for __dlpack__.
_from_dlpack = getattr(torch._C, "_from_dlpack", torch.utils.dlpack.from_dlpack)


def _numpy_view(t):
    return t.detach().numpy() if t.requires_grad else t.numpy()


def _feed(t):
    """What a runner is fed for a tensor that changes every call (an input, dL/dy) whose shape the
    model fixes: its memory as an (owner, address) pair where it is contiguous on the CPU (its
    shape and dtype are then the declared ones: the signature fixes them), else a numpy view.
    Tensor.numpy() costs 0.8 us, about 4 in a training step."""
    if t.is_cpu and t.is_contiguous():
        return (t, t.data_ptr())
    return _numpy_view(t)


def _fixed_shape(value_info):
    """Whether an ONNX graph input declares every dim as a number."""
    t = value_info.type.tensor_type
    return t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim)


def _as_tensors(values):
    """A runner's outputs as torch tensors: what DLPack cannot carry (an empty or bool tensor)
    comes as a numpy array. One C-level pass in the usual case, where all are tensors already."""
    if all(map(isinstance, values, _TENSOR_TYPE)):
        return values
    return [v if isinstance(v, torch.Tensor) else torch.from_numpy(v) for v in values]


_TENSOR_TYPE = itertools.repeat(torch.Tensor)
_requires_grad = operator.attrgetter("requires_grad")


class _Functional(torch.nn.Module):
    """The wrapped module as a function of (inputs..., parameters..., buffers...), for export:
    the parameters become graph inputs instead of initializers."""

    def __init__(self, module, names, input_count):
        super().__init__()
        self.module = module
        self.names = names
        self.input_count = input_count

    def forward(self, *args):
        tensors = dict(zip(self.names, args[self.input_count:]))
        with stateless._reparametrize_module(self.module, tensors):
            out = self.module(*args[:self.input_count])
        outputs, self.single = _flatten_outputs(out)
        return tuple(outputs)


def _flatten_outputs(out):
    if isinstance(out, torch.Tensor):
        return [out], True
    if isinstance(out, (tuple, list)) and all(isinstance(o, torch.Tensor) for o in out):
        return list(out), False
    raise TypeError(f"the module returned {type(out).__name__}; TesseraModule handles a tensor or a tuple of tensors")


class _Unsupported(Exception):
    """Why this signature cannot run in Tessera (the fallback's warning)."""


def _export(module, inputs, params, buffers):
    """The module's ONNX model (ModelProto; inputs input_K, then the parameters and buffers
    under their names) and whether the module returns one tensor rather than a tuple."""
    for name, m in module.named_modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats and m.momentum is None:
            raise _Unsupported(f"BatchNorm '{name}' with momentum=None (a cumulative average changes every step)")
    names = [n for n, _ in params] + [n for n, _ in buffers]
    # Clones: tracing runs the module once, and BatchNorm would update the real buffers in place.
    values = [p.detach().clone().requires_grad_(p.requires_grad) for _, p in params] + [b.detach().clone() for _, b in buffers]
    input_names = [f"input_{k}" for k in range(len(inputs))]
    f = io.BytesIO()
    functional = _Functional(module, names, len(inputs))
    mode = torch.onnx.TrainingMode.TRAINING if module.training else torch.onnx.TrainingMode.EVAL
    # Grad mode on while tracing: under no_grad torch takes inference fast paths
    # (aten::_transformer_encoder_layer_fwd) that have no ONNX export.
    with warnings.catch_warnings(), torch.enable_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(functional, tuple(i.detach() for i in inputs) + tuple(values), f,
                              input_names=input_names + names, training=mode, do_constant_folding=False,
                              opset_version=_OPSET)
        except Exception as e:  # the exporter raises many types; its message says what failed
            raise _Unsupported(f"torch.onnx.export failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    return onnx.load_from_string(f.getvalue()), functional.single


def _running_stat_outputs(model, buffer_names):
    """Adds the running mean/var outputs of training-mode BatchNormalization nodes to the graph
    outputs; returns [(output name, buffer name, is_var, batch count)] in that order."""
    stats = []
    shapes = {}
    inferred = onnx.shape_inference.infer_shapes(model)
    for v in list(inferred.graph.value_info) + list(inferred.graph.input):
        shapes[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    for node in model.graph.node:
        if node.op_type != "BatchNormalization" or len(node.output) < 3:
            continue
        training = any(a.name == "training_mode" and a.i == 1 for a in node.attribute)
        if not training or node.input[3] not in buffer_names or node.input[4] not in buffer_names:
            continue
        dims = shapes.get(node.input[0])
        if not dims or any(d <= 0 for d in dims):
            raise _Unsupported(f"BatchNormalization '{node.name}': the input shape is not known")
        count = int(np.prod(dims)) // dims[1]
        for k, is_var in ((1, False), (2, True)):
            model.graph.output.append(onnx.helper.make_tensor_value_info(node.output[k], onnx.TensorProto.FLOAT, None))
            stats.append((node.output[k], node.input[2 + k], is_var, count))
    return stats


class _Compiled:
    """The sessions of one signature and how their feeds and outputs map to tensors."""

    def __init__(self, module, inputs, want_grad, threads):
        params = [(n, p) for n, p in module.named_parameters()]
        buffers = [(n, b) for n, b in module.named_buffers()]
        model, self.single = _export(module, inputs, params, buffers)
        graph_inputs = [i.name for i in model.graph.input]
        # Unused parameters and buffers are not graph inputs (torch drops them).
        self.feeds = [(f"input_{k}", ("input", k)) for k in range(len(inputs)) if f"input_{k}" in graph_inputs]
        self.feeds += [(n, ("param", n)) for n, _ in params if n in graph_inputs]
        self.feeds += [(n, ("buffer", n)) for n, _ in buffers if n in graph_inputs]
        self.model_outputs = [o.name for o in model.graph.output]
        self.stats = _running_stat_outputs(model, {n for n, _ in buffers})
        self.outputs = self.model_outputs + [name for name, _, _, _ in self.stats]
        self.track_batches = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                              and m.training and m.track_running_stats and m.num_batches_tracked is not None]
        self.want_grad = want_grad
        self._input_refs = [ref for _, (kind, ref) in self.feeds if kind == "input"]
        # How each input is fed (_feed, or a numpy view where the model does not fix its shape).
        declared = {i.name: i for i in model.graph.input}
        self._input_feeds = [_feed if _fixed_shape(declared[f"input_{ref}"]) else _numpy_view for ref in self._input_refs]
        self._owners = None  # per parameter or buffer feed: (its owner's parameter or buffer dict, key)
        self._held, self._held_ptrs, self._held_arrays = [], [], []  # their tensors, data_ptrs and numpy views
        self._stat_owners = None  # per running statistic: its BatchNorm module, see _update_buffers
        feed_names = [name for name, _ in self.feeds]
        # Parameters and buffers are the same arrays step after step (see feeds_of): the runner
        # keeps their converted values instead of wrapping them again on every run.
        kept = [k for k, (_, (kind, _)) in enumerate(self.feeds) if kind != "input"]
        self._stat_feeds = [feed_names.index(buffer) for _, buffer, _, _ in self.stats]  # per statistic: its feed
        if not want_grad:
            self.runner = _tessera._GradientRunner(model.SerializeToString(), None, feed_names, self.outputs, [], [], threads, kept,
                                                   _from_dlpack)
            return
        # Differentiate the float outputs by every float input that needs a gradient.
        self.xs = [(name, key) for name, key in self.feeds if self._needs_grad(module, inputs, key)]
        float_outputs = {o.name for o in model.graph.output if o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
        self.ys = [o for o in self.model_outputs if o in float_outputs]
        try:
            graphs = _tessera.build_gradient_graphs(model.SerializeToString(), self.ys, [n for n, _ in self.xs])
        except _tessera.TesseraError as e:
            raise _Unsupported(str(e)) from e
        self.runner = _tessera._GradientRunner(graphs["forward"], graphs["backward"], feed_names, self.outputs,
                                               graphs["saved"], graphs["y_grads"], threads, kept, _from_dlpack)
        # Per model output: its position among the ys (dL/dy fed to backward), or None; per feed:
        # its position among the xs (dL/dx returned by backward), or None.
        self.y_of_output = [self.ys.index(o) if o in self.ys else None for o in self.model_outputs]
        declared = {i.name: i for i in onnx.load_from_string(graphs["backward"]).graph.input}
        self._y_grad_feeds = [_feed if _fixed_shape(declared[name]) else _numpy_view for name in graphs["y_grads"]]
        x_names = [name for name, _ in self.xs]
        self.x_of_feed = [x_names.index(name) if name in x_names else None for name in feed_names]

    @staticmethod
    def _needs_grad(module, inputs, key):
        kind, ref = key
        if kind == "input":
            return inputs[ref].requires_grad and inputs[ref].is_floating_point()
        if kind == "param":
            return module.get_parameter(ref).requires_grad
        return False

    def feeds_of(self, module, inputs):
        """The tensors fed, in self.feeds order, their numpy views and whether any of them needs a
        gradient (a step's Python glue costs as much as the forward run, and more when torch's
        optimizer has just pushed it out of the caches: each pass here is a C-level map, not a
        loop of Python statements). Parameters and buffers are read from their owning modules on
        every call (an optimizer or load_state_dict may have replaced them), through the owners'
        parameter and buffer dicts looked up once (a plain dict read; getattr goes through
        nn.Module's __getattr__). Their numpy views are kept between calls, since an optimizer
        updates them in place; they are made again when any of them is another tensor object or
        its data moved (`p.data = ...`). No copies: views of the tensors. The inputs lead the
        feeds (see __init__)."""
        if self._owners is None:
            self._owners = []
            for _, (kind, ref) in self.feeds:
                if kind != "input":
                    owner = module.get_submodule(ref.rpartition(".")[0])
                    self._owners.append((owner._parameters if kind == "param" else owner._buffers, ref.rpartition(".")[2]))
        held = [table[key] for table, key in self._owners]
        if not (all(map(operator.is_, held, self._held)) and list(map(_data_ptr, held)) == self._held_ptrs):
            self._held = held
            self._held_ptrs = list(map(_data_ptr, held))
            self._held_arrays = [t.detach().numpy() for t in held]
        want_grad = any(map(_requires_grad, held))
        if len(self._input_refs) == 1:  # the usual case, without a loop
            t = inputs[self._input_refs[0]]
            return [t, *held], [self._input_feeds[0](t), *self._held_arrays], want_grad or t.requires_grad
        tensors = [inputs[ref] for ref in self._input_refs]
        want_grad = want_grad or any(map(_requires_grad, tensors))
        return tensors + held, [f(t) for f, t in zip(self._input_feeds, tensors)] + self._held_arrays, want_grad

    def run_forward(self, module, arrays):
        """Runs the forward model on feeds_of's arrays and updates the BatchNorm buffers through
        them; returns the model's outputs (tensors) and what backward needs of this run (None
        without a gradient)."""
        values, step = self.runner.forward(arrays)
        if self.stats:
            self._update_buffers(module, arrays, values[len(self.model_outputs):])
            del values[len(self.model_outputs):]
        return _as_tensors(values), step

    def _update_buffers(self, module, arrays, values):
        """Writes the running statistics into the BatchNorm buffers in place, through this run's
        feed arrays (each statistic's buffer is a feed: its BatchNormalization reads it); torch
        ops on a few values each would cost more than their arithmetic (~15 us a buffer)."""
        if self._stat_owners is None:
            self._stat_owners = []
            for _, buffer, _, _ in self.stats:
                path = buffer.rpartition(".")[0]
                self._stat_owners.append(module.get_submodule(path) if path else module)
        for (_, _, is_var, count), owner, k, value in zip(self.stats, self._stat_owners, self._stat_feeds, values):
            target = arrays[k]
            value = value.numpy() if isinstance(value, torch.Tensor) else value
            if is_var and count > 1:
                # ONNX keeps the batch's biased variance, torch the unbiased one:
                # new = m * old + (1 - m) * biased, so new + (new - m * old) / (count - 1).
                m = 1.0 - owner.momentum
                target[...] = value + (value - m * target) / (count - 1)
            else:
                target[...] = value
        for m in self.track_batches:
            batches = m.num_batches_tracked.numpy()
            batches += 1

    def run_backward(self, step, output_grads, output_shapes):
        """Runs the backward model on a forward run's step and dL/dy per model output (None: no
        gradient flows into it: zeros of the output's shape); returns dL/dx per feed (None where
        the feed is no x)."""
        y_grads = [None] * len(self.ys)
        for g, shape, k in zip(output_grads, output_shapes, self.y_of_output):
            if k is not None:
                y_grads[k] = np.zeros(shape, np.float32) if g is None else self._y_grad_feeds[k](g)
        x_grads = _as_tensors(self.runner.backward(step, y_grads))
        return [x_grads[k] if k is not None else None for k in self.x_of_feed]


class _TesseraFunction(torch.autograd.Function):
    """Forward and backward runs of one signature as one autograd node. Arguments:
    ((compiled, module, the fed tensors' numpy views), *fed tensors): autograd sees the tensors,
    the runs read the views; outputs: the module's outputs. The non-tensor arguments travel as one
    tuple: apply inspects each argument, and backward returns one None per non-tensor."""

    @staticmethod
    def forward(ctx, run, *tensors):
        compiled, module, arrays = run
        results, ctx.step = compiled.run_forward(module, arrays)
        ctx.compiled = compiled
        ctx.shapes = [r.shape for r in results]
        return tuple(results)

    @staticmethod
    def backward(ctx, *grads):
        x_grads = ctx.compiled.run_backward(ctx.step, grads, ctx.shapes)
        ctx.step = None  # the saved activations go now, not when the graph goes
        return (None, *x_grads)


class TesseraModule(torch.nn.Module):
    """Runs `module` forward and backward through Tessera (see the module docstring).

    fallback: when export or a gradient builder fails, warn once and run the module in torch
    (True), or raise tessera.NotImplemented / the export's error (False).
    intra_op_threads: threads per Tessera op (0: one per core).
    """

    def __init__(self, module, fallback=True, intra_op_threads=0):
        super().__init__()
        self.module = module
        self.fallback = fallback
        self.intra_op_threads = intra_op_threads
        self._compiled = {}  # signature + (want_grad,) -> _Compiled, or None where it falls back to torch
        self._feeders = {}  # signature -> a _Compiled of it, whose feeds say which tensors are fed
        self._warned = False

    def forward(self, *inputs):
        for i in inputs:
            if not isinstance(i, torch.Tensor):
                raise TypeError("TesseraModule takes tensors as positional inputs")
        module = self._modules["module"]  # not self.module: nn.Module's __getattr__ costs microseconds
        training = module.training
        signature = (tuple([(i.shape, i.dtype, i.requires_grad) for i in inputs]), training)
        # As ORTModule: eval mode or no_grad runs inference only (outputs carry no gradient).
        grad_on = training and torch.is_grad_enabled()
        feeder = self._feeders.get(signature) if grad_on else None
        if feeder is not None:
            # A gradient is wanted when a fed tensor needs one (what the graph does not read
            # cannot have one): cheaper than walking module.parameters() on every step.
            tensors, arrays, want_grad = feeder.feeds_of(module, inputs)
            # The usual case, a training step of the signature's first compile: no second lookup.
            compiled = feeder if feeder.want_grad == want_grad else self._compiled.get(signature + (want_grad,), False)
        else:
            arrays = None
            want_grad = grad_on and (any(i.requires_grad for i in inputs) or any(p.requires_grad for p in module.parameters()))
            compiled = self._compiled.get(signature + (want_grad,), False)
        if compiled is False:
            compiled = self._compiled[signature + (want_grad,)] = self._compile(inputs, want_grad)
            if compiled is not None:
                self._feeders.setdefault(signature, compiled)
        if compiled is None:
            return module(*inputs)
        if arrays is None:
            tensors, arrays, _ = compiled.feeds_of(module, inputs)
        if want_grad:
            results = _TesseraFunction.apply((compiled, module, arrays), *tensors)
        else:
            results, _ = compiled.run_forward(module, arrays)
        return results[0] if compiled.single else tuple(results)

    def _compile(self, inputs, want_grad):
        try:
            compiled = _Compiled(self.module, inputs, want_grad, self.intra_op_threads)
        except _Unsupported as e:
            if not self.fallback:
                raise (e.__cause__ if isinstance(e.__cause__, _tessera.TesseraError) else RuntimeError(str(e))) from e
            if not self._warned:
                warnings.warn(f"TesseraModule: running {type(self.module).__name__} in torch: {e}", RuntimeWarning, stacklevel=3)
                self._warned = True
            return None
        return compiled
