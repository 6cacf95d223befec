"""InferenceSession, SessionOptions and the provider functions, as ONNX Runtime spells them, over
the C++ session in tessera._tessera."""

import asyncio
import datetime
import enum
import os
import warnings

from tessera import _tessera

_CPU = "CPUExecutionProvider"

# ONNX Runtime's provider names. A script may list any of them (CUDA first, CPU as fallback):
# those Tessera does not have are skipped with a warning, as ONNX Runtime does for providers it
# was not built with; a name outside this list is an error.
_ORT_PROVIDERS = [
    "TensorrtExecutionProvider", "CUDAExecutionProvider", "MIGraphXExecutionProvider", "ROCMExecutionProvider",
    "OpenVINOExecutionProvider", "DnnlExecutionProvider", "VitisAIExecutionProvider", "QNNExecutionProvider",
    "NnapiExecutionProvider", "JsExecutionProvider", "CoreMLExecutionProvider", "ArmNNExecutionProvider",
    "ACLExecutionProvider", "DmlExecutionProvider", "RknpuExecutionProvider", "WebNNExecutionProvider",
    "WebGpuExecutionProvider", "XnnpackExecutionProvider", "CANNExecutionProvider", "AzureExecutionProvider",
    _CPU,
]


def get_all_providers():
    """Every provider name ONNX Runtime knows (Tessera accepts them all in `providers`)."""
    return list(_ORT_PROVIDERS)


def get_available_providers():
    """The providers this build runs on: ['CPUExecutionProvider']."""
    return [_CPU]


def get_device():
    """The device this build runs on: 'CPU'."""
    return "CPU"


class GraphOptimizationLevel(enum.IntEnum):
    """How far the graph is rewritten before it runs (ONNX Runtime's values)."""

    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


# GraphOptimizationLevel -> the C++ OptimizationLevel (disabled, basic, extended, all).
_LEVELS = {0: 0, 1: 1, 2: 2, 99: 3}


class ExecutionMode(enum.IntEnum):
    """How a run orders the graph's nodes: ORT_SEQUENTIAL one at a time (the default), ORT_PARALLEL
    independent nodes at once on inter_op_num_threads threads (If/Loop/Scan bodies stay sequential)."""

    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


class SessionOptions:
    """Options for creating an InferenceSession (ONNX Runtime's SessionOptions).

    graph_optimization_level: a GraphOptimizationLevel (default ORT_ENABLE_ALL).
    intra_op_num_threads: threads one op may use; 0 (default) = one per core.
    execution_mode: ExecutionMode.ORT_SEQUENTIAL (default) or ORT_PARALLEL.
    inter_op_num_threads: with ORT_PARALLEL, threads running independent nodes at once; 0 (default) =
        one per core. Unused in sequential mode.
    optimized_model_filepath: when set, the graph as optimized is saved there (ONNX).
    enable_profiling, profile_file_prefix: profile the session; end_profiling() writes a Chrome
        trace to PREFIX_DATE_TIME.json and returns that path.
    log_severity_level: 0 verbose, 1 info, 2 warning (default), 3 error, 4 fatal.
    log_verbosity_level, logid, add_session_config_entry(): accepted; not used.
    add_free_dimension_override_by_name(name, value): fixes the symbolic input dim `name` to `value`
        (ONNX Runtime's), so shapes are known when the session is created.
    warm_up (Tessera's): session creation fills the session's buffer pool with the blocks a run at
        the declared shapes (dims not fixed by overrides taken as 1) takes, their pages touched,
        computing nothing, so the first run at that shape does not page-fault on fresh memory
        (default True; False leaves that cost to the first run).
    """

    __slots__ = ("graph_optimization_level", "intra_op_num_threads", "inter_op_num_threads", "execution_mode",
                 "optimized_model_filepath", "enable_profiling", "profile_file_prefix", "log_severity_level",
                 "log_verbosity_level", "logid", "_config", "_free_dims", "warm_up")

    def __init__(self):
        self.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.intra_op_num_threads = 0
        self.inter_op_num_threads = 0
        self.execution_mode = ExecutionMode.ORT_SEQUENTIAL
        self.optimized_model_filepath = ""
        self.enable_profiling = False
        self.profile_file_prefix = "onnxruntime_profile_"
        self.log_severity_level = 2
        self.log_verbosity_level = 0
        self.logid = ""
        self._config = {}
        self._free_dims = {}
        self.warm_up = True

    def add_free_dimension_override_by_name(self, name, value):
        self._free_dims[str(name)] = int(value)

    def add_session_config_entry(self, key, value):
        self._config[str(key)] = str(value)

    def get_session_config_entry(self, key):
        return self._config[key]

    def _state(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def _copy(self):
        copy = SessionOptions()
        for name, value in self._state().items():
            setattr(copy, name, dict(value) if name in ("_config", "_free_dims") else value)
        return copy

    def _parallel(self):
        mode = int(self.execution_mode)
        if mode not in (ExecutionMode.ORT_SEQUENTIAL, ExecutionMode.ORT_PARALLEL):
            raise _tessera.InvalidArgument(f"execution_mode {mode} is not one of ExecutionMode's values (0, 1)")
        return mode == ExecutionMode.ORT_PARALLEL

    def _level(self):
        level = int(self.graph_optimization_level)
        if level not in _LEVELS:
            raise _tessera.InvalidArgument(
                f"graph_optimization_level {level} is not one of GraphOptimizationLevel's values (0, 1, 2, 99)")
        return _LEVELS[level]


class NodeArg:
    """A graph input or output: name, type ('tensor(float)') and shape (ints for fixed dims,
    strings for symbolic ones, None for unknown ones; None when even the rank is unknown)."""

    def __init__(self, name, type, shape):
        self.name = name
        self.type = type
        self.shape = shape

    def __repr__(self):
        return f"NodeArg(name={self.name!r}, type={self.type!r}, shape={self.shape!r})"


class ModelMetadata:
    """What the model file says about itself (get_modelmeta())."""

    def __init__(self, producer_name, producer_version, graph_name, graph_description, domain, description,
                 version, custom_metadata_map):
        self.producer_name = producer_name
        self.producer_version = producer_version
        self.graph_name = graph_name
        self.graph_description = graph_description
        self.domain = domain
        self.description = description
        self.version = version
        self.custom_metadata_map = custom_metadata_map


def _resolve_providers(providers, provider_options):
    """The providers to run on, from ONNX Runtime's forms: names, or (name, options) pairs."""
    if providers is None:
        return [_CPU]
    chosen = []
    for entry in providers:
        name = entry[0] if isinstance(entry, (tuple, list)) else entry
        if not isinstance(name, str) or name not in _ORT_PROVIDERS:
            raise _tessera.InvalidArgument(
                f"unknown execution provider {name!r}; available providers: {get_available_providers()}")
        if name in get_available_providers():
            chosen.append(name)
        else:
            warnings.warn(f"Specified provider '{name}' is not in available provider names. "
                          f"Available providers: {get_available_providers()}")
    if provider_options is not None and len(provider_options) != len(providers):
        raise _tessera.InvalidArgument("provider_options must have one entry per provider")
    if not chosen:
        raise _tessera.InvalidArgument(
            f"none of the providers {list(providers)} is available; available providers: {get_available_providers()}")
    return chosen


class InferenceSession:
    """Loads a model (a path, or the bytes of a ModelProto) and runs it.

    run() releases the GIL: one session may run from many threads at once. Inputs that are
    C-contiguous numpy arrays are read in place; outputs are numpy arrays that own the memory the
    run wrote (no copy). A session pickles as its model bytes and options.
    """

    def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs):
        if isinstance(path_or_bytes, (str, os.PathLike)):
            model = os.fspath(path_or_bytes)
        elif isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            model = bytes(path_or_bytes)
        else:
            raise TypeError(f"Unable to load from type '{type(path_or_bytes)}'")
        options = sess_options._copy() if sess_options is not None else SessionOptions()
        self._model = model
        self._sess_options = options
        self._providers = _resolve_providers(providers, provider_options)
        self._profile_path = ""
        if options.enable_profiling:
            stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
            self._profile_path = f"{options.profile_file_prefix}_{stamp}.json"
        self._sess = _tessera._Session(model, options._level(), int(options.intra_op_num_threads),
                                       options._parallel(), int(options.inter_op_num_threads),
                                       os.fspath(options.optimized_model_filepath), self._profile_path,
                                       int(options.log_severity_level), dict(options._free_dims),
                                       bool(options.warm_up))
        self._inputs = [NodeArg(**d) for d in self._sess.inputs()]
        self._outputs = [NodeArg(**d) for d in self._sess.outputs()]

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def get_overridable_initializers(self):
        """Initializers that may be fed: Tessera feeds graph inputs only, so none."""
        return []

    def get_modelmeta(self):
        return ModelMetadata(**self._sess.metadata())

    def get_providers(self):
        return list(self._providers)

    def get_provider_options(self):
        return {name: {} for name in self._providers}

    def get_session_options(self):
        return self._sess_options

    def run(self, output_names, input_feed, run_options=None):
        """Runs the model on `input_feed` ({input name: array, list, dict or None}); returns the
        outputs named in `output_names` (None or empty: all, in graph order) as a list."""
        return self._sess.run(list(output_names or []), dict(input_feed), run_options)

    async def run_async(self, output_names, input_feed, run_options=None):
        """run() on a worker thread, awaitable: `outputs = await session.run_async(None, feeds)`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.run, output_names, input_feed, run_options)

    def end_profiling(self):
        """Stops profiling and writes the trace; returns its path ('' when profiling is off)."""
        if not self._profile_path:
            return ""
        return self._sess.end_profiling()

    def __getstate__(self):
        model = self._model
        if isinstance(model, str):
            # Re-created from the bytes, so the pickle does not depend on the file (a model with
            # external data cannot be loaded from bytes, and fails to unpickle saying so).
            with open(model, "rb") as f:
                model = f.read()
        return {"model": model, "options": self._sess_options._state(), "providers": self._providers}

    def __setstate__(self, state):
        options = SessionOptions()
        for name, value in state["options"].items():
            setattr(options, name, value)
        self.__init__(state["model"], options, state["providers"])
