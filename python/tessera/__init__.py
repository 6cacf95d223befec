"""Tessera's Python API, shaped like ONNX Runtime's: ``import tessera as onnxruntime`` runs typical
onnxruntime scripts unchanged.

    import tessera
    session = tessera.InferenceSession("model.onnx")
    outputs = session.run(None, {"image": array})
"""

from tessera._tessera import (
    Cancelled,
    DeadlineExceeded,
    Fail,
    InvalidArgument,
    InvalidGraph,
    NoSuchFile,
    NotImplemented,
    RunOptions,
    RuntimeException,
    TesseraError,
)
from tessera.session import (
    ExecutionMode,
    GraphOptimizationLevel,
    InferenceSession,
    ModelMetadata,
    NodeArg,
    SessionOptions,
    get_all_providers,
    get_available_providers,
    get_device,
)

__version__ = "0.1.0"

__all__ = [
    "Cancelled",
    "DeadlineExceeded",
    "ExecutionMode",
    "Fail",
    "GraphOptimizationLevel",
    "InferenceSession",
    "InvalidArgument",
    "InvalidGraph",
    "ModelMetadata",
    "NoSuchFile",
    "NodeArg",
    "NotImplemented",
    "RunOptions",
    "RuntimeException",
    "SessionOptions",
    "TesseraError",
    "get_all_providers",
    "get_available_providers",
    "get_device",
]
