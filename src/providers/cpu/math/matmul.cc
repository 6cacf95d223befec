// MatMul (numpy batch broadcasting, 1-D operands) and Gemm, on the one GEMM of microkernels/gemm.h
// (MatMulInteger lives with the quantized ops in quantization/), and the fused forms: com.tessera
// and com.microsoft FusedMatMul, com.microsoft FusedGemm (Gemm + activation). Constant float32
// weights (B) are packed once, when the kernel is created.
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <vector>

#include "core/broadcast_shapes.h"
#include "core/dispatch.h"
#include "core/float_types.h"
#include "tessera/inline_vector.h"
#include "framework/kernel_registry.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/nn/conv_activation.h"

namespace tessera {
namespace {

using kernels::GemmEpilogue;
using kernels::MatrixArg;
using kernels::PackedMatrix;

constexpr TypeSet kMatMulTypes = kFloatTypes | kIntTypes;

// Runs C = alpha * A * B + beta * C for one matrix of any supported type.
template <class T>
void gemm_any(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T beta, T* C, int64_t ldc, ThreadPool* pool, const PackedMatrix<float>* packed_b = nullptr,
              const GemmEpilogue<float>* ep = nullptr) {
  if constexpr (std::is_same_v<T, float>) {
    MatrixArg<float> b{B, ldb, tb, packed_b};
    kernels::gemm(M, N, K, alpha, {A, lda, ta}, b, beta, C, ldc, ep ? *ep : GemmEpilogue<float>{}, pool);
  } else if constexpr (std::is_same_v<T, double>) {
    kernels::gemm(M, N, K, alpha, {A, lda, ta}, {B, ldb, tb}, beta, C, ldc, {}, pool);
  } else {
    kernels::gemm_generic(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

// The shapes of one MatMul: the batch dimensions broadcast numpy-style, and where each output
// matrix finds its operands.
struct MatMulPlan {
  Shape out_shape;
  int64_t M = 0, N = 0, K = 0;
  int64_t batches = 1;
  // The broadcast batch dims and each operand's element stride along them (0 where it
  // broadcasts): a batch's operands are found from its index, so a plan made per run holds no
  // per-batch array and allocates nothing.
  Shape batch, a_stride, b_stride;

  int64_t a_offset(int64_t n) const { return offset(n, a_stride); }
  int64_t b_offset(int64_t n) const { return offset(n, b_stride); }
  // Whether every batch reads the same B from its start and A's batches lie back to back (one
  // batch does): the batches are then the rows of one tall GEMM. Read from the strides: along
  // each batch dim of more than one, B does not move and A moves by the batches after it.
  bool one_tall_gemm() const {
    int64_t back_to_back = M * K;
    for (size_t i = batch.size(); i-- > 0;) {
      if (batch[i] != 1 && (b_stride[i] != 0 || a_stride[i] != back_to_back)) return false;
      back_to_back *= batch[i];
    }
    return true;
  }

 private:
  int64_t offset(int64_t n, const Shape& stride) const {
    int64_t o = 0;
    for (size_t i = batch.size(); i-- > 0; n /= batch[i]) o += n % batch[i] * stride[i];
    return o;
  }
};

Result<MatMulPlan> plan_matmul(const KernelContext& ctx, const Shape& a_in, const Shape& b_in) {
  if (a_in.empty() || b_in.empty()) return ctx.error("MatMul operands must have rank >= 1, got ", shape_to_string(a_in), " and ", shape_to_string(b_in));
  Shape a = a_in, b = b_in;  // Shape is inline: the plan's arithmetic allocates nothing
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulPlan p;
  p.M = a[a.size() - 2];
  p.K = a.back();
  p.N = b.back();
  if (b[b.size() - 2] != p.K)
    return ctx.error("MatMul inner dimensions differ: ", shape_to_string(a_in), " x ", shape_to_string(b_in));
  const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Result<Shape> broadcast = broadcast_shapes({&a_batch, &b_batch}, "");
  if (!broadcast.is_ok())
    return ctx.error("MatMul batch dimensions do not broadcast: ", shape_to_string(a_in), " x ", shape_to_string(b_in));
  p.batch = std::move(broadcast).value();
  const size_t a_batch_rank = a_batch.size(), b_batch_rank = b_batch.size(), rank = p.batch.size();
  p.a_stride.assign(rank, 0);
  p.b_stride.assign(rank, 0);
  int64_t sa = p.M * p.K, sb = p.K * p.N;
  for (size_t i = rank; i-- > 0;) {
    const int64_t da = i >= rank - a_batch_rank ? a[i - (rank - a_batch_rank)] : 1;
    const int64_t db = i >= rank - b_batch_rank ? b[i - (rank - b_batch_rank)] : 1;
    p.a_stride[i] = da == 1 ? 0 : sa;
    p.b_stride[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  p.batches = std::accumulate(p.batch.begin(), p.batch.end(), int64_t{1}, std::multiplies<>());
  p.out_shape.reserve(rank + 2);
  p.out_shape.assign(p.batch.begin(), p.batch.end());
  if (!a_vec) p.out_shape.push_back(p.M);
  if (!b_vec) p.out_shape.push_back(p.N);
  return p;
}

// All batches of a plan. B may be a packed float matrix shared by every batch.
template <class T>
void run_matmul(const MatMulPlan& p, const T* a, const T* b, T* y, ThreadPool& pool,
                const PackedMatrix<float>* packed_b) {
  const int64_t batches = p.batches;
  if (batches == 0 || p.M == 0 || p.N == 0) return;
  if (p.one_tall_gemm()) {
    gemm_any<T>(false, false, p.M * batches, p.N, p.K, T(1), a, p.K, b, p.N, T(0), y, p.N, &pool, packed_b);
    return;
  }
  const int threads = pool.size();
  const double flops = 2.0 * static_cast<double>(p.M) * static_cast<double>(p.N) * static_cast<double>(p.K);
  const bool by_batch = threads > 1 && (batches % threads == 0 || batches >= 4 * threads || flops < 1e6);
  auto one = [&](int64_t i, ThreadPool* inner) {
    gemm_any<T>(false, false, p.M, p.N, p.K, T(1), a + p.a_offset(i), p.K, b + p.b_offset(i), p.N, T(0),
                y + i * p.M * p.N, p.N, inner, packed_b);
  };
  if (by_batch) {
    pool.parallel_for(batches, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) one(i, nullptr);
    });
  } else {
    for (int64_t i = 0; i < batches; ++i) one(i, &pool);
  }
}

class MatMulKernel final : public OpKernel {
 public:
  explicit MatMulKernel(const KernelInfo& info) {
    // Constant 2-D float weights: pack once for every run.
    const Tensor* b = info.constant_input(1);
    if (b && b->dtype() == DataType::float32 && b->rank() == 2 && b->size() > 0)
      packed_b_ = std::make_shared<PackedMatrix<float>>(kernels::pack_b(b->dim(0), b->dim(1), b->data<float>(), b->dim(1), false));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    if (!a || !b) return ctx.error("MatMul needs two inputs");
    if (a->dtype() != b->dtype())
      return ctx.error("MatMul operands have different types ", dtype_name(a->dtype()), " and ", dtype_name(b->dtype()));
    TS_ASSIGN_OR_RETURN(MatMulPlan plan, plan_matmul(ctx, a->shape(), b->shape()));
    Tensor& y = ctx.allocate_output_uninitialized(0, a->dtype(), plan.out_shape);
    if (y.size() == 0) return Status::ok();
    return dispatch<kMatMulTypes>(
        a->dtype(),
        [&]<class T>() -> Status {
          if constexpr (is_half_float_v<T>) {
            std::vector<float> af(static_cast<size_t>(a->size())), bf(static_cast<size_t>(b->size())),
                yf(static_cast<size_t>(y.size()));
            widen_span(a->data<T>(), af.data(), a->size());
            widen_span(b->data<T>(), bf.data(), b->size());
            run_matmul<float>(plan, af.data(), bf.data(), yf.data(), ctx.thread_pool(), nullptr);
            narrow_span(yf.data(), y.data<T>(), y.size());
          } else {
            const PackedMatrix<float>* packed = nullptr;
            if constexpr (std::is_same_v<T, float>)
              if (packed_b_ && b->rank() == 2) packed = packed_b_.get();
            run_matmul<T>(plan, a->data<T>(), b->data<T>(), y.data<T>(), ctx.thread_pool(), packed);
          }
          return Status::ok();
        },
        ctx.node());
  }

  // A packed float B is all compute reads of a constant B (its shape aside).
  bool owns_constant(size_t i) const override { return i == 1 && packed_b_ != nullptr; }

 private:
  std::shared_ptr<const PackedMatrix<float>> packed_b_;
};

// Writes C broadcast (unidirectionally) to [M, N] into y, converted to U and times beta.
template <class T, class U>
void fill_broadcast_c(const Tensor& c, int64_t M, int64_t N, U beta, U* y) {
  const Shape& s = c.shape();
  const int64_t cm = s.size() == 2 ? s[0] : 1;
  const int64_t cn = s.empty() ? 1 : s.back();
  const T* src = c.data<T>();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const T v = src[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
      if constexpr (is_half_float_v<T>)
        y[i * N + j] = beta * to_computed<float>(v);
      else
        y[i * N + j] = beta * static_cast<U>(v);
    }
}

// Clamps of an activation (Relu, Clip) that no GEMM epilogue applied, then the others.
template <class C>
void finish_activation(const ConvActivation& act, C* y, int64_t n) {
  if (act.kind == ConvActivation::Kind::none) return;
  if (act.is_clamp()) {
    const C lo = static_cast<C>(act.clamp_min()), hi = static_cast<C>(act.clamp_max());
    for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], lo), hi);
  }
  apply_activation(act, y, n);
}

// Gemm, and com.microsoft FusedGemm: Gemm followed by its `activation` (conv_activation.h; the
// parameters in activation_alpha / activation_beta), float types only.
class GemmKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    ConvActivation act;
    if (info.node().domain == "com.microsoft") {
      TS_ASSIGN_OR_RETURN(act, parse_activation(info));
    }
    return std::unique_ptr<OpKernel>(new GemmKernel(info, act));
  }

  GemmKernel(const KernelInfo& info, ConvActivation act)
      : act_(act),
        alpha_(info.attr_float("alpha", 1.0f)),
        beta_(info.attr_float("beta", 1.0f)),
        trans_a_(info.attr_int("transA") != 0),
        trans_b_(info.attr_int("transB") != 0) {
    const Tensor* b = info.constant_input(1);
    if (b && b->dtype() == DataType::float32 && b->rank() == 2 && b->size() > 0) {
      const int64_t K = trans_b_ ? b->dim(1) : b->dim(0), N = trans_b_ ? b->dim(0) : b->dim(1);
      packed_b_ = std::make_shared<PackedMatrix<float>>(kernels::pack_b(K, N, b->data<float>(), b->dim(1), trans_b_));
    }
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(1));
    const Tensor* c = ctx.input(2);
    if (a->rank() != 2 || b->rank() != 2)
      return ctx.error("Gemm needs 2-D A and B, got ", shape_to_string(a->shape()), " and ", shape_to_string(b->shape()));
    if (a->dtype() != b->dtype() || (c && c->dtype() != a->dtype()))
      return ctx.error("Gemm inputs must share one element type");
    const int64_t M = trans_a_ ? a->dim(1) : a->dim(0), K = trans_a_ ? a->dim(0) : a->dim(1);
    const int64_t Kb = trans_b_ ? b->dim(1) : b->dim(0), N = trans_b_ ? b->dim(0) : b->dim(1);
    if (K != Kb)
      return ctx.error("Gemm inner dimensions differ: A ", shape_to_string(a->shape()), (trans_a_ ? " (transposed)" : ""),
                       ", B ", shape_to_string(b->shape()), (trans_b_ ? " (transposed)" : ""));
    if (c) {
      const Shape& s = c->shape();
      const bool ok = s.size() <= 2 && (s.empty() || s.back() == N || s.back() == 1) &&
                      (s.size() < 2 || s[0] == M || s[0] == 1);
      if (!ok) return ctx.error("Gemm input C of shape ", shape_to_string(s), " does not broadcast to [", M, ",", N, "]");
    }
    if (act_.kind != ConvActivation::Kind::none && !(kFloatTypes & type_bit(a->dtype())))
      return ctx.error("FusedGemm with an activation takes float types, got ", dtype_name(a->dtype()));
    Tensor& y = ctx.allocate_output_uninitialized(0, a->dtype(), {M, N});
    if (y.size() == 0) return Status::ok();
    const int64_t lda = a->dim(1), ldb = b->dim(1);
    return dispatch<kMatMulTypes>(
        a->dtype(),
        [&]<class T>() -> Status {
          if constexpr (std::is_same_v<T, float>) {
            GemmEpilogue<float> ep;
            ep.clip_min = act_.clamp_min();
            ep.clip_max = act_.clamp_max();
            float beta = 0;
            // A row of biases with beta == 1 (Linear layers) is added in the GEMM's epilogue.
            const bool row_bias = c && beta_ == 1.0f && c->size() == N && (c->rank() == 1 || c->dim(0) == 1);
            if (row_bias) {
              ep.bias_n = c->data<float>();
            } else if (c && beta_ != 0.0f) {
              fill_broadcast_c<float, float>(*c, M, N, 1.0f, y.data<float>());
              beta = beta_;
            }
            gemm_any<float>(trans_a_, trans_b_, M, N, K, alpha_, a->data<float>(), lda, b->data<float>(), ldb, beta,
                            y.data<float>(), N, &ctx.thread_pool(), packed_b_.get(), &ep);
            apply_activation(act_, y.data<float>(), y.size());  // clamps ran in the epilogue
          } else if constexpr (is_half_float_v<T>) {
            std::vector<float> af(static_cast<size_t>(a->size())), bf(static_cast<size_t>(b->size())),
                yf(static_cast<size_t>(y.size()));
            widen_span(a->data<T>(), af.data(), a->size());
            widen_span(b->data<T>(), bf.data(), b->size());
            if (c && beta_ != 0.0f) fill_broadcast_c<T, float>(*c, M, N, beta_, yf.data());
            kernels::gemm(M, N, K, alpha_, {af.data(), lda, trans_a_}, {bf.data(), ldb, trans_b_},
                          c && beta_ != 0.0f ? 1.0f : 0.0f, yf.data(), N, {}, &ctx.thread_pool());
            finish_activation(act_, yf.data(), y.size());
            narrow_span(yf.data(), y.data<T>(), y.size());
          } else {
            // double and integers: alpha and beta are float attributes, applied in T.
            const T alpha = static_cast<T>(alpha_), beta = static_cast<T>(beta_);
            if (c && beta != T(0)) fill_broadcast_c<T, T>(*c, M, N, T(1), y.data<T>());
            gemm_any<T>(trans_a_, trans_b_, M, N, K, alpha, a->data<T>(), lda, b->data<T>(), ldb,
                        c ? beta : T(0), y.data<T>(), N, &ctx.thread_pool());
            if constexpr (std::is_same_v<T, double>) finish_activation(act_, y.data<T>(), y.size());
          }
          return Status::ok();
        },
        ctx.node());
  }

  bool owns_constant(size_t i) const override { return i == 1 && packed_b_ != nullptr; }

 private:
  ConvActivation act_;
  float alpha_, beta_;
  bool trans_a_, trans_b_;
  std::shared_ptr<const PackedMatrix<float>> packed_b_;
};

// GELU over a finished block of the GEMM's output (GemmEpilogue::finish), FusedConv's GELU.
void gelu_block(float* c, int64_t ldc, int64_t rows, int64_t cols) {
  const ConvActivation gelu{ConvActivation::Kind::gelu};
  for (int64_t r = 0; r < rows; ++r) apply_activation(gelu, c + r * ldc, cols);
}

// An operand of com.microsoft FusedMatMul in plain MatMul layout, as C: with trans_batch the first
// dim moves behind the other batch dims ([d0, b1.., r, c] -> [b1.., d0, c]), with trans the last
// two swap. Returns the logical shape.
template <class T, class C>
Shape transposed_operand(const T* src, const Shape& s, bool trans_batch, bool trans, std::vector<C>& dst) {
  const size_t r = s.size();
  std::vector<size_t> perm(r);
  std::iota(perm.begin(), perm.end(), size_t{0});
  if (trans_batch && r > 2) std::rotate(perm.begin(), perm.begin() + 1, perm.end() - 1);
  if (trans && r >= 2) std::swap(perm[r - 1], perm[r - 2]);
  std::vector<int64_t> stride(r, 1);
  for (size_t i = r; i-- > 1;) stride[i - 1] = stride[i] * s[i];
  Shape out(r);
  std::vector<int64_t> from(r);
  for (size_t i = 0; i < r; ++i) out[i] = s[perm[i]], from[i] = stride[perm[i]];
  const int64_t n = shape_size(s);
  dst.resize(static_cast<size_t>(n));
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    dst[static_cast<size_t>(k)] = to_computed<C>(src[off]);
    for (size_t i = r; i-- > 0;) {
      off += from[i];
      if (++idx[i] < out[i]) break;
      off -= from[i] * out[i];
      idx[i] = 0;
    }
  }
  return out;
}

// FusedMatMul of both domains.
// com.tessera FusedMatMul(A, B, bias) {activation = "" | "Relu" | "Gelu"}: MatMul (numpy batch
// broadcasting) + bias[N] added to every row + the activation, written by matmul_bias_fusion.
// float32 only. With B a constant 2-D matrix (the fused case) it is packed once, every batch of
// A becomes rows of one GEMM, and bias and Relu run in its epilogue; GELU runs
// over the GEMM's output.
// com.microsoft FusedMatMul(A, B) {alpha, transA, transB, transBatchA, transBatchB}, written by
// ONNX Runtime's optimizer for a MatMul with a Transpose or a scalar Mul folded in: float types;
// transposed operands are copied into MatMul layout first, and alpha scales the product.
class FusedMatMulKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::string act = info.attr_string("activation", "");
    if (act != "" && act != "Relu" && act != "Gelu")
      return info.error("attribute 'activation' must be '', 'Relu' or 'Gelu', got '", act, "'");
    return std::unique_ptr<OpKernel>(new FusedMatMulKernel(info, act));
  }

  Status compute(KernelContext& ctx) const override {
    if (microsoft_) return compute_microsoft(ctx);
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* bias, ctx.required_input(2));
    if (a->dtype() != DataType::float32 || b->dtype() != DataType::float32 || bias->dtype() != DataType::float32)
      return ctx.error("FusedMatMul takes float32 inputs");
    TS_ASSIGN_OR_RETURN(MatMulPlan plan, plan_matmul(ctx, a->shape(), b->shape()));
    if (bias->size() != plan.N)
      return ctx.error("bias of shape ", shape_to_string(bias->shape()), " does not match N = ", plan.N);
    Tensor& y = ctx.allocate_output_uninitialized(0, DataType::float32, plan.out_shape);
    if (y.size() == 0) return Status::ok();
    const float* A = a->data<float>();
    const float* B = b->data<float>();
    float* Y = y.data<float>();
    const int64_t batches = plan.batches;
    const bool fold = plan.one_tall_gemm();
    GemmEpilogue<float> ep;
    ep.bias_n = bias->data<float>();
    if (activation_ == "Relu") ep.clip_min = 0.0f;
    const bool gelu = activation_ == "Gelu";
    const PackedMatrix<float>* packed = packed_b_ && b->rank() == 2 ? packed_b_.get() : nullptr;
    ThreadPool& pool = ctx.thread_pool();
    if (fold) {
      // Rows of one tall GEMM, bias, Relu and GELU in its epilogue.
      const int64_t rows = plan.M * batches, N = plan.N, K = plan.K;
      if (gelu) ep.finish = gelu_block;
      gemm_any<float>(false, false, rows, N, K, 1.0f, A, K, B, N, 0.0f, Y, N, &pool, packed, &ep);
      return Status::ok();
    }
    run_matmul<float>(plan, A, B, Y, pool, packed);
    const float* bp = bias->data<float>();
    const int64_t rows = y.size() / plan.N;
    pool.parallel_for(rows, std::max<int64_t>(1, 16384 / plan.N), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* yr = Y + r * plan.N;
        for (int64_t j = 0; j < plan.N; ++j) yr[j] = std::max(yr[j] + bp[j], ep.clip_min);
      }
      if (gelu) gelu_block(Y + r0 * plan.N, plan.N, r1 - r0, plan.N);
    });
    return Status::ok();
  }

  bool owns_constant(size_t i) const override { return i == 1 && packed_b_ != nullptr; }

 private:
  FusedMatMulKernel(const KernelInfo& info, std::string activation)
      : activation_(std::move(activation)),
        microsoft_(info.node().domain == "com.microsoft"),
        alpha_(microsoft_ ? info.attr_float("alpha") : 1.0f),
        trans_a_(microsoft_ && info.attr_int("transA") != 0),
        trans_b_(microsoft_ && info.attr_int("transB") != 0),
        trans_batch_a_(microsoft_ && info.attr_int("transBatchA") != 0),
        trans_batch_b_(microsoft_ && info.attr_int("transBatchB") != 0) {
    const Tensor* b = info.constant_input(1);
    if (!trans_b_ && !trans_batch_b_ && b && b->dtype() == DataType::float32 && b->rank() == 2 && b->size() > 0)
      packed_b_ = std::make_shared<PackedMatrix<float>>(kernels::pack_b(b->dim(0), b->dim(1), b->data<float>(), b->dim(1), false));
  }

  Status compute_microsoft(KernelContext& ctx) const {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(1));
    if (a->dtype() != b->dtype()) return ctx.error("A and B have different types ", dtype_name(a->dtype()), " and ", dtype_name(b->dtype()));
    return dispatch<kFloatTypes>(
        a->dtype(),
        [&]<class T>() -> Status {
          using C = compute_t<T>;
          std::vector<C> a_buf, b_buf, y_buf;
          const bool copy_a = trans_a_ || trans_batch_a_ || !std::is_same_v<T, C>;
          const bool copy_b = trans_b_ || trans_batch_b_ || !std::is_same_v<T, C>;
          const Shape as = copy_a ? transposed_operand(a->data<T>(), a->shape(), trans_batch_a_, trans_a_, a_buf) : a->shape();
          const Shape bs = copy_b ? transposed_operand(b->data<T>(), b->shape(), trans_batch_b_, trans_b_, b_buf) : b->shape();
          TS_ASSIGN_OR_RETURN(MatMulPlan plan, plan_matmul(ctx, as, bs));
          Tensor& y = ctx.allocate_output_uninitialized(0, a->dtype(), plan.out_shape);
          if (y.size() == 0) return Status::ok();
          const C* pa = copy_a ? a_buf.data() : reinterpret_cast<const C*>(a->data<T>());
          const C* pb = copy_b ? b_buf.data() : reinterpret_cast<const C*>(b->data<T>());
          if constexpr (!std::is_same_v<T, C>) y_buf.resize(static_cast<size_t>(y.size()));
          C* py = std::is_same_v<T, C> ? reinterpret_cast<C*>(y.data<T>()) : y_buf.data();
          const PackedMatrix<float>* packed = nullptr;
          if constexpr (std::is_same_v<T, float>)
            if (packed_b_ && b->rank() == 2) packed = packed_b_.get();
          run_matmul<C>(plan, pa, pb, py, ctx.thread_pool(), packed);
          if (alpha_ != 1.0f)
            for (int64_t i = 0; i < y.size(); ++i) py[i] *= static_cast<C>(alpha_);
          if constexpr (!std::is_same_v<T, C>) narrow_span(y_buf.data(), y.data<T>(), y.size());
          return Status::ok();
        },
        ctx.node());
  }

  std::string activation_;
  bool microsoft_;
  float alpha_;
  bool trans_a_, trans_b_, trans_batch_a_, trans_batch_b_;
  std::shared_ptr<const PackedMatrix<float>> packed_b_;
};

}  // namespace

void register_matmul(KernelRegistry& r) {
  r.add({"com.tessera", "FusedMatMul", 1, 1, FusedMatMulKernel::create});
  r.add({"com.microsoft", "FusedMatMul", 1, 1, FusedMatMulKernel::create});
  r.add({"", "MatMul", 1, kLatestOnnxOpset, make_factory<MatMulKernel>()});
  r.add({"", "Gemm", 1, kLatestOnnxOpset, GemmKernel::create});
  r.add({"com.microsoft", "FusedGemm", 1, 1, GemmKernel::create});
}

}  // namespace tessera
