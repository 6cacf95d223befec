// Training in C++: a forward graph with a scalar loss, its gradient graph run as one session,
// the parameters held here between steps and updated by an Optimizer.
//
// The trainable initializers become graph inputs fed from the parameters on every step, so an
// optimizer step changes them without rebuilding the session. Gradients accumulate over
// train_steps until lazy_reset_grad, after which the next train_step overwrites them.
// eval_step runs the eval model (or the training model's forward, without backward) on the same
// parameters; export_inference_model writes the forward graph without the loss, with the trained
// parameters as initializers. Artifacts (artifacts.h, docs/training.md) make a session from files.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "framework/session.h"
#include "training/artifacts.h"
#include "training/checkpoint.h"
#include "training/inference_model.h"
#include "training/optimizers.h"

namespace tessera {

struct EvalResult {
  float loss = 0;
  std::vector<Value> outputs;  // the model's outputs other than the loss, in graph order
};

class TrainingSession {
 public:
  // `model` computes the scalar float32 value `loss`; `trainable` names float32 initializers.
  // `eval_model`, when given, computes `loss` too and reads the parameters by the same names.
  static Result<std::unique_ptr<TrainingSession>> create(Model model, const std::string& loss,
                                                         const std::vector<std::string>& trainable,
                                                         OptimizerConfig optimizer, LinearSchedule schedule = {},
                                                         std::optional<Model> eval_model = std::nullopt);
  // From artifact files: the loss is each model's first output, the trainable parameters are the
  // checkpoint's (their values, the optimizer state and the step are loaded from it).
  static Result<std::unique_ptr<TrainingSession>> create(const ArtifactPaths& artifacts);

  // Runs forward and backward on `feeds` (the model's other inputs); returns the loss.
  Result<float> train_step(const Feeds& feeds);
  // Runs the eval model (else the training forward) on `feeds`: the loss and the other outputs.
  Result<EvalResult> eval_step(const Feeds& feeds);
  // Updates the parameters from the accumulated gradients at the scheduled learning rate.
  Status optimizer_step();
  // The next train_step replaces the gradients instead of adding to them.
  void lazy_reset_grad() { reset_grad_ = true; }

  // The base learning rate (the schedule scales it per step).
  double learning_rate() const { return learning_rate_; }
  void set_learning_rate(double lr) { learning_rate_ = lr; }
  int64_t step() const { return step_; }
  const std::vector<std::string>& parameter_names() const { return names_; }
  const Tensor& parameter(size_t k) const { return params_[k]; }
  // The inputs train_step and eval_step take (the parameters left out).
  std::vector<IoInfo> train_inputs() const;
  Result<std::vector<IoInfo>> eval_inputs();
  // Names of eval_step's outputs (the loss left out).
  Result<std::vector<std::string>> eval_output_names();

  // Parameters, optimizer state, step and learning rate (checkpoint.h); load checks every
  // tensor's name and shape against this session's.
  Status save_checkpoint(const std::string& path) const;
  Status load_checkpoint(const std::string& path);

  // The forward graph (eval model if given) without the loss and what only the loss needs, the
  // current parameters as initializers, saved as ONNX to `path`; runs in any InferenceSession.
  Result<Model> inference_model() const;
  Status export_inference_model(const std::string& path) const;

 private:
  explicit TrainingSession(OptimizerConfig config) : optimizer_(config), learning_rate_(config.learning_rate) {}
  Status make_eval_session();
  Status restore(const Checkpoint& checkpoint, const std::string& path);
  // Parameters then buffers, by index k < P: names_/params_[k], else buffers.
  const std::string& fed_name(size_t k) const;
  const Tensor& fed_value(size_t k) const;

  std::unique_ptr<SessionState> session_, eval_session_;
  Model forward_;           // the eval model, else the training model, as given
  bool has_eval_model_ = false;
  std::string loss_, eval_loss_;
  std::vector<std::string> names_;
  std::vector<Tensor> params_, grads_;
  std::vector<BufferUpdate> buffer_updates_;  // initializers the forward pass updates
  std::vector<Tensor> buffers_;
  std::vector<size_t> eval_fed_;  // what the eval graph reads (fed_name indices)
  Optimizer optimizer_;
  LinearSchedule schedule_;
  double learning_rate_;
  int64_t step_ = 0;
  bool reset_grad_ = true;
};

}  // namespace tessera
