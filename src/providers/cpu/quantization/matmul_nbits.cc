// com.microsoft MatMulNBits: Y = A x dequantize(B)^T (+ bias), the layer type of int4 LLMs.
//
// B is [N, k_blocks, blob]: for each output column n, K codes of `bits` bits packed low-first,
// block_size codes a block (the last block zero-padded). Each (n, block) has a scale and a zero
// point (packed uint8 codes, or float of A's type; default 2^(bits-1)); g_idx, when given, names
// each k's block instead of k / block_size. A value is (code - zero_point) * scale.
//
// Codes of 4 and 8 bits (without g_idx) are repacked once, at the same size, into words that
// SIMD lanes decode with one shift and mask (see `lanes`). Two paths: a few rows of A (token
// generation) run a fused dot product over the packed words that never writes a float B
// (memory-bound: 8x fewer bytes than float weights); more rows dequantize 32 columns at a time
// into a float panel and hand it to the GEMM.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "providers/cpu/microkernels/elementwise_simd.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/quantization/microsoft_quant.h"
#include "providers/cpu/quantization/quant_common.h"

namespace tessera::quant {
namespace {

// B and its per-block parameters as the kernels read them.
struct NBitsWeights {
  Tensor codes;                // uint8 [N, k_blocks, blob] (kept so its bytes stay alive)
  std::vector<uint32_t> lanes;  // bits 4 and 8 without g_idx: the codes repacked (repack_lanes)
  int64_t lane_words = 0;       // words per column in `lanes`
  std::vector<float> scale;    // [N * k_blocks]
  std::vector<float> zero;     // [N * k_blocks], in code units
  std::vector<int32_t> g_idx;  // [K] block of each k; empty: k / block_size
  std::vector<float> bias;     // [N], or empty
};

struct NBitsAttrs {
  int64_t K = 0, N = 0, bits = 4, block_size = 0, k_blocks = 0, blob = 0;
};

void repack_lanes(const NBitsAttrs& a, NBitsWeights& w);

Status prepare_weights(const NBitsAttrs& a, const Tensor& b, const Tensor& scales, const Tensor* zp, const Tensor* g_idx,
                       const Tensor* bias, const Node& where, NBitsWeights& w) {
  auto fail = [&](auto... args) { return invalid_argument(where.describe(), ": ", args...); };
  if (b.dtype() != DataType::uint8) return fail("B must be uint8 (packed codes)");
  if (b.size() != a.N * a.k_blocks * a.blob)
    return fail("B ", shape_to_string(b.shape()), " must hold N x ceil(K / block_size) x block_size * bits / 8 = ", a.N,
                " x ", a.k_blocks, " x ", a.blob, " bytes");
  const int64_t per_column = a.k_blocks;
  if (scales.size() != a.N * per_column)
    return fail("scales ", shape_to_string(scales.shape()), " must have N x ceil(K / block_size) = ", a.N * per_column,
                " elements");
  w.codes = b;
  TS_RETURN_IF_ERROR(read_all(scales, w.scale, where));
  w.zero.assign(static_cast<size_t>(a.N * per_column), static_cast<float>(1 << (a.bits - 1)));
  if (zp && zp->dtype() == DataType::uint8) {
    // Packed like B: ceil(k_blocks * bits / 8) bytes per column, low bits first.
    const int64_t zp_stride = (per_column * a.bits + 7) / 8;
    if (zp->size() != a.N * zp_stride)
      return fail("uint8 zero_points ", shape_to_string(zp->shape()), " must have N x ceil(k_blocks * bits / 8) = ",
                  a.N * zp_stride, " elements");
    const uint8_t* z = zp->data<uint8_t>();
    const int mask = (1 << a.bits) - 1;
    for (int64_t n = 0; n < a.N; ++n)
      for (int64_t blk = 0; blk < per_column; ++blk) {
        const int64_t bit = blk * a.bits;
        w.zero[n * per_column + blk] = static_cast<float>((z[n * zp_stride + bit / 8] >> (bit % 8)) & mask);
      }
  } else if (zp) {
    if (zp->size() != a.N * per_column)
      return fail("zero_points of A's type must have N x ceil(K / block_size) = ", a.N * per_column, " elements");
    TS_RETURN_IF_ERROR(read_all(*zp, w.zero, where));
  }
  w.g_idx.clear();
  if (g_idx) {
    if (g_idx->dtype() != DataType::int32 || g_idx->size() != a.K) return fail("g_idx must be int32 with K = ", a.K, " elements");
    w.g_idx.assign(g_idx->data<int32_t>(), g_idx->data<int32_t>() + a.K);
    for (int32_t v : w.g_idx)
      if (v < 0 || v >= per_column) return fail("g_idx value ", v, " is not a block index below ", per_column);
  }
  w.bias.clear();
  if (bias) {
    if (bias->size() != a.N) return fail("bias must have N = ", a.N, " elements");
    TS_RETURN_IF_ERROR(read_all(*bias, w.bias, where));
  }
  w.lanes.clear();
  if (w.g_idx.empty() && (a.bits == 4 || a.bits == 8)) repack_lanes(a, w);
  return Status::ok();
}

// ---- the lane layout: bits 4 and 8, blocks by k / block_size ----
//
// Each column's codes, padded to whole groups of kLanes * 32 / bits codes (64 of 4 bits, 32 of
// 8), are stored as kLanes words per group: word j holds the group's codes j, j + 8, j + 16, ...
// at bits 0, bits, 2 * bits, ... So step t of a group, (words >> t * bits) & mask, puts the 8
// consecutive codes 8t .. 8t + 7 in the 8 lanes: no widening of bytes, no shuffles.

constexpr int64_t kLanes = 8;

bool lane_layout(const NBitsWeights& w) { return !w.lanes.empty(); }
int64_t group_codes(const NBitsAttrs& a) { return kLanes * (32 / a.bits); }
int64_t padded_codes(const NBitsAttrs& a) {
  const int64_t g = group_codes(a);
  return (a.k_blocks * a.block_size + g - 1) / g * g;
}

void repack_lanes(const NBitsAttrs& a, NBitsWeights& w) {
  const int64_t per_group = group_codes(a), stored = a.k_blocks * a.block_size, mask = (1 << a.bits) - 1;
  w.lane_words = padded_codes(a) / per_group * kLanes;
  w.lanes.assign(static_cast<size_t>(a.N * w.lane_words), 0u);
  for (int64_t n = 0; n < a.N; ++n) {
    const uint8_t* codes = w.codes.data<uint8_t>() + n * a.k_blocks * a.blob;
    uint32_t* out = w.lanes.data() + n * w.lane_words;
    for (int64_t k = 0; k < stored; ++k) {
      const int64_t bit = k * a.bits, group = k / per_group, r = k % per_group;
      const uint32_t code = static_cast<uint32_t>((codes[bit / 8] >> (bit % 8)) & mask);
      out[group * kLanes + r % kLanes] |= code << (a.bits * (r / kLanes));
    }
  }
}

// Walks a column's codes 8 at a time from code k0 (a multiple of 8): `words` is the group's
// first word, `shift` the bit offset of the current 8 codes within each word.
template <int BITS>
struct LaneCursor {
  const uint32_t* words;
  int shift;
  LaneCursor(const uint32_t* column, int64_t k0)
      : words(column + k0 / (kLanes * (32 / BITS)) * kLanes),
        shift(BITS * static_cast<int>(k0 % (kLanes * (32 / BITS)) / kLanes)) {}
  void next() {
    shift += BITS;
    if (shift == 32) {
      shift = 0;
      words += kLanes;
    }
  }
};

// Codes h .. h + L - 1 (h = 0 or 4 when L = 4) of the cursor's 8, as floats.
template <int L, int BITS, class VF>
TS_SIMD VF codes_at(const LaneCursor<BITS>& at, int h) {
  simd::ivec<VF> words;
  std::memcpy(&words, at.words + h, sizeof words);
  return __builtin_convertvector((words >> at.shift) & ((1 << BITS) - 1), VF);
}

// Column n of dequantize(B) into out[0, k_blocks * block_size), k order.
template <int L, int BITS>
TS_SIMD void dequantize_lanes(const NBitsAttrs& a, const NBitsWeights& w, int64_t n, float* out) {
  using VF = typename simd::Lanes<L>::f;
  LaneCursor<BITS> at(w.lanes.data() + n * w.lane_words, 0);
  for (int64_t blk = 0; blk < a.k_blocks; ++blk) {
    const VF zero = simd::splat<VF>(w.zero[n * a.k_blocks + blk]);
    const VF scale = simd::splat<VF>(w.scale[n * a.k_blocks + blk]);
    float* o = out + blk * a.block_size;
    for (int64_t k = 0; k < a.block_size; k += kLanes, at.next())
      for (int h = 0; h < kLanes; h += L) simd::store(o + k + h, (codes_at<L, BITS, VF>(at, h) - zero) * scale);
  }
}

// Column n of dequantize(B) into out[0, K), any bits, g_idx: the reference-shaped path.
void dequantize_column(const NBitsAttrs& a, const NBitsWeights& w, int64_t n, float* out) {
  const uint8_t* codes = w.codes.data<uint8_t>() + n * a.k_blocks * a.blob;
  const int mask = (1 << a.bits) - 1;
  for (int64_t k = 0; k < a.K; ++k) {
    const int64_t bit = k * a.bits;  // blocks are whole bytes, so the stream is contiguous
    const float code = static_cast<float>((codes[bit / 8] >> (bit % 8)) & mask);
    const int64_t blk = n * a.k_blocks + (w.g_idx.empty() ? k / a.block_size : w.g_idx[k]);
    out[k] = (code - w.zero[blk]) * w.scale[blk];
  }
}

// Y[M, N] = A[M, K] x dequantize(B)^T + bias, through float panels of kPanel columns (rows of
// `stride` floats) handed to the GEMM.
void matmul_panels(const NBitsAttrs& a, const NBitsWeights& w, const float* A, int64_t M, float* Y, KernelContext& ctx) {
  constexpr int64_t kPanel = 32;
  const bool lanes = lane_layout(w);
  const int64_t stride = lanes ? a.k_blocks * a.block_size : a.K;
  const int64_t tiles = (a.N + kPanel - 1) / kPanel;
  ctx.thread_pool().parallel_for(tiles, 1, [&](int64_t t0, int64_t t1) {
    Tensor panel = ctx.scratch(DataType::float32, kPanel * stride);
    float* p = panel.data<float>();
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n0 = t * kPanel, nt = std::min(kPanel, a.N - n0);
      if (lanes) {
        simd::with_best_isa([&]<int L>() TS_SIMD_BODY {
          for (int64_t j = 0; j < nt; ++j) {
            if (a.bits == 4) dequantize_lanes<L, 4>(a, w, n0 + j, p + j * stride);
            else dequantize_lanes<L, 8>(a, w, n0 + j, p + j * stride);
          }
        });
      } else {
        for (int64_t j = 0; j < nt; ++j) dequantize_column(a, w, n0 + j, p + j * stride);
      }
      kernels::GemmEpilogue<float> epilogue;
      if (!w.bias.empty()) epilogue.bias_n = w.bias.data() + n0;
      kernels::gemm(M, nt, a.K, 1.0f, {A, a.K, false}, {p, stride, true}, 0.0f, Y + n0, a.N, epilogue, nullptr);
    }
  });
}

// ---- the fused dot product for a few rows (lane layout) ----

constexpr int64_t kMaxFusedRows = 4;

// Columns [n, n + NC) of Y for MR rows of A zero-padded to padded_codes (x), L float lanes.
// Codes are decoded once for all rows and multiplied as they are; the zero point comes out per
// block as scale * zero * sum(x over the block) (xsum [MR, k_blocks]), and the scale multiplies
// once per block. NC columns share each load of x.
template <int L, int BITS, int MR, int NC>
TS_SIMD void fused_columns(const NBitsAttrs& a, const NBitsWeights& w, const float* x, const float* xsum, int64_t n,
                           float* Y) {
  using VF = typename simd::Lanes<L>::f;
  const int64_t stride = padded_codes(a);
  VF acc[MR][NC];
  float corr[MR][NC];
  for (int m = 0; m < MR; ++m)
    for (int c = 0; c < NC; ++c) acc[m][c] = VF{}, corr[m][c] = 0.0f;
  LaneCursor<BITS> at(w.lanes.data() + n * w.lane_words, 0);  // column n; column n + c is c * lane_words on
  for (int64_t blk = 0; blk < a.k_blocks; ++blk) {
    VF part[MR][NC];
    for (int m = 0; m < MR; ++m)
      for (int c = 0; c < NC; ++c) part[m][c] = VF{};
    const float* xb = x + blk * a.block_size;
    for (int64_t k = 0; k < a.block_size; k += kLanes, at.next()) {
      for (int h = 0; h < kLanes; h += L) {
        VF code[NC];
        for (int c = 0; c < NC; ++c) {
          LaneCursor<BITS> column = at;
          column.words += c * w.lane_words;
          code[c] = codes_at<L, BITS, VF>(column, h);
        }
        for (int m = 0; m < MR; ++m) {
          const VF xv = simd::load<VF>(xb + m * stride + k + h);
          for (int c = 0; c < NC; ++c) part[m][c] += code[c] * xv;
        }
      }
    }
    for (int c = 0; c < NC; ++c) {
      const int64_t b = (n + c) * a.k_blocks + blk;
      const float scale = w.scale[b], zero = w.zero[b];
      for (int m = 0; m < MR; ++m) {
        acc[m][c] += simd::splat<VF>(scale) * part[m][c];
        corr[m][c] += scale * zero * xsum[m * a.k_blocks + blk];
      }
    }
  }
  for (int c = 0; c < NC; ++c) {
    const float bias = w.bias.empty() ? 0.0f : w.bias[n + c];
    for (int m = 0; m < MR; ++m) {
      float sum = 0.0f;
      for (int i = 0; i < L; ++i) sum += acc[m][c][i];
      Y[m * a.N + n + c] = sum - corr[m][c] + bias;
    }
  }
}

template <int MR>
void fused_rows(const NBitsAttrs& a, const NBitsWeights& w, const float* x, const float* xsum, float* Y, KernelContext& ctx) {
  // Two columns at a time where the registers allow (acc and part: 2 * MR * NC vectors).
  constexpr int NC = MR <= 2 ? 2 : 1;
  const int64_t pairs = (a.N + NC - 1) / NC;
  // About 2 * K flops per column and row: chunks of at least ~64k flops are worth a thread.
  const int64_t min_chunk = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, a.K * MR * NC));
  ctx.thread_pool().parallel_for(pairs, min_chunk, [&](int64_t p0, int64_t p1) {
    simd::with_best_isa([&]<int L>() TS_SIMD_BODY {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t n = p * NC;
        if (n + NC > a.N) {  // the odd last column
          if (a.bits == 4) fused_columns<L, 4, MR, 1>(a, w, x, xsum, n, Y);
          else fused_columns<L, 8, MR, 1>(a, w, x, xsum, n, Y);
        } else if (a.bits == 4) {
          fused_columns<L, 4, MR, NC>(a, w, x, xsum, n, Y);
        } else {
          fused_columns<L, 8, MR, NC>(a, w, x, xsum, n, Y);
        }
      }
    });
  });
}

void matmul_fused(const NBitsAttrs& a, const NBitsWeights& w, const float* A, int64_t M, float* Y, KernelContext& ctx) {
  const int64_t stride = padded_codes(a);
  Tensor padded = ctx.scratch(DataType::float32, M * stride);
  Tensor sums = ctx.scratch(DataType::float32, M * a.k_blocks);
  float* x = padded.data<float>();
  float* xsum = sums.data<float>();
  for (int64_t m = 0; m < M; ++m) {
    float* row = x + m * stride;
    std::copy(A + m * a.K, A + (m + 1) * a.K, row);
    std::fill(row + a.K, row + stride, 0.0f);
    for (int64_t blk = 0; blk < a.k_blocks; ++blk) {
      float sum = 0.0f;
      for (int64_t i = blk * a.block_size; i < (blk + 1) * a.block_size; ++i) sum += row[i];
      xsum[m * a.k_blocks + blk] = sum;
    }
  }
  switch (M) {
    case 1: fused_rows<1>(a, w, x, xsum, Y, ctx); break;
    case 2: fused_rows<2>(a, w, x, xsum, Y, ctx); break;
    case 3: fused_rows<3>(a, w, x, xsum, Y, ctx); break;
    default: fused_rows<4>(a, w, x, xsum, Y, ctx); break;
  }
}

class MatMulNBitsKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    NBitsAttrs a;
    TS_ASSIGN_OR_RETURN(a.K, info.required_int("K"));
    TS_ASSIGN_OR_RETURN(a.N, info.required_int("N"));
    TS_ASSIGN_OR_RETURN(a.block_size, info.required_int("block_size"));
    a.bits = info.attr_int("bits");
    if (a.bits != 2 && a.bits != 4 && a.bits != 8) return info.error("bits must be 2, 4 or 8, not ", a.bits);
    if (a.K < 1 || a.N < 1) return info.error("K and N must be positive (K = ", a.K, ", N = ", a.N, ")");
    if (a.block_size < 16 || (a.block_size & (a.block_size - 1)) != 0)
      return info.error("block_size must be a power of 2 and at least 16, not ", a.block_size);
    a.k_blocks = (a.K + a.block_size - 1) / a.block_size;
    a.blob = a.block_size * a.bits / 8;
    auto kernel = std::unique_ptr<MatMulNBitsKernel>(new MatMulNBitsKernel(a));
    // Constant weights (the usual case) are read once here.
    const Tensor* b = info.constant_input(1);
    const Tensor* scales = info.constant_input(2);
    const bool zp_ok = !info.has_input(3) || info.constant_input(3);
    const bool g_ok = !info.has_input(4) || info.constant_input(4);
    const bool bias_ok = !info.has_input(5) || info.constant_input(5);
    if (b && scales && zp_ok && g_ok && bias_ok) {
      NBitsWeights w;
      TS_RETURN_IF_ERROR(prepare_weights(a, *b, *scales, info.constant_input(3), info.constant_input(4),
                                         info.constant_input(5), info.node(), w));
      kernel->weights_ = std::move(w);
    }
    return std::unique_ptr<OpKernel>(std::move(kernel));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* A, ctx.required_input(0));
    if (A->dtype() != DataType::float32 && A->dtype() != DataType::float16) return ctx.error("A must be float or float16");
    if (A->rank() < 1 || A->shape().back() != a_.K)
      return ctx.error("A ", shape_to_string(A->shape()), " must have a last dim equal to the attribute K (", a_.K, ")");
    std::optional<NBitsWeights> per_run;
    if (!weights_) {
      TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(1));
      TS_ASSIGN_OR_RETURN(const Tensor* scales, ctx.required_input(2));
      per_run.emplace();
      TS_RETURN_IF_ERROR(prepare_weights(a_, *b, *scales, ctx.input(3), ctx.input(4), ctx.input(5), ctx.node(), *per_run));
    }
    const NBitsWeights& w = weights_ ? *weights_ : *per_run;
    const int64_t M = A->size() / a_.K;
    Shape out_shape = A->shape();
    out_shape.back() = a_.N;
    Tensor& Y = ctx.allocate_output_uninitialized(0, A->dtype(), out_shape);
    if (M == 0) return Status::ok();
    // float16 runs in float: A widened once, Y rounded once.
    const bool wide = A->dtype() == DataType::float32;
    Tensor a32, y32;
    if (!wide) {
      a32 = ctx.scratch(DataType::float32, A->size());
      widen_span(A->data<float16_t>(), a32.data<float>(), A->size());
      y32 = ctx.scratch(DataType::float32, Y.size());
    }
    const float* a = wide ? A->data<float>() : a32.data<float>();
    float* y = wide ? Y.data<float>() : y32.data<float>();
    const bool fused = M <= kMaxFusedRows && lane_layout(w);
    if (fused) matmul_fused(a_, w, a, M, y, ctx);
    else matmul_panels(a_, w, a, M, y, ctx);
    if (!wide) narrow_span(y, Y.data<float16_t>(), Y.size());
    return Status::ok();
  }

 private:
  explicit MatMulNBitsKernel(const NBitsAttrs& a) : a_(a) {}
  NBitsAttrs a_;
  std::optional<NBitsWeights> weights_;
};

}  // namespace

void register_matmul_nbits(KernelRegistry& r) { r.add({"com.microsoft", "MatMulNBits", 1, 1, MatMulNBitsKernel::create}); }

}  // namespace tessera::quant
