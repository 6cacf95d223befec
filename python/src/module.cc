// tessera._tessera: the C++ half of the Python package. It holds a Session, converts feeds and
// outputs (numpy_values.h) and turns Status into exceptions (errors.h); the ONNX Runtime-shaped
// API (InferenceSession, SessionOptions, providers) is Python, in tessera/session.py.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "errors.h"
#include "gradient_bindings.h"
#include "gradient_runner.h"
#include "numpy_values.h"
#include "training_bindings.h"
#include "tessera/model_metadata.h"
#include "tessera/session.h"

namespace tessera::python {
namespace py = pybind11;

namespace {

// ONNX Runtime's RunOptions, plus a timeout. `terminate` is shared with the runs given these
// options, so setting it from another thread stops them.
struct PyRunOptions {
  std::shared_ptr<std::atomic<bool>> terminate = std::make_shared<std::atomic<bool>>(false);
  double timeout_ms = 0;  // 0: none
  std::string run_tag;
  int log_severity_level = 2;
  int log_verbosity_level = 0;

  RunOptions to_run_options() const {
    RunOptions options;
    options.terminate = terminate;
    if (timeout_ms > 0)
      options.deadline = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double, std::milli>(timeout_ms));
    return options;
  }
};

py::dict describe(const IoInfo& info) {
  py::list shape;
  for (size_t i = 0; i < info.shape.size(); ++i) {
    if (info.shape[i] >= 0)
      shape.append(info.shape[i]);
    else if (!info.dim_names[i].empty())
      shape.append(info.dim_names[i]);
    else
      shape.append(py::none());
  }
  py::dict out;
  out["name"] = info.name;
  out["type"] = ort_type_string(info);
  out["shape"] = info.has_shape ? py::object(shape) : py::object(py::none());
  return out;
}

class PySession {
 public:
  // `model` is a path (str) or a serialized ModelProto (bytes).
  PySession(const py::object& model, int level, int intra_op_threads, bool parallel, int inter_op_threads,
            const std::string& optimized_model_path, const std::string& profile_path, int log_severity,
            const std::map<std::string, int64_t>& free_dimension_overrides, bool warm_up) {
    SessionOptions options;
    if (level < 0 || level > 3) throw_invalid_argument(str_cat("graph optimization level ", level, " is not 0..3"));
    if (log_severity < 0 || log_severity > 4)
      throw_invalid_argument(str_cat("log severity level ", log_severity, " is not 0..4"));
    options.optimization_level = static_cast<OptimizationLevel>(level);
    options.intra_op_threads = intra_op_threads;
    options.execution_mode = parallel ? ExecutionMode::parallel : ExecutionMode::sequential;
    options.inter_op_threads = inter_op_threads;
    options.optimized_model_path = optimized_model_path;
    options.profile_path = profile_path;
    options.log_severity = static_cast<LogSeverity>(log_severity);
    options.free_dimension_overrides = free_dimension_overrides;
    options.warm_up = warm_up;
    std::optional<Result<Session>> loaded;
    if (py::isinstance<py::bytes>(model)) {
      char* data = nullptr;
      Py_ssize_t size = 0;
      PyBytes_AsStringAndSize(model.ptr(), &data, &size);  // immutable, and the caller holds it
      py::gil_scoped_release release;
      loaded.emplace(Session::load_from_bytes(data, static_cast<size_t>(size), options));
    } else {
      const std::string path = py::str(model);
      py::gil_scoped_release release;
      loaded.emplace(Session::load(path, options));
    }
    if (!loaded->is_ok()) throw_status(loaded->status());
    session_ = std::make_unique<Session>(std::move(*loaded).value());
  }

  py::list inputs() const { return describe_all(session_->inputs()); }
  py::list outputs() const { return describe_all(session_->outputs()); }

  py::dict metadata() const {
    const ModelMetadata& meta = session_->metadata();
    py::dict out;
    out["producer_name"] = meta.producer_name;
    out["producer_version"] = meta.producer_version;
    out["graph_name"] = meta.graph_name;
    out["graph_description"] = meta.graph_description;
    out["domain"] = meta.domain;
    out["description"] = meta.description;
    out["version"] = meta.version;
    out["custom_metadata_map"] = meta.custom_metadata_map;
    return out;
  }

  // Feeds are converted under the GIL; the run itself releases it, so other Python threads
  // (and other runs of this session) go on meanwhile.
  py::list run(const std::vector<std::string>& output_names, const py::dict& input_feed,
               const PyRunOptions* run_options) const {
    Feeds feeds;
    for (auto [key, obj] : input_feed) {
      const std::string name = py::str(key);
      const IoInfo* info = find_input(name);
      if (!info)
        throw_invalid_argument(
            str_cat("input '", name, "' is not an input of the model (inputs: ", input_names(), ")"));
      feeds.emplace_back(name, value_from_python(obj, *info));
    }
    const RunOptions options = run_options ? run_options->to_run_options() : RunOptions();
    std::optional<Result<std::vector<Value>>> result;
    {
      py::gil_scoped_release release;
      result.emplace(session_->run(feeds, output_names, options));
    }
    if (!result->is_ok()) throw_status(result->status());
    py::list outputs;
    for (Value& value : result->value()) {
      detach_from_feeds(value, feeds);
      outputs.append(value_to_python(std::move(value)));
    }
    return outputs;
  }

  std::string end_profiling() const {
    auto path = session_->end_profiling();
    if (!path.is_ok()) throw_status(path.status());
    return path.value();
  }

 private:
  static py::list describe_all(const std::vector<IoInfo>& infos) {
    py::list out;
    for (const IoInfo& info : infos) out.append(describe(info));
    return out;
  }
  const IoInfo* find_input(const std::string& name) const {
    for (const IoInfo& info : session_->inputs())
      if (info.name == name) return &info;
    return nullptr;
  }
  std::string input_names() const {
    std::string names;
    for (const IoInfo& info : session_->inputs()) names += (names.empty() ? "'" : ", '") + info.name + "'";
    return names;
  }

  std::unique_ptr<Session> session_;
};

}  // namespace

PYBIND11_MODULE(_tessera, m) {
  m.doc() = "Tessera's C++ session; use the tessera package (InferenceSession) rather than this module.";
  register_errors(m);
  register_gradient_bindings(m);
  register_gradient_runner(m);
  register_training(m);

  py::class_<PyRunOptions>(m, "RunOptions", "Options for one run (ONNX Runtime's RunOptions, plus timeout_ms).")
      .def(py::init<>())
      .def_property(
          "terminate", [](const PyRunOptions& o) { return o.terminate->load(); },
          [](PyRunOptions& o, bool value) { o.terminate->store(value); },
          "Set to True, from any thread, to stop the runs using these options (they raise tessera.Cancelled); "
          "runs given these options fail until it is set back to False.")
      .def_readwrite("timeout_ms", &PyRunOptions::timeout_ms,
                     "A run still going this many milliseconds after it started raises tessera.DeadlineExceeded; "
                     "0 (the default) means no limit. Not in ONNX Runtime.")
      .def_readwrite("run_tag", &PyRunOptions::run_tag,
                     "A name for the run (accepted for ONNX Runtime scripts; not used).")
      .def_readwrite("log_severity_level", &PyRunOptions::log_severity_level,
                     "Accepted for ONNX Runtime scripts; not used (the session's level applies).")
      .def_readwrite("log_verbosity_level", &PyRunOptions::log_verbosity_level,
                     "Accepted for ONNX Runtime scripts; not used.");

  py::class_<PySession>(m, "_Session")
      .def(py::init<const py::object&, int, int, bool, int, const std::string&, const std::string&, int,
                    const std::map<std::string, int64_t>&, bool>(),
           py::arg("model"), py::arg("level"), py::arg("intra_op_threads"), py::arg("parallel"),
           py::arg("inter_op_threads"), py::arg("optimized_model_path"), py::arg("profile_path"),
           py::arg("log_severity"), py::arg("free_dimension_overrides"), py::arg("warm_up"))
      .def("inputs", &PySession::inputs)
      .def("outputs", &PySession::outputs)
      .def("metadata", &PySession::metadata)
      .def("run", &PySession::run, py::arg("output_names"), py::arg("input_feed"), py::arg("run_options") = nullptr)
      .def("end_profiling", &PySession::end_profiling);
}

}  // namespace tessera::python
