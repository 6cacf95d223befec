"""Tessera as an ONNX backend (onnx.backend.base.Backend), so the ONNX project's backend test
runner (onnx.backend.test) runs against it:

    import tessera.backend
    outputs = tessera.backend.run_model(model_proto, [x])
"""

import numpy as np
import onnx
from onnx import helper
from onnx.backend.base import Backend, BackendRep, namedtupledict

from tessera.session import InferenceSession, SessionOptions, get_device


def _tensor_type(dtype):
    """The TensorProto element type of a numpy dtype (onnx's helper, or its older mapping)."""
    if hasattr(helper, "np_dtype_to_tensor_dtype"):
        return _tensor_type(np.dtype(dtype))
    from onnx import mapping

    return mapping.NP_TYPE_TO_TENSOR_TYPE[dtype]


class TesseraRep(BackendRep):
    """A prepared model: one InferenceSession run with inputs by position or by name."""

    def __init__(self, session):
        self.session = session
        self._output_names = [o.name for o in session.get_outputs()]

    def run(self, inputs, **kwargs):
        if isinstance(inputs, dict):
            feeds = inputs
        else:
            if not isinstance(inputs, (list, tuple)):
                inputs = [inputs]
            feeds = {i.name: value for i, value in zip(self.session.get_inputs(), inputs)}
        outputs = self.session.run(None, feeds)
        return namedtupledict("Outputs", self._output_names)(*outputs)


class TesseraBackend(Backend):
    @classmethod
    def supports_device(cls, device):
        return device.upper() == get_device()

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        """`model`: a ModelProto, its bytes or a path. Keyword arguments are SessionOptions'
        attributes (graph_optimization_level=...)."""
        if not cls.supports_device(device):
            raise RuntimeError(f"Tessera runs on {get_device()}, not {device}")
        options = SessionOptions()
        for name, value in kwargs.items():
            setattr(options, name, value)
        source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
        return TesseraRep(InferenceSession(source, options))

    @classmethod
    def run_model(cls, model, inputs, device="CPU", **kwargs):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node, inputs, device="CPU", outputs_info=None, **kwargs):
        """Runs one node on `inputs` (numpy arrays, by position) in a graph made around it."""
        names = [name for name in node.input if name]
        graph_inputs = [helper.make_tensor_value_info(name, _tensor_type(value.dtype), value.shape)
                        for name, value in zip(names, inputs)]
        if outputs_info:
            graph_outputs = [helper.make_tensor_value_info(name, _tensor_type(np.dtype(dtype)), shape)
                             for name, (dtype, shape) in zip(node.output, outputs_info)]
        else:
            graph_outputs = [helper.make_empty_tensor_value_info(name) for name in node.output if name]
        graph = helper.make_graph([node], f"run_node_{node.op_type}", graph_inputs, graph_outputs)
        opsets = [helper.make_opsetid("", kwargs.pop("opset_version", onnx.defs.onnx_opset_version()))]
        if node.domain not in ("", "ai.onnx"):
            opsets.append(helper.make_opsetid(node.domain, 1))
        model = helper.make_model(graph, opset_imports=opsets)
        return cls.run_model(model, dict(zip(names, inputs)), device, **kwargs)


prepare = TesseraBackend.prepare
run_model = TesseraBackend.run_model
run_node = TesseraBackend.run_node
supports_device = TesseraBackend.supports_device
