// Internal to microkernels/: the per-ISA hot loops. Each ISA translation unit (isa_portable.cc,
// isa_avx2.cc, isa_avx512.cc) compiles the *_impl.h templates with its own flags and returns a
// table of function pointers; isa_select.cc picks one table, once, from the CPU it runs on.
#pragma once

#include <cstdint>

namespace tessera::kernels::detail {

constexpr int kMaxMR = 16;
constexpr int kMaxNarrowCols = 4;  // columns past a half panel that ukernel_narrow finishes
constexpr int kMaxVectorFloats = 16;  // floats in the widest vector register (AVX-512)

// What a GEMM micro-kernel does after the k loop, for one MR x NR tile of C.
template <class T>
struct UkernelArgs {
  T alpha;
  T beta;           // 0: C is not read
  const T* residual;     // added with beta * C (first k block), offset to the tile; or null
  int64_t ld_residual;
  const T* bias_m;  // already offset to the tile's first row, or null
  const T* bias_n;  // already offset to the tile's first column, or null
  T clip_min, clip_max;
  bool last;  // last k block: apply bias and clamp
  int64_t lda;  // the *_direct_a kernels: the row stride of A, read in place
  // ukernel and ukernel_half: how far apart the A panel's groups of MR values are, one per k. 0
  // means MR (a packed panel); a transposed A read in place gives its row stride.
  int64_t a_step = 0;
};

// C tile (mr rows, where mr is fixed per entry of the table, and nr <= NR columns)
//   = alpha * Apanel[kc x MR] * Bpanel[kc x NR] + beta * C.
// The A panel holds MR values per k (rows beyond mr are padding), the B panel NR values per k,
// ldb apart: NR for a packed panel, the row stride for a row-major B read in place.
template <class T>
using UkernelFn = void (*)(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t nr,
                           const UkernelArgs<T>& args);

template <class T>
struct KernelSet {
  int mr = 0;
  int nr = 0;
  int64_t kc = 0;  // depth of one packed block
  int64_t mc = 0;  // rows of A per packed block (multiple of mr)
  int64_t nc = 0;  // columns of B per packed block (multiple of nr)
  UkernelFn<T> ukernel[kMaxMR] = {};  // entry r-1 computes r rows
  // The same, NR/2 columns wide (reading NR-wide panels): a last panel of at most NR/2 columns
  // costs half the multiply-adds (N = 196: 7 panels of 32 do 224 columns, 6.5 do 208).
  UkernelFn<T> ukernel_half[kMaxMR] = {};
  // At most kMaxNarrowCols columns, one broadcast each (the rest of a panel just past NR/2:
  // N = 49 runs 32 + 16 + 1 columns, not 32 + 32).
  UkernelFn<T> ukernel_narrow[kMaxMR] = {};
  // ukernel and ukernel_half reading A row-major in place (`a` its first row at the k block,
  // rows args.lda apart) instead of a packed panel: activations times packed weights skip
  // packing A, as the weights are read many times more than the activations.
  UkernelFn<T> ukernel_direct_a[kMaxMR] = {};
  UkernelFn<T> ukernel_half_direct_a[kMaxMR] = {};
  void (*axpy)(int64_t n, T s, const T* x, T* y) = nullptr;  // y += s * x
  // acc[0, MR) += Apanel[k x MR] * x[k] over k < kc: one packed A panel times a column (N == 1).
  void (*gemv_panel)(int64_t kc, const T* a, const T* x, T* acc) = nullptr;
  T (*dot)(int64_t n, const T* x, const T* y) = nullptr;
  // One lanes x lanes tile transposed in registers (lanes: the values in one vector):
  // dst[r * ldd + c] = src[c * lds + r], source rows c >= `rows` read as zero (not read). Packs
  // a B stored transposed (Gemm transB = 1: Linear layers' weights) a tile at a time instead of
  // one strided scalar store per value.
  int lanes = 0;
  void (*transpose_tile)(const T* src, int64_t lds, int64_t rows, T* dst, int64_t ldd) = nullptr;
};

// One output row of a depthwise convolution where every tap is in bounds:
// y[i] = clamp(bias + sum_t w[t] * src[t][i], lo, hi) for i in [0, n). May read (never use) up to
// kMaxVectorFloats elements past src[t] + n.
using DepthwiseRowFn = void (*)(int64_t taps, const float* const* src, const float* w, float bias, int64_t n,
                                float lo, float hi, float* y);

// One output row of a depthwise convolution read straight from the input plane (no padded
// copy), for n outputs whose taps all lie inside the rows: y[i] = clamp(bias + sum over r < rows,
// k < kw of w[r * kw + k] * x[r * ld + i * stride + k], lo, hi). stride is 1 or 2. Reads only
// elements that some output uses.
using DepthwiseDirectFn = void (*)(const float* x, int64_t ld, int64_t rows, int64_t kw, int64_t stride,
                                   const float* w, float bias, int64_t n, float lo, float hi, float* y);

// A depthwise convolution of L = vector_floats channels at once, each channel in one lane of a
// vector (channel-blocked): small planes, whose rows are too short to fill vectors, still run
// whole vectors. Padded rows and columns read zero; no bounds checks in the tap loops.
struct DepthwiseBlockArgs {
  const float* x;  // L input planes of H x W, `plane` floats apart; or, when interleaved, the
                   // block already as [H][W][L] (the blocked channel layout), copied row by row
  bool interleaved = false;
  int64_t plane, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw;
  const float* w;     // [KH * KW][L]: tap t of channel l at w[t * L + l]
  const float* bias;  // [L]
  float lo, hi;       // clamp of every output
  // Hp x Wp x L floats, Hp = (OH - 1) * sh + (KH - 1) * dh + 1 and Wp likewise: the planes
  // interleaved and zero-padded. Input rows past Hp - ph are not read.
  float* padded;
  float* out;  // [OH * OW][L]
};
using DepthwiseBlockFn = void (*)(const DepthwiseBlockArgs& args);

// y[l * ld + p] = src[p * L + l] for p < positions, l < L: back from the channel-blocked layout.
using UnblockFn = void (*)(const float* src, int64_t positions, int64_t ld, float* y);

// One output row segment of a convolution in the channel-blocked layout ([C/L][H][W][L] per image,
// L = vector_floats): `count` pixels, NB output blocks (fixed per kernel), every tap in bounds
// (the caller pads the input rows when the convolution has padding). The pixels' inputs are S * L
// floats apart (S = the kernel's stride along W).
//   y[nb][p][:] = clamp(bias[nb] + z[nb][p] + sum over cb, kh, kw, l of
//                       x[cb * x_block + kh * x_row + kw * x_tap + p * S * L + l] * w[nb][cb][kh][kw][l][:], lo, hi)
// The input blocks may come in chunks (the pointwise kernel's, conv_pointwise.h): a call that is
// not `first` adds to the sums already in y instead of starting from the bias, and one that is
// not `last` stores the sums without z and the clamp. The planar rows read an NCHW input instead
// ([C][H][W] per image, the RGB stem): pixels S floats apart, input lane l x_lane floats after
// lane 0, blocks L * x_lane apart.
struct ConvBlockedRowArgs {
  const float* x;  // the first pixel's first tap in the first input block
  int64_t x_row, x_tap, x_block;
  int64_t x_prow;  // two_rows: floats between the inputs of the two output rows
  int64_t cb, kh, kw;  // input blocks and taps
  int64_t lanes;       // input channels of the last block, 1..L (its other lanes are not read)
  int64_t x_lane = 1;  // planar rows: floats between two input channels' planes
  const float* w;      // packed weights of the first output block: [cb][kh][kw][L][L] (input lane, output lane)
  int64_t w_block;     // floats between two output blocks' weights
  const float* bias;   // [NB][L], or null
  const float* z;      // residual shaped like y, or null
  float* y;            // the first pixel of the first output block; pixels L floats apart
  int64_t y_block;     // floats between two output blocks (of y and z)
  int64_t count;
  float lo, hi;
  bool first = true, last = true;
};
using ConvBlockedRowFn = void (*)(const ConvBlockedRowArgs& args);

// row[S - 1][NB - 1]: stride S along W, NB = 1 or 2 output blocks. two_rows: the same for two
// whole output rows of count <= two_rows_width pixels each (y and z run on from one to the next).
// planar_row: row's tiles over a planar (NCHW) input.
struct ConvBlockedKernels {
  ConvBlockedRowFn row[2][2] = {};
  ConvBlockedRowFn planar_row[2][2] = {};
  ConvBlockedRowFn two_rows[2][2] = {};
  int64_t two_rows_width = 0;
};

// The transforms of the Winograd convolutions F(T x T, 3x3), T = 2 or 4 (conv_winograd.h), one
// vector of L channels of one block at a time; A = T + 2. Input: `tiles` tiles along a row of
// tiles of the block's plane x ([H][W][L]), tile j reading the A x A pixels from input row row0
// and column col0 + T * j (pixels outside the plane read as zero: the padding), writing position
// k's vector (k < A * A) at v + k * position_floats + j * L.
struct WinogradInputArgs {
  const float* x;
  int64_t H, W;
  int64_t row0, col0;
  int64_t tiles;
  float* v;
  int64_t position_floats;
};
using WinogradInputFn = void (*)(const WinogradInputArgs& args);
// Output: tile j's A * A vectors from m + k * position_floats + j * L into the T x T pixels at
// y + T * j * L (rows row_floats apart) plus bias (L floats, or null) and z (shaped like y, or
// null), clamped; only `rows` (<= T) rows and the pixels before column `cols` are written.
struct WinogradOutputArgs {
  const float* m;
  int64_t position_floats;
  int64_t tiles;
  const float* bias;
  const float* z;
  float* y;
  int64_t row_floats;
  int rows;
  int64_t cols;
  float lo, hi;
};
using WinogradOutputFn = void (*)(const WinogradOutputArgs& args);
// Weights: one [L][L] block, g as [input lane][tap (9)][output lane], into position k's block at
// packed + k * position_floats ([input lane][output lane], k < A * A).
using WinogradWeightFn = void (*)(const float* g, float* packed, int64_t position_floats);
// Entry 0: F(2x2, 3x3); entry 1: F(4x4, 3x3).
struct WinogradKernels {
  WinogradWeightFn weights[2] = {};
  WinogradInputFn input[2] = {};
  WinogradOutputFn output[2] = {};
};

struct IsaKernels {
  const char* name;
  KernelSet<float> f32;
  KernelSet<double> f64;
  DepthwiseRowFn depthwise_row_f32;
  DepthwiseDirectFn depthwise_direct_f32;
  DepthwiseBlockFn depthwise_block_f32;
  UnblockFn unblock_f32;
  int vector_floats;  // floats per vector register of this ISA: L of the channel-blocked kernels
  ConvBlockedKernels conv_blocked;
  WinogradKernels winograd;
};

IsaKernels isa_kernels_portable();
IsaKernels isa_kernels_avx2();
IsaKernels isa_kernels_avx512();

// The table for this CPU (TESSERA_ISA=avx2|portable forces a lower one), chosen on first use.
const IsaKernels& active_isa();

}  // namespace tessera::kernels::detail
