// Training update ops of ai.onnx.preview.training (optimizer update rules, not the graph
// optimizer): Adagrad, Adam, Momentum (standard and Nesterov). Each node updates n tensors at
// once: inputs are R, T, then n X, n G and n (or 2n) state tensors; outputs are the n new X and
// the new states. Element updates run in double and round once to the tensor type.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"

namespace tessera {
namespace {

constexpr const char* kTrainingDomain = "ai.onnx.preview.training";

enum class Rule { adagrad, adam, momentum, nesterov };

struct Hyper {
  double decay_factor = 0, epsilon = 0, norm_coefficient = 0, norm_coefficient_post = 0;
  double alpha = 0, beta = 0;
};

// Number of state tensors per optimized tensor.
int states_of(Rule rule) { return rule == Rule::adam ? 2 : 1; }

class TrainingUpdateKernel final : public OpKernel {
 public:
  TrainingUpdateKernel(Rule rule, Hyper h) : rule_(rule), h_(h) {}

  Status compute(KernelContext& ctx) const override {
    const int per = 2 + states_of(rule_);  // X, G, states
    const size_t count = ctx.input_count();
    if (count < 2 + static_cast<size_t>(per) || (count - 2) % static_cast<size_t>(per) != 0)
      return ctx.error("expected R, T and groups of ", per, " tensors per optimized input, got ", count, " inputs");
    const int64_t n = static_cast<int64_t>((count - 2) / static_cast<size_t>(per));
    const Tensor* r = ctx.input(0);
    const Tensor* t = ctx.input(1);
    if (!r || !t || r->size() != 1 || t->size() != 1) return ctx.error("R and T must be scalars");
    if (t->dtype() != DataType::int64) return ctx.error("T must be int64");
    double rate;
    if (r->dtype() == DataType::float32) rate = r->data<float>()[0];
    else if (r->dtype() == DataType::float64) rate = r->data<double>()[0];
    else return ctx.error("R must be float or double");
    const int64_t step = t->data<int64_t>()[0];

    for (int64_t i = 0; i < n; ++i) {
      TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(static_cast<size_t>(2 + i)));
      TS_ASSIGN_OR_RETURN(const Tensor* g, ctx.required_input(static_cast<size_t>(2 + n + i)));
      TS_ASSIGN_OR_RETURN(const Tensor* s1, ctx.required_input(static_cast<size_t>(2 + 2 * n + i)));
      const Tensor* s2 = nullptr;
      if (rule_ == Rule::adam) {
        TS_ASSIGN_OR_RETURN(s2, ctx.required_input(static_cast<size_t>(2 + 3 * n + i)));
      }
      for (const Tensor* other : {g, s1, s2})
        if (other && (other->shape() != x->shape() || other->dtype() != x->dtype()))
          return ctx.error("gradient and state of tensor ", i, " must match its shape and type");
      Tensor& x_out = ctx.allocate_output(static_cast<size_t>(i), x->dtype(), x->shape());
      Tensor& s1_out = ctx.allocate_output(static_cast<size_t>(n + i), x->dtype(), x->shape());
      Tensor* s2_out = rule_ == Rule::adam ? &ctx.allocate_output(static_cast<size_t>(2 * n + i), x->dtype(), x->shape()) : nullptr;
      Status s = dispatch<type_bit(DataType::float32) | type_bit(DataType::float64)>(
          x->dtype(),
          [&]<class T>() -> Status {
            update<T>(rate, step, x->size(), x->data<T>(), g->data<T>(), s1->data<T>(), s2 ? s2->data<T>() : nullptr,
                      x_out.data<T>(), s1_out.data<T>(), s2_out ? s2_out->data<T>() : nullptr);
            return Status::ok();
          },
          ctx.node());
      TS_RETURN_IF_ERROR(s);
    }
    return Status::ok();
  }

 private:
  template <class T>
  void update(double r, int64_t t, int64_t size, const T* x, const T* g, const T* s1, const T* s2, T* x_out, T* s1_out,
              T* s2_out) const {
    switch (rule_) {
      case Rule::adagrad: {
        const double rate = r / (1 + static_cast<double>(t) * h_.decay_factor);
        for (int64_t k = 0; k < size; ++k) {
          const double gr = h_.norm_coefficient * x[k] + g[k];
          const double hn = s1[k] + gr * gr;
          s1_out[k] = static_cast<T>(hn);
          x_out[k] = static_cast<T>(x[k] - rate * gr / (std::sqrt(hn) + h_.epsilon));
        }
        break;
      }
      case Rule::adam: {
        // Bias correction only once the step count is positive.
        const double rate = t > 0 ? r * std::sqrt(1 - std::pow(h_.beta, static_cast<double>(t))) /
                                        (1 - std::pow(h_.alpha, static_cast<double>(t)))
                                  : r;
        for (int64_t k = 0; k < size; ++k) {
          const double gr = h_.norm_coefficient * x[k] + g[k];
          const double vn = h_.alpha * s1[k] + (1 - h_.alpha) * gr;
          const double hn = h_.beta * s2[k] + (1 - h_.beta) * gr * gr;
          const double xn = x[k] - rate * (vn / (std::sqrt(hn) + h_.epsilon));
          x_out[k] = static_cast<T>((1 - h_.norm_coefficient_post) * xn);
          s1_out[k] = static_cast<T>(vn);
          s2_out[k] = static_cast<T>(hn);
        }
        break;
      }
      case Rule::momentum:
      case Rule::nesterov: {
        // The first step (T == 0) takes the gradient at full weight.
        const double beta = t > 0 ? h_.beta : 1.0;
        for (int64_t k = 0; k < size; ++k) {
          const double gr = h_.norm_coefficient * x[k] + g[k];
          const double vn = h_.alpha * s1[k] + beta * gr;
          s1_out[k] = static_cast<T>(vn);
          x_out[k] = static_cast<T>(rule_ == Rule::momentum ? x[k] - r * vn : x[k] - r * (gr + h_.alpha * vn));
        }
        break;
      }
    }
  }

  Rule rule_;
  Hyper h_;
};

Result<std::unique_ptr<OpKernel>> make_adagrad(const KernelInfo& info) {
  Hyper h;
  h.decay_factor = info.attr_float("decay_factor", 0.0f);
  h.epsilon = info.attr_float("epsilon", 0.0f);
  h.norm_coefficient = info.attr_float("norm_coefficient", 0.0f);
  return std::unique_ptr<OpKernel>(new TrainingUpdateKernel(Rule::adagrad, h));
}

Result<std::unique_ptr<OpKernel>> make_adam(const KernelInfo& info) {
  Hyper h;
  h.alpha = info.attr_float("alpha", 0.9f);
  h.beta = info.attr_float("beta", 0.999f);
  h.epsilon = info.attr_float("epsilon", 0.0f);
  h.norm_coefficient = info.attr_float("norm_coefficient", 0.0f);
  h.norm_coefficient_post = info.attr_float("norm_coefficient_post", 0.0f);
  return std::unique_ptr<OpKernel>(new TrainingUpdateKernel(Rule::adam, h));
}

Result<std::unique_ptr<OpKernel>> make_momentum(const KernelInfo& info) {
  for (const char* name : {"alpha", "beta", "mode", "norm_coefficient"})
    if (!info.has_attr(name)) return info.error("required attribute '", name, "' is missing");
  Hyper h;
  h.alpha = info.attr_float("alpha", 0.0f);
  h.beta = info.attr_float("beta", 0.0f);
  h.norm_coefficient = info.attr_float("norm_coefficient", 0.0f);
  const std::string mode = info.attr_string("mode", "standard");
  if (mode != "standard" && mode != "nesterov") return info.error("mode must be standard or nesterov, got '", mode, "'");
  return std::unique_ptr<OpKernel>(new TrainingUpdateKernel(mode == "standard" ? Rule::momentum : Rule::nesterov, h));
}

}  // namespace

void register_training_update_ops(KernelRegistry& r) {
  r.add({kTrainingDomain, "Adagrad", 1, kLatestTrainingOpset, make_adagrad});
  r.add({kTrainingDomain, "Adam", 1, kLatestTrainingOpset, make_adam});
  r.add({kTrainingDomain, "Momentum", 1, kLatestTrainingOpset, make_momentum});
}

}  // namespace tessera
