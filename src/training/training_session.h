// Training in C++: a forward graph with a scalar loss, its gradient graph run as one session,
// the parameters held here between steps and updated by an Optimizer.
//
// The trainable initializers become graph inputs fed from the parameters on every train_step,
// so an optimizer step changes them without rebuilding the session. Gradients accumulate over
// train_steps until lazy_reset_grad, after which the next train_step overwrites them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "framework/session.h"
#include "training/optimizers.h"

namespace tessera {

class TrainingSession {
 public:
  // `model` computes the scalar float32 value `loss`; `trainable` names float32 initializers.
  static Result<std::unique_ptr<TrainingSession>> create(Model model, const std::string& loss,
                                                         const std::vector<std::string>& trainable,
                                                         OptimizerConfig optimizer, LinearSchedule schedule = {});

  // Runs forward and backward on `feeds` (the model's other inputs); returns the loss.
  Result<float> train_step(const Feeds& feeds);
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

  // Parameters, optimizer state, step and learning rate, in one file (written to PATH.tmp, then
  // renamed); load checks every tensor's name, type and shape against this session's.
  Status save_checkpoint(const std::string& path) const;
  Status load_checkpoint(const std::string& path);

 private:
  explicit TrainingSession(OptimizerConfig config) : optimizer_(config), learning_rate_(config.learning_rate) {}
  std::unique_ptr<SessionState> session_;
  std::vector<std::string> names_;
  std::vector<Tensor> params_, grads_;
  Optimizer optimizer_;
  LinearSchedule schedule_;
  double learning_rate_;
  int64_t step_ = 0;
  bool reset_grad_ = true;
};

}  // namespace tessera
