// Parameter updates after a backward pass: SGD (momentum, Nesterov, weight decay) and AdamW with
// PyTorch's update rules, each one loop over all parameters at once, and a linear warm-up / decay
// learning-rate schedule. Float32 parameters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

struct OptimizerConfig {
  enum class Kind { sgd, adamw };
  Kind kind = Kind::sgd;
  double learning_rate = 1e-3;
  double weight_decay = 0;  // SGD: added to the gradient; AdamW: decoupled, p *= 1 - lr * wd
  double momentum = 0;      // SGD
  bool nesterov = false;    // SGD, with momentum
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // AdamW
};

// The learning rate's factor at a step (from 0): step / warmup_steps during the warm-up, then
// falling linearly to 0 at total_steps; total_steps 0 keeps it at 1 after the warm-up.
struct LinearSchedule {
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;
  double factor(int64_t step) const;
};

class Optimizer {
 public:
  explicit Optimizer(OptimizerConfig config) : config_(config) {}

  // Updates `params` in place from `grads` (same shapes, float32) at learning rate `lr`; `step`
  // counts from 1 (AdamW's bias correction). The state is made on the first call.
  Status step(std::vector<Tensor>& params, const std::vector<Tensor>& grads, double lr, int64_t step);

  const OptimizerConfig& config() const { return config_; }
  // Per parameter: SGD's momentum buffer, or AdamW's first then second moments (empty until the
  // first step). Checkpoints save and restore it.
  std::vector<Tensor>& state() { return state_; }
  const std::vector<Tensor>& state() const { return state_; }

 private:
  OptimizerConfig config_;
  std::vector<Tensor> state_;
};

}  // namespace tessera
