// The GEMM driver: packing, cache blocking and threading around the per-ISA micro-kernels of
// isa_{portable,avx2,avx512}.cc.
//
// Loop nest (row-major C, vectors along N, A values broadcast):
//   ic over M by mc -> pc over K by kc (pack A block) -> jc over N by nc (pack B block, L2)
//     -> jr over the block by NR (B micro-panel stays in L1) -> ir by MR -> micro-kernel.
// A row-major A that is not prepacked is not packed at all: its micro-kernels read it in place.
// A last panel just past NR/2 wide runs as a half panel plus 1-4 narrow columns (packed A only).
// Threads split C into a grid of tiles aligned to MR x NR; each tile is an independent sub-GEMM,
// so no synchronisation is needed inside. When there are several tiles, an operand that is not
// prepacked is packed once, in parallel, before they run (each tile packs its own blocks only when
// the operand is too large for that), and tiles that pack nothing are twice as many as the
// threads; a GEMM of one tile runs on the caller alone, packing included.
#include "providers/cpu/microkernels/gemm.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/aligned_block.h"
#include "core/deterministic.h"
#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

using detail::IsaKernels;
using detail::KernelSet;
using detail::UkernelArgs;

const IsaKernels& isa() { return detail::active_isa(); }

template <class T>
const KernelSet<T>& kernel_set();
template <>
const KernelSet<float>& kernel_set<float>() { return isa().f32; }
template <>
const KernelSet<double>& kernel_set<double>() { return isa().f64; }

template <class T>
void free_aligned(T* p) {
  std::free(p);
}

// Scratch is reused call after call; packed weights are written once (aligned_block.h).
template <class T>
std::unique_ptr<T[], void (*)(T*)> alloc_aligned(int64_t n, void* (*allocate)(size_t) = allocate_block) {
  T* p = static_cast<T*>(allocate(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T)));
  if (!p) throw std::bad_alloc();
  return {p, &free_aligned<T>};
}

// Grow-only per-thread packing buffers, reused across calls. Deliberately not the kernel
// context's scratch: GEMM tiles are packed by whichever pool thread runs them, and each panel is
// bounded by the tile sizes (mc*kc, nc*kc), not by the problem, so a thread never holds more.
// Slots 2 and 3 hold a whole operand packed once for all threads, at most kMaxSharedPack elements.
template <class T>
T* scratch(int slot, int64_t n) {
  struct Buffer {
    std::unique_ptr<T[], void (*)(T*)> data{nullptr, nullptr};
    int64_t size = 0;
  };
  thread_local Buffer buffers[4];  // 0, 1: a tile's A and B blocks; 2, 3: operands shared by tiles
  Buffer& b = buffers[slot];
  if (b.size < n) {
    b.data = alloc_aligned<T>(n);
    b.size = n;
  }
  return b.data.get();
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Depth of one k block: K cut into equal blocks of at most ks.kc. K = 576 runs 288 + 288, not
// 256 + 256 + 64, whose thin last block would load and store the C tile for a ninth of the work.
template <class T>
int64_t depth_block(const KernelSet<T>& ks, int64_t K) {
  if (K <= 0) return ks.kc;
  const int64_t blocks = (K + ks.kc - 1) / ks.kc;
  return (K + blocks - 1) / blocks;
}

// Bytes of a B block packed per (k block, column block): it is packed whole, then read panel by
// panel, so it must stay in L2 until then. Deep k blocks (1024 floats) pack 128 columns at a time.
constexpr int64_t kPackedBBlockBytes = int64_t{512} << 10;

// Columns of B per packed block: the kernel set's nc, fewer where the block would outgrow L2.
template <class T>
int64_t block_columns(const KernelSet<T>& ks, int64_t kc) {
  const int64_t fit = kPackedBBlockBytes / (kc * static_cast<int64_t>(sizeof(T))) / ks.nr * ks.nr;
  return std::clamp<int64_t>(fit, ks.nr, ks.nc);
}

// The largest operand (elements) packed once and shared by the threads of a parallel GEMM;
// larger ones are packed tile by tile, so no thread keeps a buffer the size of the problem.
constexpr int64_t kMaxSharedPack = int64_t{1} << 22;

// Row panels of A (MR rows each) up to which an unpacked B is read in place (see gemm_tile).
constexpr int64_t kDirectBMaxPanels = 8;

// Packs rows [i0, i0+mlen) x depth [p0, p0+klen) of op(A) into MR-row panels: panel r holds
// klen groups of MR values; rows past the end are zero.
template <class T>
void pack_a_block(const MatrixArg<T>& a, int64_t i0, int64_t mlen, int64_t p0, int64_t klen, int mr, T* dst) {
  for (int64_t ir = 0; ir < mlen; ir += mr, dst += klen * mr) {
    const int64_t rows = std::min<int64_t>(mr, mlen - ir);
    if (!a.trans) {
      // k outermost: each k writes one contiguous group of mr values, read from mr row streams.
      const T* src[detail::kMaxMR];
      for (int64_t i = 0; i < rows; ++i) src[i] = a.data + (i0 + ir + i) * a.ld + p0;
      for (int64_t k = 0; k < klen; ++k) {
        T* d = dst + k * mr;
        for (int64_t i = 0; i < rows; ++i) d[i] = src[i][k];
        for (int64_t i = rows; i < mr; ++i) d[i] = T(0);
      }
    } else {
      for (int64_t k = 0; k < klen; ++k) {
        const T* src = a.data + (p0 + k) * a.ld + i0 + ir;
        T* d = dst + k * mr;
        for (int64_t i = 0; i < rows; ++i) d[i] = src[i];
        for (int64_t i = rows; i < mr; ++i) d[i] = T(0);
      }
    }
  }
}

// One full NR-wide panel of an untransposed B: a fixed-size copy per k that the compiler
// inlines (a memcpy call per 32 floats cost as much as the copy).
template <class T, int NR>
void pack_b_panel(const T* src, int64_t ld, int64_t klen, T* dst) {
  for (int64_t k = 0; k < klen; ++k) std::memcpy(dst + k * NR, src + k * ld, NR * sizeof(T));
}

// One NR-wide panel of a B stored transposed: column j of op(B) is row j of `src` (klen values
// from src + j * ld). Tiles of lanes x lanes are transposed in registers; columns past `cols`
// are zero, and the depth left over after the last whole tile is copied value by value.
template <class T>
void pack_b_transposed_panel(const T* src, int64_t ld, int64_t klen, int64_t cols, int nr, T* dst) {
  const KernelSet<T>& ks = kernel_set<T>();
  const int64_t lanes = ks.lanes, k_tiles = klen / lanes * lanes;
  for (int64_t j = 0; j < nr; j += lanes) {
    const int64_t rows = std::clamp<int64_t>(cols - j, 0, lanes);
    const T* rows_src = rows > 0 ? src + j * ld : src;  // not read when rows == 0
    for (int64_t k = 0; k < k_tiles; k += lanes) ks.transpose_tile(rows_src + k, ld, rows, dst + k * nr + j, nr);
  }
  for (int64_t k = k_tiles; k < klen; ++k) {
    T* d = dst + k * nr;
    for (int64_t j = 0; j < cols; ++j) d[j] = src[j * ld + k];
    for (int64_t j = cols; j < nr; ++j) d[j] = T(0);
  }
}

// Packs depth [p0, p0+klen) x columns [j0, j0+nlen) of op(B) into NR-column panels.
template <class T>
void pack_b_block(const MatrixArg<T>& b, int64_t p0, int64_t klen, int64_t j0, int64_t nlen, int nr, T* dst) {
  for (int64_t jr = 0; jr < nlen; jr += nr, dst += klen * nr) {
    const int64_t cols = std::min<int64_t>(nr, nlen - jr);
    if (!b.trans && cols == nr && (nr == 8 || nr == 16 || nr == 32)) {
      const T* src = b.data + p0 * b.ld + j0 + jr;
      if (nr == 8) pack_b_panel<T, 8>(src, b.ld, klen, dst);
      else if (nr == 16) pack_b_panel<T, 16>(src, b.ld, klen, dst);
      else pack_b_panel<T, 32>(src, b.ld, klen, dst);
    } else if (!b.trans) {
      for (int64_t k = 0; k < klen; ++k) {
        const T* src = b.data + (p0 + k) * b.ld + j0 + jr;
        T* d = dst + k * nr;
        std::memcpy(d, src, static_cast<size_t>(cols) * sizeof(T));
        for (int64_t j = cols; j < nr; ++j) d[j] = T(0);
      }
    } else {
      pack_b_transposed_panel(b.data + (j0 + jr) * b.ld + p0, b.ld, klen, cols, nr, dst);
    }
  }
}

// A transposed A of at most this depth (K) is not packed either; see reads_a_in_place.
constexpr int64_t kTransposedAInPlaceMaxDepth = 64;

// Whether an A that is not prepacked is read in place rather than packed:
// - row-major, by the *_direct_a micro-kernels: packing it cost 5% of ViT's run (a scalar
//   transposition of every activation), and at 2 threads one more hand-off to the pool per GEMM;
// - transposed, at most kTransposedAInPlaceMaxDepth deep, by the packed-panel micro-kernels:
//   op(A)'s MR values for one k are consecutive in the stored matrix, one row (a.ld) per k, as in
//   a packed panel. Packing copied every value of the weight gradients of training (dW = dY^T X
//   over a small batch); a deeper one is packed, so that a panel stays a few lines per k.
template <class T>
bool reads_a_in_place(const MatrixArg<T>& a, int64_t K) {
  return !a.packed && (!a.trans || K <= kTransposedAInPlaceMaxDepth);
}

struct Problem {
  int64_t M, N, K;
};

// One tile of C, rows [i_begin, i_end) and columns [j_begin, j_end), computed single-threaded.
template <class T>
void gemm_tile(const Problem& pr, T alpha, const MatrixArg<T>& a, const MatrixArg<T>& b, T beta, T* c, int64_t ldc,
               const GemmEpilogue<T>& ep, int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end) {
  const KernelSet<T>& ks = kernel_set<T>();
  const int mr = ks.mr, nr = ks.nr;
  const int64_t kc = a.packed ? a.packed->kc : (b.packed ? b.packed->kc : depth_block(ks, pr.K));
  const int64_t mc = ks.mc, nc = block_columns(ks, kc);
  const int64_t m_padded = round_up(pr.M, mr), n_padded = round_up(pr.N, nr);
  const bool a_in_place = reads_a_in_place(a, pr.K);
  const bool direct_a = a_in_place && !a.trans, transposed_a_in_place = a_in_place && a.trans;
  T* a_buf = a.packed || direct_a || transposed_a_in_place ? nullptr : scratch<T>(0, mc * kc);
  T* b_buf = b.packed ? nullptr : scratch<T>(1, nc * kc);
  // A row-major B is read in place when few row panels reuse it: packing it would cost about
  // as much as the multiply (pointwise convolutions with few output channels). Many reuses pack,
  // so the panel is read contiguously from L1 instead of in strided rows.
  const bool direct_b = !b.packed && !b.trans && i_end - i_begin <= kDirectBMaxPanels * mr;
  UkernelArgs<T> args{alpha, beta, nullptr, 0, nullptr, nullptr, ep.clip_min, ep.clip_max, false, a.ld,
                      transposed_a_in_place ? a.ld : 0};
  const auto& full_uk = direct_a ? ks.ukernel_direct_a : ks.ukernel;
  const auto& half_uks = direct_a ? ks.ukernel_half_direct_a : ks.ukernel_half;

  for (int64_t ic = i_begin; ic < i_end; ic += mc) {
    const int64_t mlen = std::min(mc, i_end - ic);
    for (int64_t pc = 0; pc < pr.K; pc += kc) {
      const int64_t klen = std::min(kc, pr.K - pc);
      args.beta = pc == 0 ? beta : T(1);
      args.last = pc + klen == pr.K;
      const T* a_block;
      if (a.packed) {
        a_block = a.packed->data.get() + pc * m_padded + (ic / mr) * klen * mr;
      } else if (direct_a) {
        a_block = a.data + ic * a.ld + pc;
      } else if (transposed_a_in_place) {
        a_block = a.data + pc * a.ld + ic;
      } else {
        pack_a_block(a, ic, mlen, pc, klen, mr, a_buf);
        a_block = a_buf;
      }
      for (int64_t jc = j_begin; jc < j_end; jc += nc) {
        const int64_t nlen = std::min(nc, j_end - jc);
        const int64_t full = direct_b ? nlen / nr * nr : 0;  // columns read in place
        // Panel jr (jr >= full) of this block is at b_block + (jr - full) * klen.
        const T* b_block;
        if (b.packed) {
          b_block = b.packed->data.get() + pc * n_padded + (jc / nr) * klen * nr;
        } else {
          // In place, only a partial last panel needs packing (zero padded to NR).
          if (full < nlen) pack_b_block(b, pc, klen, jc + full, nlen - full, nr, b_buf);
          b_block = b_buf;
        }
        // jr outside ir (BLIS's order): one B micro-panel (kc x NR, up to 32 KB) stays in L1
        // while the A micro-panels stream past it from L2, 4x fewer bytes per k than streaming
        // B's two vectors past one A panel.
        args.ld_residual = ep.ld_residual;
        for (int64_t jr = 0; jr < nlen; jr += nr) {
          const int64_t cols = std::min<int64_t>(nr, nlen - jr);
          const T* panel = jr < full ? b.data + pc * b.ld + jc + jr : b_block + (jr - full) * klen;
          const int64_t ldb = jr < full ? b.ld : nr;
          const int64_t half = nr / 2, extra = cols - half;
          const T* bias_n = ep.bias_n ? ep.bias_n + jc + jr : nullptr;
          for (int64_t ir = 0; ir < mlen; ir += mr) {
            const int64_t rows = std::min<int64_t>(mr, mlen - ir);
            const T* a_panel = a_block + ir * (direct_a ? a.ld : transposed_a_in_place ? 1 : klen);
            T* c_tile = c + (ic + ir) * ldc + jc + jr;
            args.bias_m = ep.bias_m ? ep.bias_m + ic + ir : nullptr;
            args.bias_n = bias_n;
            args.residual = ep.residual && pc == 0 ? ep.residual + (ic + ir) * ep.ld_residual + jc + jr : nullptr;
            auto* const half_uk = half_uks[rows - 1];
            // (Not for an A read in place: the narrow kernel reads MR values per k, past a last
            // partial panel's rows.)
            if (half_uk && extra > 0 && extra <= detail::kMaxNarrowCols && !direct_a && !transposed_a_in_place) {
              // A half panel and a few columns: 49 = 32 + 16 + 1 instead of 32 + 32.
              half_uk(klen, a_panel, panel, ldb, c_tile, ldc, half, args);
              UkernelArgs<T> rest = args;
              if (rest.bias_n) rest.bias_n += half;
              if (rest.residual) rest.residual += half;
              ks.ukernel_narrow[rows - 1](klen, a_panel, panel + half, ldb, c_tile + half, ldc, extra, rest);
            } else {
              auto* const uk = half_uk && 2 * cols <= nr ? half_uk : full_uk[rows - 1];
              uk(klen, a_panel, panel, ldb, c_tile, ldc, cols, args);
            }
          }
          // The column panel's rows of this block are final and still in L1/L2.
          if (ep.finish && args.last) ep.finish(c + ic * ldc + jc + jr, ldc, mlen, cols);
        }
      }
    }
  }
}

template <class T>
T apply_epilogue(T v, const GemmEpilogue<T>& ep, int64_t i, int64_t j) {
  if (ep.residual) v += ep.residual[i * ep.ld_residual + j];
  if (ep.bias_m) v += ep.bias_m[i];
  if (ep.bias_n) v += ep.bias_n[j];
  return std::min(std::max(v, ep.clip_min), ep.clip_max);
}

// C = beta * C + epilogue, for K == 0 or alpha == 0 (A and B are not read).
template <class T>
void scale_only(const Problem& pr, T beta, T* c, int64_t ldc, const GemmEpilogue<T>& ep) {
  for (int64_t i = 0; i < pr.M; ++i)
    for (int64_t j = 0; j < pr.N; ++j) {
      T& v = c[i * ldc + j];
      v = apply_epilogue(beta == T(0) ? T(0) : beta * v, ep, i, j);
    }
  if (ep.finish) ep.finish(c, ldc, pr.M, pr.N);
}

// M == 1: one output row. Columns [j0, j1).
template <class T>
void gemv_row(const Problem& pr, T alpha, const MatrixArg<T>& a, const MatrixArg<T>& b, T beta, T* c,
              const GemmEpilogue<T>& ep, int64_t j0, int64_t j1) {
  const KernelSet<T>& ks = kernel_set<T>();
  const int64_t n = j1 - j0;
  T* y = c + j0;
  auto a_at = [&](int64_t k) { return a.trans ? a.data[k * a.ld] : a.data[k]; };
  if (!b.trans) {
    for (int64_t j = 0; j < n; ++j) y[j] = beta == T(0) ? T(0) : beta * y[j];
    for (int64_t k = 0; k < pr.K; ++k) ks.axpy(n, alpha * a_at(k), b.data + k * b.ld + j0, y);
  } else {
    const T* x = a.data;
    if (a.trans && a.ld != 1) {
      T* tmp = scratch<T>(0, pr.K);
      for (int64_t k = 0; k < pr.K; ++k) tmp[k] = a_at(k);
      x = tmp;
    }
    for (int64_t j = 0; j < n; ++j) {
      const T d = alpha * ks.dot(pr.K, x, b.data + (j0 + j) * b.ld);
      y[j] = beta == T(0) ? d : d + beta * y[j];
    }
  }
  for (int64_t j = 0; j < n; ++j) y[j] = apply_epilogue(y[j], ep, 0, j0 + j);
  if (ep.finish) ep.finish(y, n, 1, n);
}

// N == 1 with A stored untransposed: one dot product per output row. Rows [i0, i1).
template <class T>
void gemv_col(const Problem& pr, T alpha, const MatrixArg<T>& a, const T* x, T beta, T* c, int64_t ldc,
              const GemmEpilogue<T>& ep, int64_t i0, int64_t i1) {
  const KernelSet<T>& ks = kernel_set<T>();
  for (int64_t i = i0; i < i1; ++i) {
    const T d = alpha * ks.dot(pr.K, a.data + i * a.ld, x);
    T& out = c[i * ldc];
    out = apply_epilogue(beta == T(0) ? d : d + beta * out, ep, i, 0);
  }
  if (ep.finish && i1 > i0) ep.finish(c + i0 * ldc, ldc, i1 - i0, 1);
}

// Column 0 of op(B) (K values) as contiguous memory: B itself when it is stored transposed or
// its rows are one apart, else a copy in this thread's scratch (slot 2: unused on the N == 1
// paths, which never share a packed A).
template <class T>
const T* contiguous_column(const MatrixArg<T>& b, int64_t K) {
  if (b.trans || b.ld == 1) return b.data;
  T* column = scratch<T>(2, K);
  for (int64_t k = 0; k < K; ++k) column[k] = b.data[k * b.ld];
  return column;
}

// N == 1 with A prepacked (a convolution of 1x1 planes, as in squeeze-and-excitation blocks):
// each MR-row panel times the column, reading the packed panels once instead of running the
// tile kernel on a column padded to NR. Panels [p0, p1); x is the column, contiguous.
template <class T>
void gemv_packed_a(const Problem& pr, T alpha, const PackedMatrix<T>& ap, const T* x, T beta, T* c, int64_t ldc,
                   const GemmEpilogue<T>& ep, int64_t p0, int64_t p1) {
  const KernelSet<T>& ks = kernel_set<T>();
  const int64_t mr = ks.mr, m_padded = round_up(pr.M, mr);
  T acc[detail::kMaxMR];
  for (int64_t p = p0; p < p1; ++p) {
    std::fill(acc, acc + mr, T(0));
    for (int64_t pc = 0; pc < pr.K; pc += ap.kc) {
      const int64_t klen = std::min(ap.kc, pr.K - pc);
      ks.gemv_panel(klen, ap.data.get() + pc * m_padded + p * klen * mr, x + pc, acc);
    }
    const int64_t rows = std::min(mr, pr.M - p * mr);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = p * mr + r;
      T& out = c[i * ldc];
      out = apply_epilogue(beta == T(0) ? alpha * acc[r] : alpha * acc[r] + beta * out, ep, i, 0);
    }
    if (ep.finish) ep.finish(c + p * mr * ldc, ldc, rows, 1);
  }
}

// Picks a grid of tm x tn tiles for `threads` threads that minimises the cost of the largest
// tile: its multiply-adds plus its packing. A tile packs its own rows of A (unless A is prepacked)
// and its own columns of B once per mc-row block (unless B is prepacked); a packed element costs
// about as much as kPackCost multiply-adds.
struct GridProblem {
  int64_t m_panels, n_panels, mr, nr, mc, K;
  bool a_packed, b_packed;
};

void choose_grid(const GridProblem& p, int threads, int64_t* tm, int64_t* tn) {
  constexpr double kPackCost = 8.0;
  *tm = 1;
  *tn = 1;
  double best = -1;
  for (int64_t x = 1; x <= threads; ++x) {
    if (threads % x != 0) continue;
    const int64_t y = threads / x;
    if (x > p.m_panels || y > p.n_panels) continue;
    const double rows = static_cast<double>((p.m_panels + x - 1) / x * p.mr);
    const double cols = static_cast<double>((p.n_panels + y - 1) / y * p.nr);
    const double k = static_cast<double>(p.K);
    double cost = rows * cols * k;
    if (!p.a_packed) cost += kPackCost * rows * k;
    if (!p.b_packed) cost += kPackCost * cols * k * std::ceil(rows / static_cast<double>(p.mc));
    if (best < 0 || cost < best) {
      best = cost;
      *tm = x;
      *tn = y;
    }
  }
}

// A packed operand in a per-thread buffer (scratch slot), not owned: the view gemm_tile reads.
template <class T>
PackedMatrix<T> packed_view(T* data, int64_t rows, int64_t cols, int64_t panel_width, int64_t kc) {
  PackedMatrix<T> p;
  p.data = std::unique_ptr<T[], void (*)(T*)>(data, [](T*) {});
  p.rows = rows;
  p.cols = cols;
  p.panel_width = panel_width;
  p.kc = kc;
  return p;
}

// Packs op(A) (rows == M, panels of MR rows) or op(B) (rows == K, panels of NR columns) in the
// layout of pack_a / pack_b into `dst`, the (depth block, group of panels) pieces spread over
// the pool.
template <class T>
void pack_shared(bool is_a, const MatrixArg<T>& op, int64_t M_or_N, int64_t K, int64_t width, int64_t kc, T* dst,
                 ThreadPool* pool) {
  const int64_t padded = round_up(M_or_N, width), panels = padded / width;
  const int64_t k_blocks = (K + kc - 1) / kc;
  constexpr int64_t kPanelsPerPiece = 4;
  const int64_t groups = (panels + kPanelsPerPiece - 1) / kPanelsPerPiece;
  pool->parallel_for(k_blocks * groups, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t pc = (p / groups) * kc, klen = std::min(kc, K - pc);
      const int64_t x0 = (p % groups) * kPanelsPerPiece * width, xlen = std::min(kPanelsPerPiece * width, M_or_N - x0);
      T* block = dst + pc * padded + (x0 / width) * klen * width;
      if (is_a) pack_a_block(op, x0, xlen, pc, klen, static_cast<int>(width), block);
      else pack_b_block(op, pc, klen, x0, xlen, static_cast<int>(width), block);
    }
  });
}

template <class T>
void gemm_impl(int64_t M, int64_t N, int64_t K, T alpha, MatrixArg<T> a, MatrixArg<T> b, T beta, T* c, int64_t ldc,
               const GemmEpilogue<T>& ep, ThreadPool* pool) {
  if (M <= 0 || N <= 0) return;
  assert(!a.packed || (a.packed->rows == M && a.packed->cols == K && a.packed->panel_width == kernel_set<T>().mr));
  assert(!b.packed || (b.packed->rows == K && b.packed->cols == N && b.packed->panel_width == kernel_set<T>().nr));
  const Problem pr{M, N, K};
  if (K <= 0 || alpha == T(0)) {
    scale_only(pr, beta, c, ldc, ep);
    return;
  }
  const int threads = pool ? pool->size() : 1;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  // Below ~100k multiply-adds a thread hand-off costs more than it saves.
  const bool parallel = threads > 1 && flops > 2e5;

  // The single-row and single-column shortcuts sum in another order than the micro-kernels, so a
  // row's result would depend on its batch having one row: a deterministic run never takes them.
  const bool shortcuts = !deterministic_mode();
  if (M == 1 && !b.packed && !a.packed && shortcuts) {
    if (!parallel) return gemv_row(pr, alpha, a, b, beta, c, ep, 0, N);
    pool->parallel_for(N, std::max<int64_t>(64, static_cast<int64_t>(2e5 / (2.0 * static_cast<double>(K)))),
                       [&](int64_t j0, int64_t j1) { gemv_row(pr, alpha, a, b, beta, c, ep, j0, j1); });
    return;
  }
  if (N == 1 && a.packed && !b.packed && shortcuts) {
    const T* x = contiguous_column(b, K);
    const int64_t panels = (M + kernel_set<T>().mr - 1) / kernel_set<T>().mr;
    if (!parallel) return gemv_packed_a(pr, alpha, *a.packed, x, beta, c, ldc, ep, 0, panels);
    const int64_t min_panels = std::max<int64_t>(1, static_cast<int64_t>(2e5 / (2.0 * kernel_set<T>().mr * K)));
    pool->parallel_for(panels, min_panels,
                       [&](int64_t q0, int64_t q1) { gemv_packed_a(pr, alpha, *a.packed, x, beta, c, ldc, ep, q0, q1); });
    return;
  }
  if (N == 1 && !a.packed && !b.packed && !a.trans && shortcuts) {
    const T* x = contiguous_column(b, K);
    if (!parallel) return gemv_col(pr, alpha, a, x, beta, c, ldc, ep, 0, M);
    pool->parallel_for(M, std::max<int64_t>(16, static_cast<int64_t>(2e5 / (2.0 * static_cast<double>(K)))),
                       [&](int64_t i0, int64_t i1) { gemv_col(pr, alpha, a, x, beta, c, ldc, ep, i0, i1); });
    return;
  }

  if (!parallel) return gemm_tile(pr, alpha, a, b, beta, c, ldc, ep, 0, M, 0, N);
  const KernelSet<T>& ks = kernel_set<T>();
  const int64_t m_panels = (M + ks.mr - 1) / ks.mr, n_panels = (N + ks.nr - 1) / ks.nr;
  // Each operand that is not prepacked is packed once, shared by every tile: split along the
  // other dimension, each tile would pack its own copy of the same rows or columns. A row-major
  // B that few row panels share is still read in place (see gemm_tile).
  const bool b_in_place = !b.trans && m_panels <= kDirectBMaxPanels;
  const bool a_in_place = reads_a_in_place(a, K);
  const bool pack_a = !a.packed && !a_in_place && m_panels * ks.mr * K <= kMaxSharedPack;
  const bool pack_b = !b.packed && !b_in_place && n_panels * ks.nr * K <= kMaxSharedPack;
  // Enough tasks to keep every thread busy, but never tiles so thin that packing dominates.
  // Tiles that pack nothing are split twice as fine: the pool hands them out as threads come
  // free, so a thread the OS holds back delays the call by a small tile, not half the work.
  const int64_t max_tasks = std::max<int64_t>(1, static_cast<int64_t>(flops / 4e5));
  const bool a_ready = a.packed || pack_a, b_ready = b.packed || pack_b;
  const bool packs_nothing = (a_ready || a_in_place) && (b_ready || b_in_place);
  const GridProblem grid{m_panels, n_panels, ks.mr, ks.nr, ks.mc, K, a_ready || a_in_place, b_ready};
  int64_t tm, tn;
  choose_grid(grid, static_cast<int>(std::min<int64_t>(packs_nothing ? 2 * threads : threads, max_tasks)), &tm, &tn);
  if (tm * tn == 1 && packs_nothing)  // no grid of twice the threads fits the panels
    choose_grid(grid, static_cast<int>(std::min<int64_t>(threads, max_tasks)), &tm, &tn);
  // One tile (under 800k flops, or too few panels to split): no hand-off to the pool at all; the
  // tile packs what it reads itself. A parallel pack before a lone tile cost a training MLP's
  // GEMMs (262k flops each) a worker hand-off per GEMM to pack 32 KB.
  if (tm * tn == 1) return gemm_tile(pr, alpha, a, b, beta, c, ldc, ep, 0, M, 0, N);
  const int64_t kc = a.packed ? a.packed->kc : (b.packed ? b.packed->kc : depth_block(ks, K));
  PackedMatrix<T> shared_a, shared_b;
  if (pack_a) {
    T* buf = scratch<T>(2, m_panels * ks.mr * K);
    pack_shared(true, a, M, K, ks.mr, kc, buf, pool);
    shared_a = packed_view(buf, M, K, ks.mr, kc);
    a.packed = &shared_a;
  }
  if (pack_b) {
    T* buf = scratch<T>(3, n_panels * ks.nr * K);
    pack_shared(false, b, N, K, ks.nr, kc, buf, pool);
    shared_b = packed_view(buf, K, N, ks.nr, kc);
    b.packed = &shared_b;
  }
  const int64_t m_step = (m_panels + tm - 1) / tm * ks.mr, n_step = (n_panels + tn - 1) / tn * ks.nr;
  pool->parallel_for(tm * tn, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = (t / tn) * m_step, j0 = (t % tn) * n_step;
      if (i0 >= M || j0 >= N) continue;
      gemm_tile(pr, alpha, a, b, beta, c, ldc, ep, i0, std::min(M, i0 + m_step), j0, std::min(N, j0 + n_step));
    }
  });
}

template <class T>
PackedMatrix<T> pack_a_impl(int64_t M, int64_t K, const T* A, int64_t lda, bool trans_a) {
  const KernelSet<T>& ks = kernel_set<T>();
  PackedMatrix<T> p;
  p.rows = M;
  p.cols = K;
  p.panel_width = ks.mr;
  p.kc = depth_block(ks, K);
  const int64_t m_padded = round_up(M, ks.mr);
  p.data = alloc_aligned<T>(m_padded * K, allocate_weight_block);
  const MatrixArg<T> a{A, lda, trans_a};
  for (int64_t pc = 0; pc < K; pc += p.kc) {
    const int64_t klen = std::min(p.kc, K - pc);
    pack_a_block(a, 0, M, pc, klen, ks.mr, p.data.get() + pc * m_padded);
  }
  return p;
}

template <class T>
PackedMatrix<T> pack_b_impl(int64_t K, int64_t N, const T* B, int64_t ldb, bool trans_b) {
  const KernelSet<T>& ks = kernel_set<T>();
  PackedMatrix<T> p;
  p.rows = K;
  p.cols = N;
  p.panel_width = ks.nr;
  p.kc = depth_block(ks, K);
  const int64_t n_padded = round_up(N, ks.nr);
  p.data = alloc_aligned<T>(n_padded * K, allocate_weight_block);
  const MatrixArg<T> b{B, ldb, trans_b};
  for (int64_t pc = 0; pc < K; pc += p.kc) {
    const int64_t klen = std::min(p.kc, K - pc);
    pack_b_block(b, pc, klen, 0, N, ks.nr, p.data.get() + pc * n_padded);
  }
  return p;
}

}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, float alpha, MatrixArg<float> a, MatrixArg<float> b, float beta, float* c,
          int64_t ldc, const GemmEpilogue<float>& epilogue, ThreadPool* pool) {
  gemm_impl(M, N, K, alpha, a, b, beta, c, ldc, epilogue, pool);
}

void gemm(int64_t M, int64_t N, int64_t K, double alpha, MatrixArg<double> a, MatrixArg<double> b, double beta,
          double* c, int64_t ldc, const GemmEpilogue<double>& epilogue, ThreadPool* pool) {
  gemm_impl(M, N, K, alpha, a, b, beta, c, ldc, epilogue, pool);
}

PackedMatrix<float> pack_a(int64_t M, int64_t K, const float* A, int64_t lda, bool trans_a) {
  return pack_a_impl(M, K, A, lda, trans_a);
}
PackedMatrix<float> pack_b(int64_t K, int64_t N, const float* B, int64_t ldb, bool trans_b) {
  return pack_b_impl(K, N, B, ldb, trans_b);
}
PackedMatrix<double> pack_a(int64_t M, int64_t K, const double* A, int64_t lda, bool trans_a) {
  return pack_a_impl(M, K, A, lda, trans_a);
}
PackedMatrix<double> pack_b(int64_t K, int64_t N, const double* B, int64_t ldb, bool trans_b) {
  return pack_b_impl(K, N, B, ldb, trans_b);
}

std::string_view gemm_isa() { return isa().name; }

}  // namespace tessera::kernels
