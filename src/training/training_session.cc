#include "training/training_session.h"

#include <cstdio>
#include <fstream>

#include "providers/cpu/cpu_provider.h"
#include "training/gradient_graph.h"

namespace tessera {
namespace {

constexpr char kMagic[] = "TESSERA-CHECKPOINT-1";

template <class T>
void put(std::ofstream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(v));
}
template <class T>
bool get(std::ifstream& in, T& v) {
  return static_cast<bool>(in.read(reinterpret_cast<char*>(&v), sizeof(v)));
}

}  // namespace

Result<std::unique_ptr<TrainingSession>> TrainingSession::create(Model model, const std::string& loss,
                                                                 const std::vector<std::string>& trainable,
                                                                 OptimizerConfig optimizer, LinearSchedule schedule) {
  auto context = [&](const Status& s) { return s.with_context("training model '" + model.source + "'"); };
  std::unique_ptr<TrainingSession> ts(new TrainingSession(optimizer));
  ts->schedule_ = schedule;
  Graph& graph = model.graph;
  for (const std::string& name : trainable) {
    auto it = graph.initializers.find(name);
    if (it == graph.initializers.end() || it->second.dtype() != DataType::float32)
      return context(invalid_argument("trainable '", name, "' is not a float32 initializer"));
    ValueInfo input;
    input.name = name;
    input.type.kind = TypeInfo::Kind::tensor;
    input.type.elem_type = DataType::float32;
    std::vector<Dim> dims;
    for (int64_t d : it->second.shape()) dims.push_back(Dim{d, ""});
    input.type.shape = dims;
    bool declared = false;
    for (const ValueInfo& v : graph.inputs) declared = declared || v.name == name;
    if (!declared) graph.inputs.push_back(input);
    TS_ASSIGN_OR_RETURN(Tensor own, it->second.clone());  // the session's weights, updated in place
    ts->params_.push_back(std::move(own));
    ts->names_.push_back(name);
  }
  GradientRequest request{{loss}, {""}, trainable, "grad"};
  Result<GradientGraph> built = append_gradients(graph, model, request);
  if (!built.is_ok()) return context(built.status());
  for (const std::string& name : trainable) graph.initializers.erase(name);  // fed from params_
  graph.outputs.clear();
  graph.outputs.push_back(ValueInfo{loss, {}});
  for (const std::string& g : built->x_grads) graph.outputs.push_back(ValueInfo{g, {}});

  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.optimization_level = OptimizationLevel::basic;
  TS_ASSIGN_OR_RETURN(ts->session_, SessionState::create(std::move(model), std::move(eps), options));
  return ts;
}

Result<float> TrainingSession::train_step(const Feeds& feeds) {
  Feeds all = feeds;
  for (size_t k = 0; k < params_.size(); ++k) all.emplace_back(names_[k], Value(params_[k]));
  TS_ASSIGN_OR_RETURN(std::vector<Value> out, session_->run(all, {}));
  const Tensor& loss = out[0].tensor();
  if (loss.dtype() != DataType::float32 || loss.size() != 1) return invalid_argument("the loss must be a float32 scalar");
  if (reset_grad_ || grads_.empty()) {
    grads_.clear();
    for (size_t k = 1; k < out.size(); ++k) grads_.push_back(out[k].tensor());
    reset_grad_ = false;
  } else {
    for (size_t k = 0; k < grads_.size(); ++k) {
      float* acc = grads_[k].data<float>();
      const float* add = out[k + 1].tensor().data<float>();
      for (int64_t i = 0; i < grads_[k].size(); ++i) acc[i] += add[i];
    }
  }
  return loss.data<float>()[0];
}

Status TrainingSession::optimizer_step() {
  if (grads_.empty()) return invalid_argument("optimizer_step before any train_step");
  TS_RETURN_IF_ERROR(optimizer_.step(params_, grads_, learning_rate_ * schedule_.factor(step_), step_ + 1));
  ++step_;
  return Status::ok();
}

Status TrainingSession::save_checkpoint(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return io_error("checkpoint '", path, "': cannot write ", tmp);
    out.write(kMagic, sizeof(kMagic));
    put(out, step_);
    put(out, learning_rate_);
    std::vector<const Tensor*> tensors;
    for (const Tensor& p : params_) tensors.push_back(&p);
    for (const Tensor& s : optimizer_.state()) tensors.push_back(&s);
    put(out, static_cast<uint64_t>(tensors.size()));
    for (const Tensor* t : tensors) {
      put(out, static_cast<uint64_t>(t->rank()));
      for (int64_t d : t->shape()) put(out, d);
      out.write(static_cast<const char*>(t->raw_data()), static_cast<std::streamsize>(t->byte_size()));
    }
    if (!out) return io_error("checkpoint '", path, "': write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return io_error("checkpoint '", path, "': cannot rename ", tmp);
  return Status::ok();
}

Status TrainingSession::load_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("checkpoint '", path, "': cannot open");
  char magic[sizeof(kMagic)] = {};
  in.read(magic, sizeof(magic));
  int64_t step = 0;
  double lr = 0;
  uint64_t count = 0;
  if (!in || std::string(magic, sizeof(magic)) != std::string(kMagic, sizeof(kMagic)) || !get(in, step) || !get(in, lr) ||
      !get(in, count))
    return invalid_argument("checkpoint '", path, "': not a Tessera checkpoint");
  const size_t per_param = optimizer_.config().kind == OptimizerConfig::Kind::adamw ? 2 : (optimizer_.config().momentum != 0 ? 1 : 0);
  if (count != params_.size() && count != params_.size() * (1 + per_param))
    return invalid_argument("checkpoint '", path, "': holds ", count, " tensors, this session trains ", params_.size(),
                            " parameters with ", per_param, " state tensors each");
  std::vector<Tensor> tensors;
  for (uint64_t k = 0; k < count; ++k) {
    const Tensor& like = params_[k % params_.size()];
    uint64_t rank = 0;
    if (!get(in, rank) || rank != like.rank()) return invalid_argument("checkpoint '", path, "': tensor ", k, " does not fit '", names_[k % params_.size()], "'");
    Shape shape(rank);
    for (int64_t& d : shape) get(in, d);
    if (shape != like.shape()) return invalid_argument("checkpoint '", path, "': tensor ", k, " does not fit '", names_[k % params_.size()], "'");
    TS_ASSIGN_OR_RETURN(Tensor t, Tensor::create(DataType::float32, shape));
    if (!in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.byte_size())))
      return invalid_argument("checkpoint '", path, "': truncated");
    tensors.push_back(std::move(t));
  }
  params_.assign(tensors.begin(), tensors.begin() + static_cast<std::ptrdiff_t>(params_.size()));
  optimizer_.state().assign(tensors.begin() + static_cast<std::ptrdiff_t>(params_.size()), tensors.end());
  step_ = step;
  learning_rate_ = lr;
  reset_grad_ = true;
  return Status::ok();
}

}  // namespace tessera
