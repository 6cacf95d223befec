// BatchNormalization, LayerNormalization, InstanceNormalization, GroupNormalization,
// RMSNormalization, LpNormalization, MeanVarianceNormalization and LRN. Statistics are computed
// in float (double for double inputs) with two passes over contiguous blocks (mean, then the
// squared deviations), which stays accurate where E[x^2]-E[x]^2 would cancel.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/broadcast_shapes.h"
#include "core/dispatch.h"
#include "framework/shape_keyed_cache.h"
#include "providers/cpu/families.h"
#include "providers/cpu/reduction/reduce_common.h"
#include "providers/cpu/microkernels/vector_math.h"

namespace tessera {
namespace {

using namespace reduce_impl;

constexpr int64_t kGrain = 1 << 14;  // elements worth a parallel task

int64_t grain_for(int64_t work_per_item) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, work_per_item)); }

template <class F>
std::vector<F> to_vec(const Tensor& t) {
  std::vector<double> d = tensor_to_doubles(t);
  return std::vector<F>(d.begin(), d.end());
}

// Sum of a contiguous block, and of its squared deviations from m (SIMD for float32).
template <class F, class T>
F block_sum(const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float> && std::is_same_v<F, float>) return vec::kernels().sum(x, n);
  else return sum_run<F>(x, n, [](F v) { return v; });
}
template <class F, class T>
F block_sq_dev(const T* x, int64_t n, F m) {
  if constexpr (std::is_same_v<T, float> && std::is_same_v<F, float>) return vec::kernels().sum_sq_dev(x, n, m);
  else return sum_run<F>(x, n, [m](F v) { return (v - m) * (v - m); });
}

// Mean and population variance of a contiguous block.
template <class F, class T>
void mean_var(const T* x, int64_t n, F& mean, F& var) {
  mean = block_sum<F>(x, n) / static_cast<F>(n);
  var = block_sq_dev<F>(x, n, mean) / static_cast<F>(n);
}

// y = x * a + b over a contiguous block.
template <class F, class T>
void scale_shift(const T* x, T* y, int64_t n, F a, F b) {
  if constexpr (std::is_same_v<T, float> && std::is_same_v<F, float>) {
    vec::kernels().axpb(x, y, n, a, b);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = saturating_from_computed<T>(to_computed<F>(x[i]) * a + b);
  }
}

// Materialises `p` broadcast (numpy rules, p's dims right-aligned) to `target`; false if it does
// not broadcast.
template <class F>
bool broadcast_param(const Tensor& p, const Shape& target, std::vector<F>& out) {
  const Shape& ps = p.shape();
  if (ps.size() > target.size()) {
    for (size_t i = 0; i + target.size() < ps.size(); ++i)
      if (ps[i] != 1) return false;
  }
  const size_t off = target.size() - std::min(ps.size(), target.size());
  Shape pstride(target.size(), 0);
  int64_t s = 1;
  for (size_t i = target.size(); i-- > off;) {
    int64_t d = ps[ps.size() - (target.size() - i)];
    if (d != 1 && d != target[i]) return false;
    pstride[i] = d == 1 ? 0 : s;
    s *= d;
  }
  std::vector<F> src = to_vec<F>(p);
  if (static_cast<int64_t>(src.size()) != p.size()) return false;  // not a numeric type
  const int64_t n = shape_size(target);
  out.resize(static_cast<size_t>(n));
  Shape idx(target.size(), 0);
  int64_t at = 0;
  for (int64_t e = 0; e < n; ++e) {
    out[static_cast<size_t>(e)] = src[static_cast<size_t>(at)];
    for (size_t k = target.size(); k-- > 0;) {
      at += pstride[k];
      if (++idx[k] < target[k]) break;
      at -= idx[k] * pstride[k];
      idx[k] = 0;
    }
  }
  return true;
}

// Parameter tensors (scale, bias, mean, var) must be float tensors; their type may differ from X's.
Status check_float_params(const KernelContext& ctx, std::initializer_list<size_t> inputs) {
  for (size_t i : inputs) {
    const Tensor* t = ctx.input(i);
    if (t && !(kFloatTypes & type_bit(t->dtype())))
      return ctx.error("input ", i, " has type ", dtype_name(t->dtype()), ", expected a float type");
  }
  return Status::ok();
}

// Splits an [N, C, spatial...] shape; rank 1 counts as [N] with one channel.
void nc_spatial(const Shape& s, int64_t& n, int64_t& c, int64_t& spatial) {
  n = s.empty() ? 1 : s[0];
  c = s.size() > 1 ? s[1] : 1;
  spatial = 1;
  for (size_t i = 2; i < s.size(); ++i) spatial *= s[i];
}

// ---- BatchNormalization ----------------------------------------------------------------------

class BatchNormKernel : public OpKernel {
 public:
  explicit BatchNormKernel(const KernelInfo& info)
      : opset_(info.since_version()),
        epsilon_(info.attr_float("epsilon", 1e-5f)),
        momentum_(info.attr_float("momentum", 0.9f)) {
    if (opset_ >= 14) {
      training_ = info.attr_int("training_mode") != 0;
    } else {
      // Before 14 the extra statistics outputs are what asks for training behaviour.
      size_t outs = 0;
      for (const std::string& o : info.node().outputs) outs += !o.empty();
      training_ = outs > 1 && (opset_ >= 7 || info.attr_int("is_test") == 0);
    }
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    for (size_t i = 0; i < 5; ++i)
      TS_RETURN_IF_ERROR(ctx.required_input(i).status());
    TS_RETURN_IF_ERROR(check_float_params(ctx, {1, 2, 3, 4}));
    int64_t n, c, spatial;
    nc_spatial(x->shape(), n, c, spatial);
    // Parameters are per channel, or (spatial=0 before opset 9) per channel and position.
    const int64_t p = ctx.input(1)->size();
    if (p != c && p != c * spatial) return ctx.error("scale has ", p, " elements but X has ", c, " channels");
    for (size_t i = 2; i < 5; ++i)
      if (ctx.input(i)->size() != p) return ctx.error("input ", i, " has ", ctx.input(i)->size(), " elements, expected ", p);
    const int64_t inner = (c * spatial) / p;
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using F = float_acc_t<T>;
          std::vector<F> scale = to_vec<F>(*ctx.input(1)), bias = to_vec<F>(*ctx.input(2));
          std::vector<F> mean = to_vec<F>(*ctx.input(3)), var = to_vec<F>(*ctx.input(4));
          const T* xd = x->data<T>();
          std::vector<F> cur_mean, cur_var;
          if (training_) {
            cur_mean.assign(static_cast<size_t>(p), F(0));
            cur_var.assign(static_cast<size_t>(p), F(0));
            const int64_t count = n * inner;
            ctx.thread_pool().parallel_for(p, grain_for(count), [&](int64_t c0, int64_t c1) {
              for (int64_t ch = c0; ch < c1; ++ch) {
                F s = 0;
                for (int64_t b = 0; b < n; ++b) s += block_sum<F>(xd + (b * p + ch) * inner, inner);
                const F m = count ? s / static_cast<F>(count) : F(0);
                F q = 0;
                for (int64_t b = 0; b < n; ++b) q += block_sq_dev<F>(xd + (b * p + ch) * inner, inner, m);
                cur_mean[static_cast<size_t>(ch)] = m;
                cur_var[static_cast<size_t>(ch)] = count ? q / static_cast<F>(count) : F(0);
              }
            });
          }
          const std::vector<F>& use_mean = training_ ? cur_mean : mean;
          const std::vector<F>& use_var = training_ ? cur_var : var;
          std::vector<F> a(static_cast<size_t>(p)), b(static_cast<size_t>(p));
          for (size_t i = 0; i < a.size(); ++i) {
            a[i] = scale[i] / std::sqrt(use_var[i] + static_cast<F>(epsilon_));
            b[i] = bias[i] - use_mean[i] * a[i];
          }
          T* yd = y.data<T>();
          ctx.thread_pool().parallel_for(n * p, grain_for(inner), [&](int64_t q0, int64_t q1) {
            for (int64_t q = q0; q < q1; ++q) {
              scale_shift<F>(xd + q * inner, yd + q * inner, inner, a[static_cast<size_t>(q % p)], b[static_cast<size_t>(q % p)]);
            }
          });
          if (training_) write_statistics<F>(ctx, mean, var, cur_mean, cur_var);
          return Status::ok();
        },
        ctx.node());
  }

 private:
  // Opset 14+: outputs 1, 2 are the running mean and variance. Before: 1, 2 running and 3, 4
  // the batch ("saved") statistics.
  template <class F>
  void write_statistics(KernelContext& ctx, const std::vector<F>& mean, const std::vector<F>& var,
                        const std::vector<F>& cur_mean, const std::vector<F>& cur_var) const {
    const F mom = static_cast<F>(momentum_);
    std::vector<F> run_mean(mean.size()), run_var(var.size());
    for (size_t i = 0; i < mean.size(); ++i) {
      run_mean[i] = mean[i] * mom + cur_mean[i] * (F(1) - mom);
      run_var[i] = var[i] * mom + cur_var[i] * (F(1) - mom);
    }
    const std::vector<F>* stats[4] = {&run_mean, &run_var, &cur_mean, &cur_var};
    const size_t outputs = opset_ >= 14 ? 3 : 5;
    for (size_t k = 1; k < outputs && k < ctx.output_count(); ++k) {
      if (!ctx.output_requested(k)) continue;
      const Tensor* like = ctx.input(k % 2 == 1 ? 3 : 4);  // the mean/var inputs give type and shape
      Tensor& out = ctx.allocate_output(k, like->dtype(), like->shape());
      const std::vector<F>& v = *stats[k - 1];
      Status s = dispatch<kFloatTypes>(
          out.dtype(),
          [&]<class U>() -> Status {
            for (size_t i = 0; i < v.size(); ++i) out.data<U>()[i] = saturating_from_computed<U>(v[i]);
            return Status::ok();
          },
          ctx.node());
      (void)s;  // kFloatTypes covers every type the mean/var inputs may have
    }
  }

  int64_t opset_;
  float epsilon_;
  float momentum_;
  bool training_ = false;
};

// ---- Layer / RMS normalization ---------------------------------------------------------------

// Shared by LayerNormalization and RMSNormalization: X viewed as [rows, cols] at `axis`, scale
// (and bias) broadcast to the normalized shape, or to all of X when they vary across rows.
struct RowParams {
  std::vector<double> scale, bias;  // cols values each, or rows*cols when per_row
  std::vector<float> scale_f, bias_f;  // the same in float, for float staging
  bool per_row = false;
  bool has_bias = false;

  template <class F>
  const std::vector<F>& scale_as() const {
    if constexpr (std::is_same_v<F, float>) return scale_f;
    else return scale;
  }
  template <class F>
  const std::vector<F>& bias_as() const {
    if constexpr (std::is_same_v<F, float>) return bias_f;
    else return bias;
  }
};

Status row_params(const KernelContext& ctx, const Shape& xs, int64_t axis, const Tensor* scale, const Tensor* bias,
                  RowParams& rp) {
  const Shape norm_shape(xs.begin() + axis, xs.end());
  // A parameter with non-trivial dims before `axis` varies per row; then both go per row.
  auto varies = [&](const Tensor* t) {
    if (!t || t->rank() <= norm_shape.size()) return false;
    const Shape& s = t->shape();
    return std::any_of(s.begin(), s.end() - static_cast<int64_t>(norm_shape.size()), [](int64_t d) { return d != 1; });
  };
  rp.per_row = varies(scale) || varies(bias);
  rp.has_bias = bias != nullptr;
  const Shape& target = rp.per_row ? xs : norm_shape;
  if (!broadcast_param<double>(*scale, target, rp.scale))
    return ctx.error("Scale shape ", shape_to_string(scale->shape()), " does not broadcast to X shape ", shape_to_string(xs),
                     " at axis ", axis);
  if (bias && !broadcast_param<double>(*bias, target, rp.bias))
    return ctx.error("B shape ", shape_to_string(bias->shape()), " does not broadcast to X shape ", shape_to_string(xs),
                     " at axis ", axis);
  rp.scale_f.assign(rp.scale.begin(), rp.scale.end());
  rp.bias_f.assign(rp.bias.begin(), rp.bias.end());
  return Status::ok();
}

// Where each form of the op keeps its optional inputs and outputs; -1 where it has none.
struct NormLayout {
  int beta = -1;     // input: the shift after normalizing
  int sum_bias = -1;  // input (skip forms): a bias of the last axis added to the sum
  int mean = -1, inv_std = -1, sum = -1;  // outputs: statistics, and the skip forms' sum
};
constexpr NormLayout kLayerNormLayout{.beta = 2, .mean = 1, .inv_std = 2};

class LayerNormKernel : public OpKernel {
 public:
  // `skip`: SkipLayerNormalization: LayerNormalization (RMS with `rms`) over the last axis of
  // S = A + B (numpy broadcasting) + sum_bias. com.tessera's (A, B, Scale, Bias) -> Y[, S];
  // com.microsoft's (input, skip, gamma, beta?, bias?) -> output[, mean, inv_std_var,
  // input_skip_bias_sum]. The sum is written straight into Y and normalized there, or into S
  // when that output is requested.
  LayerNormKernel(const KernelInfo& info, bool rms, bool skip, NormLayout layout)
      : rms_(rms),
        skip_(skip),
        layout_(layout),
        axis_(skip ? -1 : info.attr_int("axis", -1)),
        epsilon_(info.attr_float("epsilon")),  // the schema's default: 1e-5, 1e-12 for com.microsoft's skip forms
        stash_type_(info.attr_int("stash_type", 1)),
        constant_params_(info.constant_input(skip ? 2 : 1) &&
                         (layout.beta < 0 || !info.has_input(static_cast<size_t>(layout.beta)) ||
                          info.constant_input(static_cast<size_t>(layout.beta)))) {}

  Status compute(KernelContext& ctx) const override {
    if (skip_) return compute_skip(ctx);
    const Tensor* x = ctx.input(0);
    const Tensor* scale = ctx.input(1);
    const Tensor* bias = optional_input(ctx, layout_.beta);
    if (!x || !scale) return ctx.error("inputs 'X' and 'Scale' are required");
    const int64_t rank = static_cast<int64_t>(x->rank());
    auto ax = normalize_axis(axis_, rank, ctx.node());
    if (!ax.is_ok()) return ax.status();
    const int64_t axis = ax.value();
    int64_t rows = 1, cols = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? rows : cols) *= x->dim(static_cast<size_t>(i));
    TS_ASSIGN_OR_RETURN(std::shared_ptr<const RowParams> params, row_params_for(ctx, x->shape(), axis, scale, bias));
    const RowParams& rp = *params;

    // RMSNormalization's Y takes the scale's type; LayerNormalization's the input's.
    const DataType y_type = rms_ ? scale->dtype() : x->dtype();
    Tensor& y = ctx.allocate_output_uninitialized(0, y_type, x->shape());
    const DataType stat_type = static_cast<DataType>(stash_type_);
    Tensor* mean_out = nullptr;
    Tensor* inv_out = nullptr;
    if (requested(ctx, layout_.mean) || requested(ctx, layout_.inv_std)) {  // the statistics' shape only when wanted
      if (!(kFloatTypes & type_bit(stat_type))) return ctx.error("stash_type ", stash_type_, " is not a float type");
      Shape stat_shape = x->shape();
      for (int64_t i = axis; i < rank; ++i) stat_shape[static_cast<size_t>(i)] = 1;
      if (requested(ctx, layout_.mean)) mean_out = &ctx.allocate_output(layout_.mean, stat_type, stat_shape);
      if (requested(ctx, layout_.inv_std)) inv_out = &ctx.allocate_output(layout_.inv_std, stat_type, stat_shape);
    }
    if (x->size() == 0) return Status::ok();

    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          return dispatch<kFloatTypes>(
              y_type,
              [&]<class V>() -> Status {
                run_rows<T, V>(ctx, x->data<T>(), y.data<V>(), rows, cols, rp, mean_out, inv_out);
                return Status::ok();
              },
              ctx.node());
        },
        ctx.node());
  }

 private:
  static const Tensor* optional_input(const KernelContext& ctx, int i) { return i >= 0 ? ctx.input(static_cast<size_t>(i)) : nullptr; }
  static bool requested(const KernelContext& ctx, int i) {
    return i >= 0 && static_cast<size_t>(i) < ctx.output_count() && ctx.output_requested(static_cast<size_t>(i));
  }

  // The broadcast scale and bias: once per input shape when both are constants (no work and no
  // allocation in a steady-state run), else made for this run.
  Result<std::shared_ptr<const RowParams>> row_params_for(const KernelContext& ctx, const Shape& xs, int64_t axis,
                                                          const Tensor* scale, const Tensor* bias) const {
    auto make = [&]() -> Result<RowParams> {
      RowParams rp;
      TS_RETURN_IF_ERROR(row_params(ctx, xs, axis, scale, bias, rp));
      return rp;
    };
    if (constant_params_) return params_.get(xs, make);
    TS_ASSIGN_OR_RETURN(RowParams rp, make());
    return std::make_shared<const RowParams>(std::move(rp));
  }

  Status compute_skip(KernelContext& ctx) const {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* scale, ctx.required_input(2));
    const Tensor* bias = optional_input(ctx, layout_.beta);
    const Tensor* sum_bias = optional_input(ctx, layout_.sum_bias);
    if (a->dtype() != b->dtype()) return ctx.error("inputs A and B have different types");
    if (sum_bias && (sum_bias->dtype() != a->dtype() || sum_bias->size() != (a->rank() ? a->shape().back() : 1)))
      return ctx.error("bias must be a ", dtype_name(a->dtype()), " vector of the hidden size, got ",
                       dtype_name(sum_bias->dtype()), " ", shape_to_string(sum_bias->shape()));
    Result<Shape> out_shape = broadcast_shapes({&a->shape(), &b->shape()}, "");
    if (!out_shape.is_ok() || out_shape->empty())
      return ctx.error("A ", shape_to_string(a->shape()), " and B ", shape_to_string(b->shape()),
                       " do not broadcast to a tensor of rank >= 1");
    const Shape& ys = out_shape.value();
    const int64_t rank = static_cast<int64_t>(ys.size());
    const int64_t cols = ys.back(), rows = cols == 0 ? 0 : shape_size(ys) / cols;
    TS_ASSIGN_OR_RETURN(std::shared_ptr<const RowParams> params, row_params_for(ctx, ys, rank - 1, scale, bias));
    const RowParams& rp = *params;
    Tensor& y = ctx.allocate_output_uninitialized(0, a->dtype(), ys);
    Tensor* sum_out = requested(ctx, layout_.sum) ? &ctx.allocate_output_uninitialized(layout_.sum, a->dtype(), ys) : nullptr;
    Tensor* mean_out = nullptr;
    Tensor* inv_out = nullptr;
    if (requested(ctx, layout_.mean) || requested(ctx, layout_.inv_std)) {  // the statistics' shape only when wanted
      Shape stat_shape = ys;
      stat_shape.back() = 1;
      if (requested(ctx, layout_.mean)) mean_out = &ctx.allocate_output(layout_.mean, DataType::float32, stat_shape);
      if (requested(ctx, layout_.inv_std)) inv_out = &ctx.allocate_output(layout_.inv_std, DataType::float32, stat_shape);
    }
    if (y.size() == 0) return Status::ok();
    // Row offsets of A and B (0-stride along broadcast dims), in the run's scratch, and their
    // stride along the last axis.
    auto row_offsets = [&](const Shape& s, Tensor& offsets) {
      offsets = ctx.scratch(DataType::int64, rows);
      int64_t* offs = offsets.data<int64_t>();
      Shape stride(static_cast<size_t>(rank), 0);  // Shape: inline
      int64_t st = 1;
      for (int64_t i = rank, k = static_cast<int64_t>(s.size()); i-- > 0;) {
        --k;
        const int64_t d = k >= 0 ? s[static_cast<size_t>(k)] : 1;
        stride[static_cast<size_t>(i)] = d == 1 ? 0 : st;
        st *= d;
      }
      Shape idx(static_cast<size_t>(rank), 0);
      for (int64_t r = 0; r < rows; ++r) {
        int64_t o = 0;
        for (int64_t i = 0; i + 1 < rank; ++i) o += idx[static_cast<size_t>(i)] * stride[static_cast<size_t>(i)];
        offs[r] = o;
        for (int64_t i = rank - 1; i-- > 0;)
          if (++idx[static_cast<size_t>(i)] < ys[static_cast<size_t>(i)]) break; else idx[static_cast<size_t>(i)] = 0;
      }
      return stride.back();
    };
    const bool same = a->shape() == b->shape();
    Tensor a_offsets, b_offsets;
    const int64_t a_inner = same ? 1 : row_offsets(a->shape(), a_offsets);
    const int64_t b_inner = same ? 1 : row_offsets(b->shape(), b_offsets);
    const int64_t* a_off = same ? nullptr : a_offsets.data<int64_t>();
    const int64_t* b_off = same ? nullptr : b_offsets.data<int64_t>();
    return dispatch<kFloatTypes>(
        a->dtype(),
        [&]<class T>() -> Status {
          using F = std::conditional_t<std::is_same_v<T, double>, double, float>;
          const T* pa = a->data<T>();
          const T* pb = b->data<T>();
          T* py = y.data<T>();
          T* ps = sum_out ? sum_out->data<T>() : py;
          std::vector<F> widened;  // sum_bias in F when T is narrower (float is read in place)
          const F* added = nullptr;
          if (sum_bias) {
            if constexpr (std::is_same_v<T, F>) {
              added = sum_bias->data<T>();
            } else {
              widened.resize(static_cast<size_t>(cols));
              widen_span(sum_bias->data<T>(), widened.data(), cols);
              added = widened.data();
            }
          }
          // Row r of the sum, written just before run_rows normalizes it (still in L1), in the
          // same pass over the rows: one hand-off to the pool instead of two.
          auto add_row = [&](int64_t r) {
            const T* ar = pa + (same ? r * cols : a_off[r]);
            const T* br = pb + (same ? r * cols : b_off[r]);
            T* yr = ps + r * cols;
            if constexpr (std::is_same_v<T, F>) {
              if (a_inner == 1 && b_inner == 1) {
                for (int64_t i = 0; i < cols; ++i) yr[i] = ar[i] + br[i];
                if (sum_bias)
                  for (int64_t i = 0; i < cols; ++i) yr[i] += added[i];
                return;
              }
            }
            for (int64_t i = 0; i < cols; ++i) {
              F v = static_cast<F>(to_computed<F>(ar[i * a_inner]) + to_computed<F>(br[i * b_inner]));
              if (sum_bias) v += added[i];
              yr[i] = from_computed<T>(v);
            }
          };
          run_rows<T, T>(ctx, ps, py, rows, cols, rp, mean_out, inv_out, add_row);
          return Status::ok();
        },
        ctx.node());
  }

  struct NoRowPrep {
    void operator()(int64_t) const {}
  };

  // Normalizes each row of x into y; prepare(r), when given, writes row r of x first.
  template <class T, class V, class Prep = NoRowPrep>
  void run_rows(KernelContext& ctx, const T* x, V* y, int64_t rows, int64_t cols, const RowParams& rp,
                Tensor* mean_out, Tensor* inv_out, const Prep& prepare = {}) const {
    // Stage one in float unless the input or stash type asks for double.
    using F = std::conditional_t<std::is_same_v<T, double> || std::is_same_v<V, double>, double, float>;
    const std::vector<F>& scale = rp.template scale_as<F>();
    const std::vector<F>& bias = rp.template bias_as<F>();
    // Per-row statistics only for the outputs that want them.
    const bool stats = mean_out || inv_out;
    std::vector<F> means(stats ? static_cast<size_t>(rows) : 0), invs(stats ? static_cast<size_t>(rows) : 0);
    const F eps = static_cast<F>(epsilon_);
    ctx.thread_pool().parallel_for(rows, grain_for(cols * 3), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        prepare(r);
        const T* xr = x + r * cols;
        V* yr = y + r * cols;
        const F* s = scale.data() + (rp.per_row ? r * cols : 0);
        const F* b = rp.has_bias ? bias.data() + (rp.per_row ? r * cols : 0) : nullptr;
        F mean = 0, var;
        if (rms_) {
          var = block_sq_dev<F>(xr, cols, F(0)) / static_cast<F>(cols);
        } else {
          mean_var<F>(xr, cols, mean, var);
        }
        const F inv = F(1) / std::sqrt(var + eps);
        if (stats) {
          means[static_cast<size_t>(r)] = mean;
          invs[static_cast<size_t>(r)] = inv;
        }
        if constexpr (std::is_same_v<T, float> && std::is_same_v<V, float> && std::is_same_v<F, float>) {
          vec::kernels().norm_affine(xr, yr, cols, mean, inv, s, b);
        } else if (b) {
          for (int64_t i = 0; i < cols; ++i) yr[i] = saturating_from_computed<V>((to_computed<F>(xr[i]) - mean) * inv * s[i] + b[i]);
        } else {
          for (int64_t i = 0; i < cols; ++i) yr[i] = saturating_from_computed<V>((to_computed<F>(xr[i]) - mean) * inv * s[i]);
        }
      }
    });
    auto write = [&](Tensor* t, const std::vector<F>& v) {
      if (!t) return;
      Status s = dispatch<kFloatTypes>(
          t->dtype(),
          [&]<class U>() -> Status {
            for (size_t i = 0; i < v.size(); ++i) t->data<U>()[i] = saturating_from_computed<U>(v[i]);
            return Status::ok();
          },
          "LayerNormalization");
      (void)s;  // the type was checked in compute()
    };
    write(mean_out, means);
    write(inv_out, invs);
  }

  bool rms_;
  bool skip_;
  NormLayout layout_;
  int64_t axis_;
  float epsilon_;
  int64_t stash_type_;
  bool constant_params_;  // scale and bias are initializers: params_ holds them broadcast
  ShapeKeyedCache<RowParams> params_;
};

// ---- Instance / Group normalization ----------------------------------------------------------

// Normalises `groups` contiguous blocks of each sample, then applies per-channel (or, for
// GroupNormalization-18, per-group) scale and bias.
class GroupedNormKernel : public OpKernel {
 public:
  GroupedNormKernel(const KernelInfo& info, bool instance)
      : instance_(instance),
        opset_(info.since_version()),
        epsilon_(info.attr_float("epsilon", 1e-5f)),
        num_groups_(info.attr_int("num_groups", 0)) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* scale = ctx.input(1);
    const Tensor* bias = ctx.input(2);
    if (!x || !scale || !bias) return ctx.error("inputs X, scale and bias are required");
    TS_RETURN_IF_ERROR(check_float_params(ctx, {1, 2}));
    if (x->rank() < 2) return ctx.error("X must have rank >= 2, got ", shape_to_string(x->shape()));
    int64_t n, c, spatial;
    nc_spatial(x->shape(), n, c, spatial);
    const int64_t groups = instance_ ? c : num_groups_;
    if (groups <= 0 || c % groups != 0)
      return ctx.error("num_groups ", groups, " must be positive and divide the ", c, " channels");
    // Scale and bias per channel; GroupNormalization-18 had them per group.
    const bool per_group = !instance_ && scale->size() == groups && (opset_ < 21 || groups == c);
    const int64_t want = per_group ? groups : c;
    if (scale->size() != want || bias->size() != want)
      return ctx.error("scale and bias must have ", want, " elements, got ", scale->size(), " and ", bias->size());
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    if (x->size() == 0) return Status::ok();
    const int64_t cpg = c / groups;
    const int64_t block = cpg * spatial;
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using F = float_acc_t<T>;
          std::vector<F> s = to_vec<F>(*scale), b = to_vec<F>(*bias);
          const T* xd = x->data<T>();
          T* yd = y.data<T>();
          const F eps = static_cast<F>(epsilon_);
          ctx.thread_pool().parallel_for(n * groups, grain_for(block * 3), [&](int64_t g0, int64_t g1) {
            for (int64_t q = g0; q < g1; ++q) {
              const int64_t g = q % groups;
              const T* xb = xd + q * block;
              T* yb = yd + q * block;
              F mean, var;
              mean_var<F>(xb, block, mean, var);
              const F inv = F(1) / std::sqrt(var + eps);
              for (int64_t k = 0; k < cpg; ++k) {
                const size_t ch = static_cast<size_t>(per_group ? g : g * cpg + k);
                const F a = s[ch] * inv, off = b[ch] - mean * a;
                scale_shift<F>(xb + k * spatial, yb + k * spatial, spatial, a, off);
              }
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  bool instance_;
  int64_t opset_;
  float epsilon_;
  int64_t num_groups_;
};

// ---- LpNormalization -------------------------------------------------------------------------

class LpNormKernel : public OpKernel {
 public:
  explicit LpNormKernel(const KernelInfo& info) : axis_(info.attr_int("axis", -1)), p_(info.attr_int("p", 2)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (p_ != 1 && p_ != 2) return ctx.error("p must be 1 or 2, got ", p_);
    const int64_t rank = static_cast<int64_t>(x->rank());
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    if (x->size() == 0) return Status::ok();
    auto ax = normalize_axis(axis_, rank, ctx.node());
    if (!ax.is_ok()) return ax.status();
    int64_t outer = 1, n = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) {
      const int64_t d = x->dim(static_cast<size_t>(i));
      (i < ax.value() ? outer : i == ax.value() ? n : inner) *= d;
    }
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using F = float_acc_t<T>;
          const T* xd = x->data<T>();
          T* yd = y.data<T>();
          const bool l1 = p_ == 1;
          ctx.thread_pool().parallel_for(outer, grain_for(n * inner * 2), [&](int64_t o0, int64_t o1) {
            std::vector<F> norm(static_cast<size_t>(inner));
            for (int64_t o = o0; o < o1; ++o) {
              const T* xb = xd + o * n * inner;
              T* yb = yd + o * n * inner;
              std::fill(norm.begin(), norm.end(), F(0));
              for (int64_t j = 0; j < n; ++j)
                for (int64_t i = 0; i < inner; ++i) {
                  const F v = to_computed<F>(xb[j * inner + i]);
                  norm[static_cast<size_t>(i)] += l1 ? std::abs(v) : v * v;
                }
              for (F& v : norm) v = l1 ? v : std::sqrt(v);
              for (int64_t j = 0; j < n; ++j)
                for (int64_t i = 0; i < inner; ++i) {
                  const F d = norm[static_cast<size_t>(i)];
                  yb[j * inner + i] = saturating_from_computed<T>(d == F(0) ? F(0) : to_computed<F>(xb[j * inner + i]) / d);
                }
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  int64_t axis_;
  int64_t p_;
};

// ---- MeanVarianceNormalization ---------------------------------------------------------------

template <class T, class A>
struct MomentPolicy {  // sums x, or x^2 when `square`
  bool square;
  A init() const { return A(0); }
  void run(A& acc, const T* x, int64_t n, const A*) const {
    acc += square ? sum_run<A>(x, n, [](A v) { return v * v; }) : sum_run<A>(x, n, [](A v) { return v; });
  }
  void rows(A* acc, const T* x, int64_t n, const A*) const {
    for (int64_t i = 0; i < n; ++i) {
      const A v = to_computed<A>(x[i]);
      acc[i] += square ? v * v : v;
    }
  }
  void combine(A& acc, A other) const { acc += other; }
};

class MvnKernel : public OpKernel {
 public:
  explicit MvnKernel(const KernelInfo& info) : axes_(info.attr_ints("axes", {0, 2, 3})) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const int64_t rank = static_cast<int64_t>(x->rank());
    auto axes = normalize_axes(axes_, rank, ctx.node());
    if (!axes.is_ok()) return axes.status();
    AxisFlags reduce(static_cast<size_t>(rank), false);
    for (int64_t a : axes.value()) reduce[static_cast<size_t>(a)] = true;
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    if (x->size() == 0) return Status::ok();
    const ReducePlan plan = make_reduce_plan(x->shape(), reduce);
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using F = float_acc_t<T>;
          const T* xd = x->data<T>();
          T* yd = y.data<T>();
          std::vector<F> mean(static_cast<size_t>(plan.output_size)), sq(static_cast<size_t>(plan.output_size));
          run_reduce<T, F>(plan, xd, mean.data(), MomentPolicy<T, F>{false}, nullptr, ctx.thread_pool());
          run_reduce<T, F>(plan, xd, sq.data(), MomentPolicy<T, F>{true}, nullptr, ctx.thread_pool());
          // The ONNX function body: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9).
          const F count = static_cast<F>(plan.reduced_count);
          for (size_t i = 0; i < mean.size(); ++i) {
            mean[i] /= count;
            const F var = std::max(F(0), sq[i] / count - mean[i] * mean[i]);
            sq[i] = F(1) / (std::sqrt(var) + F(1e-9));
          }
          apply_plan(plan, [&](int64_t off, int64_t n, int64_t out, bool same_out) {
            for (int64_t i = 0; i < n; ++i) {
              const size_t k = static_cast<size_t>(same_out ? out : out + i);
              yd[off + i] = saturating_from_computed<T>((to_computed<F>(xd[off + i]) - mean[k]) * sq[k]);
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  // Visits every contiguous run of the plan: fn(input offset, length, output index, same_out)
  // where same_out says the whole run maps to one output (else run element i maps to out + i).
  template <class Fn>
  static void apply_plan(const ReducePlan& p, Fn&& fn) {
    OffsetWalker uw(p.unit_dims, p.unit_strides);
    OffsetWalker pw(p.pos_dims, p.pos_strides);
    uw.seek(0);
    for (int64_t u = 0; u < p.units; ++u, uw.next()) {
      pw.seek(0);
      for (int64_t r = 0; r < p.positions; ++r, pw.next())
        fn(uw.offset() + pw.offset(), p.run, p.inner_reduced ? u : u * p.run, p.inner_reduced);
    }
  }

  std::vector<int64_t> axes_;
};

// ---- LRN -------------------------------------------------------------------------------------

class LrnKernel : public OpKernel {
 public:
  explicit LrnKernel(const KernelInfo& info)
      : size_(info.attr_int("size", 0)),
        alpha_(info.attr_float("alpha", 1e-4f)),
        beta_(info.attr_float("beta", 0.75f)),
        bias_(info.attr_float("bias", 1.0f)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (size_ <= 0) return ctx.error("attribute 'size' must be positive");
    if (x->rank() < 2) return ctx.error("X must have rank >= 2");
    int64_t n, c, spatial;
    nc_spatial(x->shape(), n, c, spatial);
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    if (x->size() == 0) return Status::ok();
    const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;  // floor / ceil of (size-1)/2
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using F = float_acc_t<T>;
          const T* xd = x->data<T>();
          T* yd = y.data<T>();
          const F scale = static_cast<F>(alpha_) / static_cast<F>(size_);
          const F bias = static_cast<F>(bias_), beta = static_cast<F>(beta_);
          ctx.thread_pool().parallel_for(n * c, grain_for(spatial * size_), [&](int64_t q0, int64_t q1) {
            std::vector<F> acc(static_cast<size_t>(spatial));
            for (int64_t q = q0; q < q1; ++q) {
              const int64_t b = q / c, ch = q % c;
              std::fill(acc.begin(), acc.end(), F(0));
              const int64_t lo = std::max<int64_t>(0, ch - before), hi = std::min<int64_t>(c - 1, ch + after);
              for (int64_t k = lo; k <= hi; ++k) {
                const T* plane = xd + (b * c + k) * spatial;
                for (int64_t i = 0; i < spatial; ++i) {
                  const F v = to_computed<F>(plane[i]);
                  acc[static_cast<size_t>(i)] += v * v;
                }
              }
              const T* xs = xd + q * spatial;
              T* ys = yd + q * spatial;
              for (int64_t i = 0; i < spatial; ++i)
                ys[i] = saturating_from_computed<T>(to_computed<F>(xs[i]) / std::pow(bias + scale * acc[static_cast<size_t>(i)], beta));
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  int64_t size_;
  float alpha_;
  float beta_;
  float bias_;
};

template <class K, class... Args>
KernelFactory factory_with(Args... args) {
  return [=](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
    return std::unique_ptr<OpKernel>(new K(info, args...));
  };
}

}  // namespace

void register_normalization(KernelRegistry& r) {
  r.add({"", "BatchNormalization", 1, kLatestOnnxOpset, make_factory<BatchNormKernel>()});
  r.add({"", "LayerNormalization", 17, kLatestOnnxOpset, factory_with<LayerNormKernel>(false, false, kLayerNormLayout)});
  r.add({"", "RMSNormalization", 23, kLatestOnnxOpset, factory_with<LayerNormKernel>(true, false, NormLayout{})});
  // Written by the optimizer's fusions: LayerNormalization for models before opset 17 and
  // RMSNormalization before 23 (same semantics as the ONNX ops), and the residual Add fused in
  // front of a LayerNormalization.
  r.add({"com.tessera", "LayerNormalization", 1, 1, factory_with<LayerNormKernel>(false, false, kLayerNormLayout)});
  r.add({"com.tessera", "RMSNormalization", 1, 1, factory_with<LayerNormKernel>(true, false, NormLayout{})});
  r.add({"com.tessera", "SkipLayerNormalization", 1, 1, factory_with<LayerNormKernel>(false, true, NormLayout{.beta = 3, .sum = 1})});
  // ONNX Runtime's contrib forms (docs/contrib_ops.md): its ONNX-domain LayerNormalization-1
  // (before ONNX had one) and SimplifiedLayerNormalization (RMS, inv_std_var as output 1), and
  // com.microsoft's Skip(Simplified)LayerNormalization.
  r.add({"", "LayerNormalization", 1, 16, factory_with<LayerNormKernel>(false, false, kLayerNormLayout)});
  r.add({"", "SimplifiedLayerNormalization", 1, kLatestOnnxOpset, factory_with<LayerNormKernel>(true, false, NormLayout{.inv_std = 1})});
  r.add({"com.microsoft", "SkipLayerNormalization", 1, 1,
         factory_with<LayerNormKernel>(false, true, NormLayout{.beta = 3, .sum_bias = 4, .mean = 1, .inv_std = 2, .sum = 3})});
  r.add({"com.microsoft", "SkipSimplifiedLayerNormalization", 1, 1,
         factory_with<LayerNormKernel>(true, true, NormLayout{.sum_bias = 3, .mean = 1, .inv_std = 2, .sum = 3})});
  r.add({"", "InstanceNormalization", 1, kLatestOnnxOpset, factory_with<GroupedNormKernel>(true)});
  r.add({"", "GroupNormalization", 18, kLatestOnnxOpset, factory_with<GroupedNormKernel>(false)});
  r.add({"", "LpNormalization", 1, kLatestOnnxOpset, make_factory<LpNormKernel>()});
  r.add({"", "MeanVarianceNormalization", 9, kLatestOnnxOpset, make_factory<MvnKernel>()});
  r.add({"", "LRN", 1, kLatestOnnxOpset, make_factory<LrnKernel>()});
}

}  // namespace tessera
