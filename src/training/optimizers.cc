#include "training/optimizers.h"

#include <algorithm>
#include <cmath>

namespace tessera {

double LinearSchedule::factor(int64_t step) const {
  if (step < warmup_steps) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  if (total_steps <= 0) return 1.0;
  return std::max(0.0, static_cast<double>(total_steps - step) / static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
}

Status Optimizer::step(std::vector<Tensor>& params, const std::vector<Tensor>& grads, double lr, int64_t step) {
  if (grads.size() != params.size()) return invalid_argument("optimizer step: ", grads.size(), " gradients for ", params.size(), " parameters");
  for (size_t k = 0; k < params.size(); ++k)
    if (params[k].dtype() != DataType::float32 || grads[k].dtype() != DataType::float32 || params[k].shape() != grads[k].shape())
      return invalid_argument("optimizer step: parameter ", k, " and its gradient must be float32 tensors of one shape");
  const bool adamw = config_.kind == OptimizerConfig::Kind::adamw;
  const size_t per_param = adamw ? 2 : (config_.momentum != 0 ? 1 : 0);
  const bool first = state_.empty() && per_param > 0;
  if (first) {
    for (size_t s = 0; s < per_param; ++s) {
      for (const Tensor& p : params) {
        TS_ASSIGN_OR_RETURN(Tensor zeros, Tensor::create(DataType::float32, p.shape()));
        state_.push_back(std::move(zeros));
      }
    }
  }
  if (state_.size() != per_param * params.size()) return invalid_argument("optimizer step: the state does not fit the parameters");
  const double wd = config_.weight_decay, mu = config_.momentum;
  const double correction1 = 1 - std::pow(config_.beta1, static_cast<double>(step));
  const double correction2 = 1 - std::pow(config_.beta2, static_cast<double>(step));
  for (size_t k = 0; k < params.size(); ++k) {
    float* p = params[k].data<float>();
    const float* g = grads[k].data<float>();
    const int64_t n = params[k].size();
    if (adamw) {
      float* m = state_[k].data<float>();
      float* v = state_[params.size() + k].data<float>();
      for (int64_t i = 0; i < n; ++i) {
        double x = p[i] * (1 - lr * wd);
        m[i] = static_cast<float>(config_.beta1 * m[i] + (1 - config_.beta1) * g[i]);
        v[i] = static_cast<float>(config_.beta2 * v[i] + (1 - config_.beta2) * g[i] * static_cast<double>(g[i]));
        x -= lr * (m[i] / correction1) / (std::sqrt(v[i] / correction2) + config_.epsilon);
        p[i] = static_cast<float>(x);
      }
      continue;
    }
    float* buf = per_param ? state_[k].data<float>() : nullptr;
    for (int64_t i = 0; i < n; ++i) {
      double d = g[i] + wd * p[i];
      if (buf) {
        buf[i] = static_cast<float>(first ? d : mu * buf[i] + d);  // the first step starts the buffer at d
        d = config_.nesterov ? d + mu * buf[i] : buf[i];
      }
      p[i] = static_cast<float>(p[i] - lr * d);
    }
  }
  return Status::ok();
}

}  // namespace tessera
