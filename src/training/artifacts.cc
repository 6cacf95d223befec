#include "training/artifacts.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "model/model_writer.h"
#include "training/checkpoint.h"
#include "training/gradient_graph.h"
#include "training/trainable_graph.h"

namespace tessera {
namespace {

constexpr const char* kTrainingModel = "training_model.onnx";
constexpr const char* kEvalModel = "eval_model.onnx";
constexpr const char* kOptimizer = "optimizer.cfg";
constexpr const char* kCheckpoint = "checkpoint.ckpt";

std::string join(const std::string& directory, const char* file) { return (std::filesystem::path(directory) / file).string(); }

Node make_node(const std::string& name, const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

// Every name the graph defines, so the values the loss adds do not clash with the model's.
std::set<std::string> defined_names(const Graph& g) {
  std::set<std::string> names;
  for (const ValueInfo& v : g.inputs) names.insert(v.name);
  for (const auto& [name, t] : g.initializers) names.insert(name);
  for (const Node& n : g.nodes) names.insert(n.outputs.begin(), n.outputs.end());
  return names;
}

Result<double> parse_number(const std::string& text, const std::string& where) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0)
    return invalid_argument(where, ": '", text, "' is not a number");
  return v;
}

}  // namespace

ArtifactPaths ArtifactPaths::in(const std::string& directory) {
  ArtifactPaths p;
  p.training_model = join(directory, kTrainingModel);
  const std::string eval = join(directory, kEvalModel);
  std::error_code ec;
  if (std::filesystem::exists(eval, ec)) p.eval_model = eval;
  p.optimizer = join(directory, kOptimizer);
  p.checkpoint = join(directory, kCheckpoint);
  return p;
}

Status write_optimizer_config(const OptimizerArtifact& o, const std::string& path) {
  std::ofstream out(path);
  if (!out) return io_error("optimizer config '", path, "': cannot write");
  const OptimizerConfig& c = o.config;
  out << std::setprecision(17) << "optimizer " << (c.kind == OptimizerConfig::Kind::adamw ? "adamw" : "sgd") << "\n"
      << "learning_rate " << c.learning_rate << "\nweight_decay " << c.weight_decay << "\nmomentum " << c.momentum
      << "\nnesterov " << (c.nesterov ? 1 : 0) << "\nbeta1 " << c.beta1 << "\nbeta2 " << c.beta2 << "\nepsilon "
      << c.epsilon << "\nwarmup_steps " << o.schedule.warmup_steps << "\ntotal_steps " << o.schedule.total_steps << "\n";
  if (!out) return io_error("optimizer config '", path, "': write failed");
  return Status::ok();
}

Result<OptimizerArtifact> read_optimizer_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return io_error("optimizer config '", path, "': cannot open");
  OptimizerArtifact o;
  OptimizerConfig& c = o.config;
  std::map<std::string, std::function<Status(double)>> numbers{
      {"learning_rate", [&](double v) { c.learning_rate = v; return Status::ok(); }},
      {"weight_decay", [&](double v) { c.weight_decay = v; return Status::ok(); }},
      {"momentum", [&](double v) { c.momentum = v; return Status::ok(); }},
      {"nesterov", [&](double v) { c.nesterov = v != 0; return Status::ok(); }},
      {"beta1", [&](double v) { c.beta1 = v; return Status::ok(); }},
      {"beta2", [&](double v) { c.beta2 = v; return Status::ok(); }},
      {"epsilon", [&](double v) { c.epsilon = v; return Status::ok(); }},
      {"warmup_steps", [&](double v) { o.schedule.warmup_steps = static_cast<int64_t>(v); return Status::ok(); }},
      {"total_steps", [&](double v) { o.schedule.total_steps = static_cast<int64_t>(v); return Status::ok(); }},
  };
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = "optimizer config '" + path + "' line " + std::to_string(number);
    std::istringstream words(line);
    std::string key, value, extra;
    if (!(words >> key) || key[0] == '#') continue;
    if (!(words >> value) || (words >> extra)) return invalid_argument(where, ": expected 'key value'");
    if (key == "optimizer") {
      if (value != "adamw" && value != "sgd") return invalid_argument(where, ": optimizer '", value, "' is not adamw or sgd");
      c.kind = value == "adamw" ? OptimizerConfig::Kind::adamw : OptimizerConfig::Kind::sgd;
      continue;
    }
    auto it = numbers.find(key);
    if (it == numbers.end()) return invalid_argument(where, ": unknown key '", key, "'");
    TS_ASSIGN_OR_RETURN(double v, parse_number(value, where));
    TS_RETURN_IF_ERROR(it->second(v));
  }
  if (c.learning_rate < 0 || c.beta1 < 0 || c.beta1 >= 1 || c.beta2 < 0 || c.beta2 >= 1 || c.epsilon < 0)
    return invalid_argument("optimizer config '", path, "': learning_rate, beta1, beta2 or epsilon out of range");
  return o;
}

Result<LossKind> parse_loss_kind(const std::string& name) {
  if (name == "CrossEntropyLoss") return LossKind::cross_entropy;
  if (name == "MSELoss") return LossKind::mse;
  if (name == "BCEWithLogitsLoss") return LossKind::bce_with_logits;
  if (name == "L1Loss") return LossKind::l1;
  return invalid_argument("loss '", name, "' is not CrossEntropyLoss, MSELoss, BCEWithLogitsLoss or L1Loss");
}

Result<Model> append_loss(Model model, LossKind loss, const std::string& output, const std::string& target) {
  Graph& g = model.graph;
  const std::string where = "model '" + model.source + "'";
  if (g.outputs.empty()) return invalid_argument(where, ": has no output to compute a loss from");
  const ValueInfo* out = &g.outputs[0];
  if (!output.empty()) {
    out = nullptr;
    for (const ValueInfo& v : g.outputs) out = v.name == output ? &v : out;
    if (!out) return invalid_argument(where, ": has no output '", output, "' to compute the loss from");
  }
  const std::string x = out->name;
  std::set<std::string> taken = defined_names(g);
  if (taken.count(target)) return invalid_argument(where, ": already has a value named '", target, "' (the loss target)");
  std::string loss_name = "loss";
  for (int k = 1; taken.count(loss_name); ++k) loss_name = "loss_" + std::to_string(k);
  auto fresh = [&](const std::string& base) {
    std::string name = loss_name + "/" + base;
    for (int k = 1; taken.count(name); ++k) name = loss_name + "/" + base + "_" + std::to_string(k);
    taken.insert(name);
    return name;
  };

  ValueInfo t;
  t.name = target;
  t.type.kind = TypeInfo::Kind::tensor;
  const std::optional<std::vector<Dim>>& shape = out->type.shape;
  if (out->type.elem_type != DataType::float32 && out->type.elem_type != DataType::undefined)
    return invalid_argument(where, ": output '", x, "' is ", out->type.to_string(), "; the loss needs float32");
  std::vector<Node> nodes;
  auto add = [&](const std::string& op, std::vector<std::string> inputs, const std::string& result = "") {
    const std::string name = result.empty() ? fresh(op) : result;
    nodes.push_back(make_node(name, op, std::move(inputs), {name}));
    return name;
  };
  auto mean_of = [&](const std::string& v) {
    add("ReduceMean", {v}, loss_name);
    nodes.back().attributes["keepdims"] = int_attr("keepdims", 0);
  };
  if (loss == LossKind::cross_entropy) {
    if (model.opset_version("") < 12)
      return invalid_argument(where, ": CrossEntropyLoss needs opset 12 or later (SoftmaxCrossEntropyLoss); it imports ", model.opset_version(""));
    t.type.elem_type = DataType::int64;
    if (shape) {
      if (shape->size() < 2) return invalid_argument(where, ": CrossEntropyLoss needs output '", x, "' of rank 2 or more [N, C, ...]");
      std::vector<Dim> dims = *shape;
      dims.erase(dims.begin() + 1);
      t.type.shape = dims;
    }
    add("SoftmaxCrossEntropyLoss", {x, target}, loss_name);
  } else {
    t.type.elem_type = DataType::float32;
    t.type.shape = shape;
    if (loss == LossKind::mse) {
      const std::string d = add("Sub", {x, target});
      mean_of(add("Mul", {d, d}));
    } else if (loss == LossKind::l1) {
      mean_of(add("Abs", {add("Sub", {x, target})}));
    } else {  // mean(max(x, 0) - x t + log(1 + exp(-|x|))): no overflow for large |x|
      const std::string one = fresh("one");
      g.initializers[one] = Tensor::scalar(DataType::float32, 1.0f);
      const std::string softplus = add("Log", {add("Add", {add("Exp", {add("Neg", {add("Abs", {x})})}), one})});
      mean_of(add("Add", {add("Sub", {add("Relu", {x}), add("Mul", {x, target})}), softplus}));
    }
  }
  g.inputs.push_back(t);
  for (Node& n : nodes) g.nodes.push_back(std::move(n));
  ValueInfo l;
  l.name = loss_name;
  l.type.kind = TypeInfo::Kind::tensor;
  l.type.elem_type = DataType::float32;
  l.type.shape = std::vector<Dim>{};
  g.outputs.insert(g.outputs.begin(), l);
  return model;
}

Status generate_artifacts(Model model, const ArtifactOptions& options, const std::string& directory) {
  const std::string where = "model '" + model.source + "'";
  if (options.requires_grad.empty()) return invalid_argument(where, ": requires_grad names no initializer");
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) return io_error("artifact directory '", directory, "' does not exist");
  Checkpoint checkpoint;
  checkpoint.learning_rate = options.optimizer.config.learning_rate;
  for (const std::string& name : options.requires_grad) {
    auto it = model.graph.initializers.find(name);
    if (it == model.graph.initializers.end() || it->second.dtype() != DataType::float32)
      return invalid_argument(where, ": requires_grad '", name, "' is not a float32 initializer");
    if (std::count(checkpoint.names.begin(), checkpoint.names.end(), name))
      return invalid_argument(where, ": requires_grad names '", name, "' twice");
    TS_ASSIGN_OR_RETURN(Tensor copy, it->second.clone());
    checkpoint.names.push_back(name);
    checkpoint.params.push_back(std::move(copy));
  }
  TS_ASSIGN_OR_RETURN(Model training, append_loss(std::move(model), options.loss, options.output));
  {  // fail here, naming the op, when the gradient graph cannot be built, not when training starts
    Model probe = training;
    Status prepared = feed_and_fold(probe, options.requires_grad);
    if (!prepared.is_ok()) return prepared.with_context(where);
    GradientRequest request{{training.graph.outputs[0].name}, {""}, options.requires_grad, "grad"};
    Result<GradientGraph> built = append_gradients(probe.graph, probe, request);
    if (!built.is_ok()) return built.status().with_context(where);
  }
  TS_RETURN_IF_ERROR(save_model(training, join(directory, kTrainingModel)));
  if (options.eval_model) {
    for (const std::string& name : options.requires_grad)
      if (!options.eval_model->graph.initializers.count(name))
        return invalid_argument("eval model: has no initializer '", name, "', a trainable parameter; it would evaluate "
                                "without the trained value (did the exporter merge equal initializers?)");
    TS_ASSIGN_OR_RETURN(Model eval, append_loss(*options.eval_model, options.loss, options.output));
    TS_RETURN_IF_ERROR(save_model(eval, join(directory, kEvalModel)));
  } else {
    std::filesystem::remove(join(directory, kEvalModel), ec);  // a stale one would be picked up
  }
  TS_RETURN_IF_ERROR(write_optimizer_config(options.optimizer, join(directory, kOptimizer)));
  return write_checkpoint(checkpoint, join(directory, kCheckpoint));
}

}  // namespace tessera
