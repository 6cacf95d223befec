// Linear and SVM models of ai.onnx.ml: LinearClassifier, LinearRegressor, SVMClassifier,
// SVMRegressor. Inputs of any numeric type compute in float through the shared GEMM; scores,
// labels and the binary-case score columns follow ONNX Runtime's conventions.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/math/widen.h"
#include "providers/cpu/ml/ml_common.h"

namespace tessera {
namespace {

using ml::PostTransform;

// X as a float [rows, features] matrix ([F] is one row).
Status read_rows(const KernelContext& ctx, const Tensor& x, std::vector<float>* out, int64_t* rows, int64_t* features) {
  if (x.rank() == 0 || x.rank() > 2) return ctx.error("X must be 1-D or 2-D, got ", shape_to_string(x.shape()));
  *rows = x.rank() == 1 ? 1 : x.dim(0);
  *features = x.rank() == 1 ? x.dim(0) : x.dim(1);
  out->resize(static_cast<size_t>(x.size()));
  return widen::widen_tensor(x, out->data(), ctx.node());
}

// out[M, N] = A[M, K] * B[N, K]^T (+ bias per column, or a scalar).
void matmul_bt(const float* a, const float* b, int64_t M, int64_t N, int64_t K, float* out, const float* bias_n,
               float scalar, ThreadPool& pool) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    std::fill(out, out + M * N, 0.0f);
  } else {
    kernels::gemm(M, N, K, 1.0f, kernels::MatrixArg<float>{a, K, false, nullptr}, kernels::MatrixArg<float>{b, K, true, nullptr},
                  0.0f, out, N, {}, &pool);
  }
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) out[i * N + j] += (bias_n ? bias_n[j] : 0.0f) + scalar;
}

bool read_post(const KernelInfo& info, PostTransform* pt) {
  return ml::parse_post_transform(info.attr_string("post_transform"), pt);
}

// Post-processing of `count` score rows of `width` scores each, as ONNX Runtime's batched
// update: width > 1 transforms each row; width 1 applies PROBIT, or (second_class >= 0)
// expands each score into two columns of `out` (which has room for them).
void update_scores(float* scores, int64_t count, int64_t width, PostTransform pt, int second_class, float* out) {
  if (width > 1) {
    for (int64_t i = 0; i < count; ++i) ml::transform_row(pt, scores + i * width, width);
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    const float s = scores[i];
    if (pt == PostTransform::probit) out[i * (second_class >= 0 ? 2 : 1)] = ml::probit(s);
    else if (second_class >= 0) ml::write_one_score(pt, s, second_class, out + i * 2);
  }
}

// ---------------------------------------------------------------- LinearClassifier

class LinearClassifierKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<LinearClassifierKernel>(new LinearClassifierKernel());
    k->coefficients_ = info.attr_floats("coefficients");
    k->intercepts_ = info.attr_floats("intercepts");
    k->int_labels_ = info.attr_ints("classlabels_ints");
    k->string_labels_ = info.attr_strings("classlabels_strings");
    if (!read_post(info, &k->post_)) return info.error("unknown post_transform");
    k->classes_ = static_cast<int64_t>(k->intercepts_.size());
    if (k->classes_ == 0 || k->coefficients_.empty()) return info.error("coefficients and intercepts are required");
    if (k->coefficients_.size() % k->intercepts_.size() != 0)
      return info.error("coefficients (", k->coefficients_.size(), ") is not a multiple of the class count (", k->classes_, ")");
    const size_t labels = k->string_labels_.empty() ? k->int_labels_.size() : k->string_labels_.size();
    if (k->classes_ > 1 && labels < static_cast<size_t>(k->classes_)) return info.error("fewer class labels than classes");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    std::vector<float> xf;
    int64_t N, F;
    TS_RETURN_IF_ERROR(read_rows(ctx, *x, &xf, &N, &F));
    const int64_t C = classes_;
    if (F * C != static_cast<int64_t>(coefficients_.size()))
      return ctx.error("X has ", F, " features but the model has ", coefficients_.size() / static_cast<size_t>(C));
    const bool strings = !string_labels_.empty();
    const size_t labels = strings ? string_labels_.size() : int_labels_.size();
    const bool second_class = C == 1 && labels == 2;
    const int64_t width = second_class ? 2 : C;
    std::vector<float> scores(static_cast<size_t>(N * C));
    matmul_bt(xf.data(), coefficients_.data(), N, C, F, scores.data(), intercepts_.data(), 0.0f, ctx.thread_pool());

    std::vector<int64_t> pick(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) {
      const float* s = scores.data() + i * C;
      if (C == 1) {
        pick[i] = s[0] > 0 ? 1 : 0;  // index 1/0 into two labels, else the label 1/0 itself
      } else {
        pick[i] = std::max_element(s, s + C) - s;
      }
    }
    if (strings) {
      Tensor& y = ctx.allocate_output(0, DataType::string, {N});
      for (int64_t i = 0; i < N; ++i)
        y.data<std::string>()[i] = C == 1 && labels != 2 ? (pick[i] ? "1" : "0") : string_labels_[static_cast<size_t>(pick[i])];
    } else {
      Tensor& y = ctx.allocate_output(0, DataType::int64, {N});
      for (int64_t i = 0; i < N; ++i)
        y.data<int64_t>()[i] = C == 1 && labels != 2 ? pick[i] : int_labels_[static_cast<size_t>(pick[i])];
    }
    Tensor& z = ctx.allocate_output(1, DataType::float32, {N, width});
    float* out = z.data<float>();
    if (width == C) std::copy(scores.begin(), scores.end(), out);
    if (post_ != PostTransform::none || second_class) {
      if (width == C) update_scores(out, N, C, post_, -1, out);
      else update_scores(scores.data(), N, C, post_, 1, out);
    }
    return Status::ok();
  }

 private:
  LinearClassifierKernel() = default;
  std::vector<float> coefficients_, intercepts_;
  std::vector<int64_t> int_labels_;
  std::vector<std::string> string_labels_;
  PostTransform post_ = PostTransform::none;
  int64_t classes_ = 0;
};

// ---------------------------------------------------------------- LinearRegressor

class LinearRegressorKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<LinearRegressorKernel>(new LinearRegressorKernel());
    k->coefficients_ = info.attr_floats("coefficients");
    k->intercepts_ = info.attr_floats("intercepts");
    k->targets_ = info.attr_int("targets", 1);
    if (!read_post(info, &k->post_)) return info.error("unknown post_transform");
    if (k->targets_ <= 0 || k->coefficients_.empty() || k->coefficients_.size() % static_cast<size_t>(k->targets_) != 0)
      return info.error("coefficients (", k->coefficients_.size(), ") must be a non-empty multiple of targets (", k->targets_, ")");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    std::vector<float> xf;
    int64_t N, F;
    TS_RETURN_IF_ERROR(read_rows(ctx, *x, &xf, &N, &F));
    if (F * targets_ != static_cast<int64_t>(coefficients_.size()))
      return ctx.error("X has ", F, " features but the model has ", coefficients_.size() / static_cast<size_t>(targets_));
    Tensor& y = ctx.allocate_output(0, DataType::float32, {N, targets_});
    // Intercepts count only when there is one per target.
    const bool use_intercepts = static_cast<int64_t>(intercepts_.size()) == targets_;
    matmul_bt(xf.data(), coefficients_.data(), N, targets_, F, y.data<float>(), use_intercepts ? intercepts_.data() : nullptr,
              0.0f, ctx.thread_pool());
    if (post_ != PostTransform::none) update_scores(y.data<float>(), N, targets_, post_, -1, y.data<float>());
    return Status::ok();
  }

 private:
  LinearRegressorKernel() = default;
  std::vector<float> coefficients_, intercepts_;
  int64_t targets_ = 1;
  PostTransform post_ = PostTransform::none;
};

// ---------------------------------------------------------------- SVM common

enum class SvmKernel { linear, poly, rbf, sigmoid };

struct SvmParams {
  SvmKernel kernel = SvmKernel::linear;
  float gamma = 0, coef0 = 0, degree = 0;

  Status parse(const KernelInfo& info) {
    const std::string k = info.attr_string("kernel_type", "LINEAR");
    if (k == "LINEAR") kernel = SvmKernel::linear;
    else if (k == "POLY") kernel = SvmKernel::poly;
    else if (k == "RBF") kernel = SvmKernel::rbf;
    else if (k == "SIGMOID") kernel = SvmKernel::sigmoid;
    else return info.error("unknown kernel_type '", k, "'");
    const std::vector<float> p = info.attr_floats("kernel_params");
    if (!p.empty()) {
      if (p.size() < 3) return info.error("kernel_params must hold gamma, coef0 and degree");
      gamma = p[0];
      coef0 = p[1];
      degree = p[2];
    }
    return Status::ok();
  }

  // out[M, N] = kernel(A row i, B row j); `c` is added for the linear kernel.
  void dot(const float* a, const float* b, int64_t M, int64_t N, int64_t K, float c, float* out, ThreadPool& pool) const {
    if (kernel == SvmKernel::rbf) {
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          float sum = 0;
          for (int64_t k = 0; k < K; ++k) {
            const float d = a[i * K + k] - b[j * K + k];
            sum += d * d;
          }
          out[i * N + j] = std::exp(-gamma * sum);
        }
      return;
    }
    matmul_bt(a, b, M, N, K, out, nullptr, 0.0f, pool);
    const int64_t n = M * N;
    switch (kernel) {
      case SvmKernel::linear:
        for (int64_t i = 0; i < n; ++i) out[i] += c;
        break;
      case SvmKernel::poly:
        for (int64_t i = 0; i < n; ++i) {
          const float v = gamma * out[i] + coef0;
          out[i] = degree == 2 ? v * v : degree == 3 ? v * v * v : std::pow(v, degree);
        }
        break;
      case SvmKernel::sigmoid:
        for (int64_t i = 0; i < n; ++i) out[i] = std::tanh(gamma * out[i] + coef0);
        break;
      default: break;
    }
  }
};

// Pairwise-coupling probabilities (Wu, Lin and Weng 2004, method 2), as libsvm iterates it:
// r[i*k+j] is P(class i | i or j); writes the k class probabilities to p.
void multiclass_probability(int64_t k, const std::vector<float>& r, float* p) {
  std::vector<float> Q(static_cast<size_t>(k * k), 0.0f), Qp(static_cast<size_t>(k), 0.0f);
  const float eps = 0.005f / static_cast<float>(k);
  for (int64_t t = 0; t < k; ++t) {
    p[t] = 1.0f / static_cast<float>(k);
    for (int64_t j = 0; j < t; ++j) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = Q[j * k + t];
    }
    for (int64_t j = t + 1; j < k; ++j) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = -r[j * k + t] * r[t * k + j];
    }
  }
  for (int iter = 0; iter < 100; ++iter) {
    float pQp = 0;
    for (int64_t t = 0; t < k; ++t) {
      Qp[t] = 0;
      for (int64_t j = 0; j < k; ++j) Qp[t] += Q[t * k + j] * p[j];
      pQp += p[t] * Qp[t];
    }
    float max_error = 0;
    for (int64_t t = 0; t < k; ++t) max_error = std::max(max_error, std::fabs(Qp[t] - pQp));
    if (max_error < eps) break;
    for (int64_t t = 0; t < k; ++t) {
      const float diff = (-Qp[t] + pQp) / Q[t * k + t];
      p[t] += diff;
      pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
      for (int64_t j = 0; j < k; ++j) {
        Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
        p[j] /= (1 + diff);
      }
    }
  }
}

// ---------------------------------------------------------------- SVMClassifier

class SvmClassifierKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<SvmClassifierKernel>(new SvmClassifierKernel());
    TS_RETURN_IF_ERROR(k->params_.parse(info));
    k->per_class_ = info.attr_ints("vectors_per_class");
    k->prob_a_ = info.attr_floats("prob_a");
    k->prob_b_ = info.attr_floats("prob_b");
    k->support_ = info.attr_floats("support_vectors");
    k->rho_ = info.attr_floats("rho");
    k->coefficients_ = info.attr_floats("coefficients");
    k->int_labels_ = info.attr_ints("classlabels_ints");
    k->string_labels_ = info.attr_strings("classlabels_strings");
    if (!read_post(info, &k->post_)) return info.error("unknown post_transform");
    if (k->prob_a_.size() != k->prob_b_.size()) return info.error("prob_a and prob_b must have the same length");
    if (k->coefficients_.empty() || k->rho_.empty()) return info.error("coefficients and rho are required");
    k->classes_ = static_cast<int64_t>(k->string_labels_.empty() ? k->int_labels_.size() : k->string_labels_.size());
    if (k->classes_ == 0) return info.error("classlabels_ints or classlabels_strings is required");
    for (int64_t v : k->per_class_) {
      k->starts_.push_back(k->vectors_);
      k->vectors_ += v;
    }
    if (k->vectors_ > 0) {
      k->svc_ = true;
      k->features_ = static_cast<int64_t>(k->support_.size()) / k->vectors_;
      const int64_t pairs = k->classes_ * (k->classes_ - 1) / 2;
      if (static_cast<int64_t>(k->per_class_.size()) != k->classes_ ||
          static_cast<int64_t>(k->coefficients_.size()) < (k->classes_ - 1) * k->vectors_ ||
          static_cast<int64_t>(k->rho_.size()) < pairs ||
          (!k->prob_a_.empty() && static_cast<int64_t>(k->prob_a_.size()) < pairs))
        return info.error("vectors_per_class, coefficients, rho and prob_a/prob_b do not fit ", k->classes_, " classes");
    } else {
      k->params_.kernel = SvmKernel::linear;
      k->features_ = static_cast<int64_t>(k->coefficients_.size()) / k->classes_;
    }
    k->all_positive_ = std::all_of(k->coefficients_.begin(), k->coefficients_.end(), [](float v) { return v >= 0; });
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    std::vector<float> xf;
    int64_t N, F;
    TS_RETURN_IF_ERROR(read_rows(ctx, *x, &xf, &N, &F));
    if (F != features_) return ctx.error("X has ", F, " features, the model expects ", features_);
    const int64_t C = classes_, pairs = C * (C - 1) / 2;
    const bool proba = !prob_a_.empty();
    int64_t width = C;
    int second_class = -1;
    int64_t scored = C;  // scores per row before post-processing
    if (svc_ && !proba) {
      width = C > 2 ? pairs : 2;
      scored = pairs;
      if (C <= 2) second_class = post_ == PostTransform::none ? 2 : 0;
    }
    Tensor& z = ctx.allocate_output(1, DataType::float32, {N, width});
    float* zs = z.data<float>();
    std::vector<float> pair_scores;
    std::vector<int64_t> votes;
    if (!svc_) {
      params_.dot(xf.data(), coefficients_.data(), N, C, F, rho_[0], zs, ctx.thread_pool());
    } else {
      std::vector<float> kern(static_cast<size_t>(N * vectors_));
      params_.dot(xf.data(), support_.data(), N, vectors_, F, 0.0f, kern.data(), ctx.thread_pool());
      votes.assign(static_cast<size_t>(N * C), 0);
      pair_scores.assign(static_cast<size_t>(N * pairs), 0.0f);
      for (int64_t n = 0; n < N; ++n) {
        const float* kn = kern.data() + n * vectors_;
        int64_t idx = 0;
        for (int64_t i = 0; i < C - 1; ++i)
          for (int64_t j = i + 1; j < C; ++j, ++idx) {
            // Class i's vectors use coefficient row j-1, class j's use row i.
            double sum = 0;
            for (int64_t m = 0; m < per_class_[i]; ++m)
              sum += coefficients_[(j - 1) * vectors_ + starts_[i] + m] * kn[starts_[i] + m];
            for (int64_t m = 0; m < per_class_[j]; ++m)
              sum += coefficients_[i * vectors_ + starts_[j] + m] * kn[starts_[j] + m];
            sum += rho_[idx];
            pair_scores[n * pairs + idx] = static_cast<float>(sum);
            ++votes[n * C + (sum > 0 ? i : j)];
          }
        if (!proba) {
          // One pair with a second column to fill leaves a gap after each score.
          float* dst = zs + n * width;
          std::copy(pair_scores.begin() + n * pairs, pair_scores.begin() + (n + 1) * pairs, dst);
        }
      }
    }

    const bool strings = !string_labels_.empty();
    Tensor& y = ctx.allocate_output(0, strings ? DataType::string : DataType::int64, {N});
    std::vector<float> probs(static_cast<size_t>(C * C));
    for (int64_t n = 0; n < N; ++n) {
      float* row = zs + n * width;
      if (svc_ && proba) {
        std::fill(probs.begin(), probs.end(), 0.0f);
        int64_t idx = 0;
        for (int64_t i = 0; i < C - 1; ++i)
          for (int64_t j = i + 1; j < C; ++j, ++idx) {
            const float v = 1 - ml::logistic(pair_scores[n * pairs + idx] * prob_a_[idx] + prob_b_[idx]);
            const float c = std::min(std::max(v, 1.0e-7f), 1 - 1.0e-7f);
            probs[i * C + j] = c;
            probs[j * C + i] = 1 - c;
          }
        multiclass_probability(C, probs, row);
      }
      float max_weight = 0;
      int64_t best;
      if (svc_) {
        const int64_t* v = votes.data() + n * C;
        best = std::max_element(v, v + C) - v;
      } else {
        best = std::max_element(row, row + C) - row;
        max_weight = row[best];
      }
      // Two classes without probabilities: a positive score can pick class 1 outright.
      int64_t pick = best;
      if (C == 2 && !proba && ((all_positive_ && max_weight >= 0.5f) || (max_weight > 0 && !all_positive_))) pick = 1;
      if (strings) y.data<std::string>()[n] = string_labels_[static_cast<size_t>(pick)];
      else y.data<int64_t>()[n] = int_labels_[static_cast<size_t>(pick)];
      update_scores(row, 1, scored, post_, second_class, row);
    }
    return Status::ok();
  }

 private:
  SvmClassifierKernel() = default;
  SvmParams params_;
  std::vector<int64_t> per_class_, starts_;
  std::vector<float> prob_a_, prob_b_, support_, rho_, coefficients_;
  std::vector<int64_t> int_labels_;
  std::vector<std::string> string_labels_;
  PostTransform post_ = PostTransform::none;
  int64_t classes_ = 0, vectors_ = 0, features_ = 0;
  bool svc_ = false, all_positive_ = true;
};

// ---------------------------------------------------------------- SVMRegressor

class SvmRegressorKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<SvmRegressorKernel>(new SvmRegressorKernel());
    TS_RETURN_IF_ERROR(k->params_.parse(info));
    k->support_ = info.attr_floats("support_vectors");
    k->rho_ = info.attr_floats("rho");
    k->coefficients_ = info.attr_floats("coefficients");
    k->vectors_ = info.attr_int("n_supports");
    k->one_class_ = info.attr_int("one_class") != 0;
    if (k->coefficients_.empty() || k->rho_.empty()) return info.error("coefficients and rho are required");
    if (k->vectors_ > 0) {
      k->features_ = static_cast<int64_t>(k->support_.size()) / k->vectors_;
      if (static_cast<int64_t>(k->coefficients_.size()) < k->vectors_) return info.error("fewer coefficients than n_supports");
    } else {
      k->params_.kernel = SvmKernel::linear;
      k->features_ = static_cast<int64_t>(k->coefficients_.size());
    }
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    std::vector<float> xf;
    int64_t N, F;
    TS_RETURN_IF_ERROR(read_rows(ctx, *x, &xf, &N, &F));
    if (F != features_) return ctx.error("X has ", F, " features, the model expects ", features_);
    Tensor& y = ctx.allocate_output(0, DataType::float32, {N, 1});
    float* out = y.data<float>();
    if (vectors_ > 0) {
      std::vector<float> kern(static_cast<size_t>(N * vectors_));
      params_.dot(xf.data(), support_.data(), N, vectors_, F, 0.0f, kern.data(), ctx.thread_pool());
      matmul_bt(kern.data(), coefficients_.data(), N, 1, vectors_, out, nullptr, rho_[0], ctx.thread_pool());
    } else {
      params_.dot(xf.data(), coefficients_.data(), N, 1, F, rho_[0], out, ctx.thread_pool());
    }
    if (one_class_)
      for (int64_t i = 0; i < N; ++i) out[i] = out[i] > 0 ? 1.0f : -1.0f;
    return Status::ok();
  }

 private:
  SvmRegressorKernel() = default;
  SvmParams params_;
  std::vector<float> support_, rho_, coefficients_;
  int64_t vectors_ = 0, features_ = 0;
  bool one_class_ = false;
};

}  // namespace

void register_ml_linear_svm(KernelRegistry& r) {
  r.add({ml::kDomain, "LinearClassifier", 1, kLatestOnnxMlOpset, LinearClassifierKernel::create});
  r.add({ml::kDomain, "LinearRegressor", 1, kLatestOnnxMlOpset, LinearRegressorKernel::create});
  r.add({ml::kDomain, "SVMClassifier", 1, kLatestOnnxMlOpset, SvmClassifierKernel::create});
  r.add({ml::kDomain, "SVMRegressor", 1, kLatestOnnxMlOpset, SvmRegressorKernel::create});
}

}  // namespace tessera
