// The C++ half of tessera.training (python/tessera/training/): a TrainingSession over artifact
// files with numpy feeds and outputs, and generate_artifacts over serialized ModelProtos, so the
// artifacts are written by the C++ model writer whatever the installed onnx package's version.
#include "training_bindings.h"

#include <pybind11/stl.h>

#include <memory>
#include <optional>

#include "errors.h"
#include "model/model_loader.h"
#include "numpy_values.h"
#include "training/training_session.h"

namespace tessera::python {
namespace py = pybind11;

namespace {

template <class T>
T checked(Result<T> result) {
  if (!result.is_ok()) throw_status(result.status());
  return std::move(result).value();
}

void check(const Status& status) {
  if (!status.is_ok()) throw_status(status);
}

// `feed` (name -> array) against the step's declared inputs; names it does not take are errors.
Feeds to_feeds(const py::dict& feed, const std::vector<IoInfo>& inputs, const char* step) {
  Feeds feeds;
  for (auto [key, obj] : feed) {
    const std::string name = py::str(key);
    const IoInfo* info = nullptr;
    for (const IoInfo& i : inputs) info = i.name == name ? &i : info;
    if (!info) {
      std::string names;
      for (const IoInfo& i : inputs) names += (names.empty() ? "" : ", ") + i.name;
      throw_invalid_argument(str_cat(step, ": '", name, "' is not one of its inputs (", names, ")"));
    }
    feeds.emplace_back(name, value_from_python(obj, *info));
  }
  return feeds;
}

class PyTrainingSession {
 public:
  PyTrainingSession(const std::string& training_model, const std::string& eval_model, const std::string& optimizer,
                    const std::string& checkpoint) {
    std::optional<Result<std::unique_ptr<TrainingSession>>> made;
    {
      py::gil_scoped_release release;  // the exception is raised below, with the GIL held
      made.emplace(TrainingSession::create(ArtifactPaths{training_model, eval_model, optimizer, checkpoint}));
    }
    session_ = checked(std::move(*made));
  }

  float train_step(const py::dict& feed) {
    Feeds feeds = to_feeds(feed, session_->train_inputs(), "train_step");
    std::optional<Result<float>> loss;
    {
      py::gil_scoped_release release;
      loss.emplace(session_->train_step(feeds));
    }
    return checked(std::move(*loss));
  }

  py::tuple eval_step(const py::dict& feed) {
    Feeds feeds = to_feeds(feed, checked(session_->eval_inputs()), "eval_step");
    std::optional<Result<EvalResult>> result;
    {
      py::gil_scoped_release release;
      result.emplace(session_->eval_step(feeds));
    }
    EvalResult r = checked(std::move(*result));
    py::list outputs;
    for (Value& v : r.outputs) {
      // A copy: an output may be a view of a feed or of a parameter the next step updates.
      if (v.is_tensor()) v = Value(checked(v.tensor().clone()));
      outputs.append(value_to_python(std::move(v)));
    }
    return py::make_tuple(r.loss, outputs);
  }

  py::dict parameters() const {
    py::dict out;
    for (size_t k = 0; k < session_->parameter_names().size(); ++k)
      out[py::str(session_->parameter_names()[k])] = value_to_python(Value(checked(session_->parameter(k).clone())));
    return out;
  }

  std::vector<std::string> input_names(bool eval) {
    std::vector<std::string> names;
    for (const IoInfo& i : eval ? checked(session_->eval_inputs()) : session_->train_inputs()) names.push_back(i.name);
    return names;
  }

  TrainingSession& session() { return *session_; }

 private:
  std::unique_ptr<TrainingSession> session_;
};

Model model_from_bytes(const py::bytes& bytes, const char* what) {
  std::string data = bytes;
  return checked(load_model_bytes(data.data(), data.size(), "", what));
}

void generate(const py::bytes& model, const std::vector<std::string>& requires_grad, const std::string& loss,
              const std::string& optimizer, const std::string& directory, double learning_rate, double weight_decay,
              double momentum, bool nesterov, double beta1, double beta2, double epsilon, int64_t warmup_steps,
              int64_t total_steps, const std::optional<py::bytes>& eval_model, const std::string& output) {
  ArtifactOptions options;
  options.requires_grad = requires_grad;
  options.loss = checked(parse_loss_kind(loss));
  options.output = output;
  if (optimizer != "AdamW" && optimizer != "SGD") throw_invalid_argument("optimizer '" + optimizer + "' is not AdamW or SGD");
  OptimizerConfig& c = options.optimizer.config;
  c.kind = optimizer == "AdamW" ? OptimizerConfig::Kind::adamw : OptimizerConfig::Kind::sgd;
  c.learning_rate = learning_rate;
  c.weight_decay = weight_decay;
  c.momentum = momentum;
  c.nesterov = nesterov;
  c.beta1 = beta1;
  c.beta2 = beta2;
  c.epsilon = epsilon;
  options.optimizer.schedule = {warmup_steps, total_steps};
  if (eval_model) options.eval_model = model_from_bytes(*eval_model, "<eval model>");
  Model m = model_from_bytes(model, "<model>");
  Status status;
  {
    py::gil_scoped_release release;  // the exception is raised below, with the GIL held
    status = generate_artifacts(std::move(m), options, directory);
  }
  check(status);
}

}  // namespace

void register_training(py::module_& m) {
  py::class_<PyTrainingSession>(m, "_TrainingSession")
      .def(py::init<const std::string&, const std::string&, const std::string&, const std::string&>(),
           py::arg("training_model"), py::arg("eval_model"), py::arg("optimizer"), py::arg("checkpoint"))
      .def("train_step", &PyTrainingSession::train_step, py::arg("feed"))
      .def("eval_step", &PyTrainingSession::eval_step, py::arg("feed"))
      .def("optimizer_step", [](PyTrainingSession& s) { check(s.session().optimizer_step()); })
      .def("lazy_reset_grad", [](PyTrainingSession& s) { s.session().lazy_reset_grad(); })
      .def("get_learning_rate", [](PyTrainingSession& s) { return s.session().learning_rate(); })
      .def("set_learning_rate", [](PyTrainingSession& s, double lr) {
        if (!(lr >= 0)) throw_invalid_argument("set_learning_rate: the learning rate must be >= 0");
        s.session().set_learning_rate(lr);
      })
      .def("step", [](PyTrainingSession& s) { return s.session().step(); })
      .def("save_checkpoint", [](PyTrainingSession& s, const std::string& path) { check(s.session().save_checkpoint(path)); })
      .def("load_checkpoint", [](PyTrainingSession& s, const std::string& path) { check(s.session().load_checkpoint(path)); })
      .def("export_inference_model", [](PyTrainingSession& s, const std::string& path) { check(s.session().export_inference_model(path)); })
      .def("parameters", &PyTrainingSession::parameters)
      .def("input_names", &PyTrainingSession::input_names, py::arg("eval"))
      .def("eval_output_names", [](PyTrainingSession& s) { return checked(s.session().eval_output_names()); });
  m.def("_generate_artifacts", &generate, py::arg("model"), py::arg("requires_grad"), py::arg("loss"), py::arg("optimizer"),
        py::arg("directory"), py::arg("learning_rate"), py::arg("weight_decay"), py::arg("momentum"), py::arg("nesterov"),
        py::arg("beta1"), py::arg("beta2"), py::arg("epsilon"), py::arg("warmup_steps"), py::arg("total_steps"),
        py::arg("eval_model"), py::arg("output"));
}

}  // namespace tessera::python
