#include "training/training_session.h"

#include <algorithm>

#include "model/model_loader.h"
#include "model/model_writer.h"
#include "providers/cpu/cpu_provider.h"
#include "training/gradient_graph.h"
#include "training/trainable_graph.h"

namespace tessera {
namespace {

// Declares the initializer `name` as a graph input (so the session feeds it each step).
void declare_as_input(Graph& graph, const std::string& name) {
  for (const ValueInfo& v : graph.inputs)
    if (v.name == name) return;
  const Tensor& t = graph.initializers.at(name);
  ValueInfo input;
  input.name = name;
  input.type.kind = TypeInfo::Kind::tensor;
  input.type.elem_type = t.dtype();
  std::vector<Dim> dims;
  for (int64_t d : t.shape()) dims.push_back(Dim{d, ""});
  input.type.shape = dims;
  graph.inputs.push_back(input);
}

bool is_output(const Graph& graph, const std::string& name) {
  return std::any_of(graph.outputs.begin(), graph.outputs.end(), [&](const ValueInfo& v) { return v.name == name; });
}

Result<std::unique_ptr<SessionState>> cpu_session(Model model) {
  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.optimization_level = OptimizationLevel::basic;
  options.warm_up = false;  // a step on zero parameters would buy nothing the first step does not
  return SessionState::create(std::move(model), std::move(eps), options);
}

// An eval model must read every trained parameter by its name, or it would evaluate stale
// weights: exporters may merge equal initializers (torch in eval mode ties the layers of a
// freshly made nn.TransformerEncoder, whose copies start equal).
Status check_reads_parameters(const Model& eval, const std::vector<std::string>& names) {
  for (const std::string& name : names)
    if (!eval.graph.initializers.count(name))
      return invalid_argument("eval model '", eval.source, "': has no initializer '", name,
                              "', a trainable parameter; it would evaluate without the trained value");
  return Status::ok();
}

Result<float> scalar_loss(const Value& v, const std::string& name) {
  if (!v.is_tensor() || v.tensor().dtype() != DataType::float32 || v.tensor().size() != 1)
    return invalid_argument("the loss '", name, "' must be a float32 scalar");
  return v.tensor().data<float>()[0];
}

}  // namespace

Result<std::unique_ptr<TrainingSession>> TrainingSession::create(Model model, const std::string& loss,
                                                                 const std::vector<std::string>& trainable,
                                                                 OptimizerConfig optimizer, LinearSchedule schedule,
                                                                 std::optional<Model> eval_model) {
  auto context = [&](const Status& s) { return s.with_context("training model '" + model.source + "'"); };
  std::unique_ptr<TrainingSession> ts(new TrainingSession(optimizer));
  ts->schedule_ = schedule;
  ts->loss_ = loss;
  Graph& graph = model.graph;
  if (!is_output(graph, loss)) return context(invalid_argument("the loss '", loss, "' is not an output of the graph"));
  for (const std::string& name : trainable) {
    auto it = graph.initializers.find(name);
    if (it == graph.initializers.end() || it->second.dtype() != DataType::float32)
      return context(invalid_argument("trainable '", name, "' is not a float32 initializer"));
    if (std::count(ts->names_.begin(), ts->names_.end(), name)) return context(invalid_argument("trainable '", name, "' is named twice"));
    TS_ASSIGN_OR_RETURN(Tensor own, it->second.clone());  // the session's weights, updated in place
    ts->params_.push_back(std::move(own));
    ts->names_.push_back(name);
  }
  for (const BufferUpdate& b : running_statistics(graph, model)) {
    if (std::count(trainable.begin(), trainable.end(), b.name) || graph.initializers.at(b.name).dtype() != DataType::float32) continue;
    TS_ASSIGN_OR_RETURN(Tensor own, graph.initializers.at(b.name).clone());
    ts->buffers_.push_back(std::move(own));
    ts->buffer_updates_.push_back(b);
  }
  ts->has_eval_model_ = eval_model.has_value();
  ts->forward_ = eval_model ? std::move(*eval_model) : model;
  ts->eval_loss_ = loss;
  if (ts->has_eval_model_ && !is_output(ts->forward_.graph, loss))
    return invalid_argument("eval model '", ts->forward_.source, "': the loss '", loss, "' is not an output of the graph");
  if (ts->has_eval_model_) TS_RETURN_IF_ERROR(check_reads_parameters(ts->forward_, trainable));

  std::vector<std::string> fed;
  for (size_t k = 0; k < ts->names_.size() + ts->buffers_.size(); ++k) fed.push_back(ts->fed_name(k));
  Status prepared = feed_and_fold(model, fed);
  if (!prepared.is_ok()) return context(prepared);
  GradientRequest request{{loss}, {""}, trainable, "grad"};
  Result<GradientGraph> built = append_gradients(graph, model, request);
  if (!built.is_ok()) return context(built.status());
  graph.outputs.clear();
  graph.outputs.push_back(ValueInfo{loss, {}});
  for (const std::string& g : built->x_grads) graph.outputs.push_back(ValueInfo{g, {}});
  for (const BufferUpdate& b : ts->buffer_updates_) graph.outputs.push_back(ValueInfo{b.update, {}});
  TS_ASSIGN_OR_RETURN(ts->session_, cpu_session(std::move(model)));
  return ts;
}

Result<std::unique_ptr<TrainingSession>> TrainingSession::create(const ArtifactPaths& a) {
  TS_ASSIGN_OR_RETURN(Model training, load_model_file(a.training_model));
  std::optional<Model> eval;
  if (!a.eval_model.empty()) {
    TS_ASSIGN_OR_RETURN(Model m, load_model_file(a.eval_model));
    eval = std::move(m);
  }
  TS_ASSIGN_OR_RETURN(OptimizerArtifact optimizer, read_optimizer_config(a.optimizer));
  TS_ASSIGN_OR_RETURN(Checkpoint checkpoint, read_checkpoint(a.checkpoint));
  if (training.graph.outputs.empty())
    return invalid_argument("training model '", a.training_model, "': has no output (output 0 must be the loss)");
  if (eval && eval->graph.outputs.empty())
    return invalid_argument("eval model '", a.eval_model, "': has no output (output 0 must be the loss)");
  const std::string loss = training.graph.outputs[0].name;
  const std::string eval_loss = eval ? eval->graph.outputs[0].name : loss;
  TS_ASSIGN_OR_RETURN(std::unique_ptr<TrainingSession> ts, create(std::move(training), loss, checkpoint.names,
                                                                  optimizer.config, optimizer.schedule, std::nullopt));
  if (eval) {  // its own loss name: the eval model need not name it as the training model does
    TS_RETURN_IF_ERROR(check_reads_parameters(*eval, checkpoint.names));
    ts->forward_ = std::move(*eval);
    ts->has_eval_model_ = true;
    ts->eval_loss_ = eval_loss;
  }
  TS_RETURN_IF_ERROR(ts->restore(checkpoint, a.checkpoint));
  return ts;
}

const std::string& TrainingSession::fed_name(size_t k) const {
  return k < names_.size() ? names_[k] : buffer_updates_[k - names_.size()].name;
}
const Tensor& TrainingSession::fed_value(size_t k) const { return k < params_.size() ? params_[k] : buffers_[k - params_.size()]; }

Result<float> TrainingSession::train_step(const Feeds& feeds) {
  Feeds all = feeds;
  for (size_t k = 0; k < params_.size() + buffers_.size(); ++k) all.emplace_back(fed_name(k), Value(fed_value(k)));
  TS_ASSIGN_OR_RETURN(std::vector<Value> out, session_->run(all, {}));
  TS_ASSIGN_OR_RETURN(float loss, scalar_loss(out[0], loss_));
  const size_t p = params_.size();
  if (reset_grad_ || grads_.empty()) {
    grads_.clear();
    for (size_t k = 1; k <= p; ++k) grads_.push_back(out[k].tensor());
    reset_grad_ = false;
  } else {
    for (size_t k = 0; k < p; ++k) {
      float* acc = grads_[k].data<float>();
      const float* add = out[k + 1].tensor().data<float>();
      for (int64_t i = 0; i < grads_[k].size(); ++i) acc[i] += add[i];
    }
  }
  for (size_t b = 0; b < buffers_.size(); ++b) buffers_[b] = out[1 + p + b].tensor();
  return loss;
}

Status TrainingSession::make_eval_session() {
  if (eval_session_) return Status::ok();
  Model m = forward_;
  Graph& g = m.graph;
  if (!has_eval_model_) to_inference_mode(g, m);  // eval: running statistics, no dropout
  // The loss first, then the other outputs in graph order.
  auto loss = std::find_if(g.outputs.begin(), g.outputs.end(), [&](const ValueInfo& v) { return v.name == eval_loss_; });
  if (loss == g.outputs.end()) return invalid_argument("eval model '", forward_.source, "': the loss '", eval_loss_, "' is not an output");
  std::rotate(g.outputs.begin(), loss, loss + 1);
  eval_fed_.clear();
  for (size_t k = 0; k < params_.size() + buffers_.size(); ++k) {
    if (!g.initializers.count(fed_name(k))) continue;
    declare_as_input(g, fed_name(k));
    g.initializers.erase(fed_name(k));
    eval_fed_.push_back(k);
  }
  Result<std::unique_ptr<SessionState>> session = cpu_session(std::move(m));
  if (!session.is_ok()) return session.status().with_context("eval model '" + forward_.source + "'");
  eval_session_ = std::move(session).value();
  return Status::ok();
}

Result<EvalResult> TrainingSession::eval_step(const Feeds& feeds) {
  TS_RETURN_IF_ERROR(make_eval_session());
  Feeds all = feeds;
  for (size_t k : eval_fed_) all.emplace_back(fed_name(k), Value(fed_value(k)));
  TS_ASSIGN_OR_RETURN(std::vector<Value> out, eval_session_->run(all, {}));
  EvalResult result;
  TS_ASSIGN_OR_RETURN(result.loss, scalar_loss(out[0], eval_loss_));
  result.outputs.assign(std::make_move_iterator(out.begin() + 1), std::make_move_iterator(out.end()));
  return result;
}

std::vector<IoInfo> TrainingSession::train_inputs() const {
  std::vector<IoInfo> inputs;
  for (const IoInfo& info : session_->inputs())
    if (std::none_of(names_.begin(), names_.end(), [&](const std::string& n) { return n == info.name; }) &&
        std::none_of(buffer_updates_.begin(), buffer_updates_.end(), [&](const BufferUpdate& b) { return b.name == info.name; }))
      inputs.push_back(info);
  return inputs;
}

Result<std::vector<IoInfo>> TrainingSession::eval_inputs() {
  TS_RETURN_IF_ERROR(make_eval_session());
  std::vector<IoInfo> inputs;
  for (const IoInfo& info : eval_session_->inputs())
    if (std::none_of(eval_fed_.begin(), eval_fed_.end(), [&](size_t k) { return fed_name(k) == info.name; })) inputs.push_back(info);
  return inputs;
}

Result<std::vector<std::string>> TrainingSession::eval_output_names() {
  TS_RETURN_IF_ERROR(make_eval_session());
  std::vector<std::string> names;
  for (size_t k = 1; k < eval_session_->outputs().size(); ++k) names.push_back(eval_session_->outputs()[k].name);
  return names;
}

Status TrainingSession::optimizer_step() {
  if (grads_.empty()) return invalid_argument("optimizer_step before any train_step");
  TS_RETURN_IF_ERROR(optimizer_.step(params_, grads_, learning_rate_ * schedule_.factor(step_), step_ + 1));
  ++step_;
  return Status::ok();
}

Status TrainingSession::save_checkpoint(const std::string& path) const {
  Checkpoint c;
  c.step = step_;
  c.learning_rate = learning_rate_;
  c.names = names_;
  c.params = params_;
  c.state = optimizer_.state();
  for (size_t b = 0; b < buffers_.size(); ++b) c.buffer_names.push_back(buffer_updates_[b].name);
  c.buffers = buffers_;
  return write_checkpoint(c, path);
}

Status TrainingSession::load_checkpoint(const std::string& path) {
  TS_ASSIGN_OR_RETURN(Checkpoint c, read_checkpoint(path));
  return restore(c, path);
}

Status TrainingSession::restore(const Checkpoint& c, const std::string& path) {
  if (c.names != names_)
    return invalid_argument("checkpoint '", path, "': holds ", c.names.size(), " parameters that are not the ", names_.size(),
                            " this session trains (by name, in order)");
  for (size_t k = 0; k < params_.size(); ++k)
    if (c.params[k].shape() != params_[k].shape()) return invalid_argument("checkpoint '", path, "': parameter '", names_[k], "' has another shape");
  const size_t per_param = optimizer_.config().kind == OptimizerConfig::Kind::adamw ? 2 : (optimizer_.config().momentum != 0 ? 1 : 0);
  if (!c.state.empty() && c.state.size() != per_param * params_.size())
    return invalid_argument("checkpoint '", path, "': holds ", c.state.size(), " optimizer state tensors; this optimizer keeps ",
                            per_param, " per parameter");
  std::vector<Tensor> buffers = buffers_;
  for (size_t k = 0; k < c.buffer_names.size(); ++k) {
    auto it = std::find_if(buffer_updates_.begin(), buffer_updates_.end(), [&](const BufferUpdate& b) { return b.name == c.buffer_names[k]; });
    if (it == buffer_updates_.end()) return invalid_argument("checkpoint '", path, "': buffer '", c.buffer_names[k], "' is not one of this model's");
    const size_t b = static_cast<size_t>(it - buffer_updates_.begin());
    if (c.buffers[k].shape() != buffers[b].shape()) return invalid_argument("checkpoint '", path, "': buffer '", c.buffer_names[k], "' has another shape");
    buffers[b] = c.buffers[k];
  }
  params_ = c.params;
  optimizer_.state() = c.state;
  buffers_ = std::move(buffers);
  step_ = c.step;
  learning_rate_ = c.learning_rate;
  reset_grad_ = true;
  grads_.clear();
  return Status::ok();
}

Result<Model> TrainingSession::inference_model() const {
  Model m = forward_;
  to_inference_mode(m.graph, m);
  for (size_t k = 0; k < params_.size() + buffers_.size(); ++k) {
    auto it = m.graph.initializers.find(fed_name(k));
    if (it == m.graph.initializers.end()) continue;
    TS_ASSIGN_OR_RETURN(it->second, fed_value(k).clone());
  }
  TS_RETURN_IF_ERROR(keep_outputs_without(m, {eval_loss_}));
  return m;
}

Status TrainingSession::export_inference_model(const std::string& path) const {
  TS_ASSIGN_OR_RETURN(Model m, inference_model());
  return save_model(m, path);
}

}  // namespace tessera
