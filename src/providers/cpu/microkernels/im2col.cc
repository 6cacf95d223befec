#include "providers/cpu/microkernels/im2col.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

// The grid positions o in [ob, oe) whose image position o * s + off lies in [0, n): [lo, hi).
inline void valid_range(int64_t ob, int64_t oe, int64_t n, int64_t s, int64_t off, int64_t* lo, int64_t* hi) {
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = n - off <= 0 ? 0 : (n - off + s - 1) / s;
  l = std::clamp(l, ob, oe);
  h = std::clamp(h, l, oe);
  *lo = l;
  *hi = h;
}

// Keeps GCC from turning a short copy loop back into a memmove call; clang (the sanitizer
// builds) has no such attribute and warns on it.
#if defined(__GNUC__) && !defined(__clang__)
#define TS_INLINE_COPY_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define TS_INLINE_COPY_LOOPS
#endif

// Rows of a few dozen elements, copied inline: a library call per row costs more than the copy.
template <class T>
TS_INLINE_COPY_LOOPS void copy_run(T* __restrict dst, const T* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

// One output row of a 2-D im2col row: zeros, then src[o * S + off] for o in [lo, hi), then zeros
// up to n (S = 0: the stride is s). Inline loops for the same reason as copy_run (rows of 7 to 56 elements are the rule).
template <class T, int S>
TS_INLINE_COPY_LOOPS void gather_row(T* __restrict dst, const T* __restrict src, int64_t off, int64_t lo,
                                     int64_t hi, int64_t n, int64_t s) {
  for (int64_t o = 0; o < lo; ++o) dst[o] = T(0);
  if constexpr (S > 0) {
    for (int64_t o = lo; o < hi; ++o) dst[o] = src[o * S + off];
  } else {
    for (int64_t o = lo; o < hi; ++o) dst[o] = src[o * s + off];
  }
  for (int64_t o = hi; o < n; ++o) dst[o] = T(0);
}

// One (channel, tap) row of a stride-1 im2col whose output rows are as long as the image's
// (same padding): output rows [o0, o1) are the plane shifted by off_h rows and off_w columns,
// so one contiguous copy, then zeros where the tap falls in the padding (rows outside the
// image, columns outside [lo, hi)). Saves the per-row set-up that dominates 7- and 14-wide rows.
template <class T>
void shifted_plane(const T* plane, int64_t plane_size, int64_t H, int64_t W, int64_t off_h, int64_t off_w, int64_t lo,
                   int64_t hi, int64_t o0, int64_t o1, T* dst) {
  const int64_t r0 = std::clamp(-off_h, o0, o1), r1 = std::clamp(H - off_h, r0, o1);
  std::fill(dst, dst + (r0 - o0) * W, T(0));
  std::fill(dst + (r1 - o0) * W, dst + (o1 - o0) * W, T(0));
  T* d = dst + (r0 - o0) * W;
  const int64_t n = (r1 - r0) * W, base = (r0 + off_h) * W + off_w;
  // Positions i read plane[base + i]; those outside the plane are padding columns.
  const int64_t i0 = std::clamp<int64_t>(-base, 0, n), i1 = std::clamp<int64_t>(plane_size - base, i0, n);
  std::fill(d, d + i0, T(0));
  if (i1 > i0) std::memcpy(d + i0, plane + base + i0, static_cast<size_t>(i1 - i0) * sizeof(T));
  std::fill(d + i1, d + n, T(0));
  if (lo > 0 || hi < W)
    for (int64_t r = 0; r < r1 - r0; ++r) {
      T* row = d + r * W;
      for (int64_t o = 0; o < lo; ++o) row[o] = T(0);
      for (int64_t o = hi; o < W; ++o) row[o] = T(0);
    }
}

// im2col for 2-D grids, the common case: the valid column range of each kernel column is
// computed once, and each output row is one inline gather.
template <class T, int S>
void im2col_2d(const ConvGeometry& g, const T* image, int64_t channels, int64_t o0, int64_t o1, T* col) {
  const int64_t H = g.in[0], W = g.in[1], OW = g.out[1], KH = g.kernel[0], KW = g.kernel[1];
  const int64_t cols = (o1 - o0) * OW;
  for (int64_t c = 0; c < channels; ++c) {
    const T* plane = image + c * g.in_size;
    for (int64_t kh = 0; kh < KH; ++kh) {
      const int64_t off_h = kh * g.dilation[0] - g.pad_begin[0];
      for (int64_t kw = 0; kw < KW; ++kw, col += cols) {
        const int64_t off_w = kw * g.dilation[1] - g.pad_begin[1];
        int64_t lo, hi;
        valid_range(0, OW, W, g.stride[1], off_w, &lo, &hi);
        if (S == 1 && g.stride[0] == 1 && OW == W) {  // S is the column stride
          shifted_plane(plane, g.in_size, H, W, off_h, off_w, lo, hi, o0, o1, col);
          continue;
        }
        for (int64_t oh = o0; oh < o1; ++oh) {
          T* dst = col + (oh - o0) * OW;
          const int64_t ih = oh * g.stride[0] + off_h;
          if (ih < 0 || ih >= H)
            gather_row<T, 1>(dst, plane, 0, OW, OW, OW, 1);  // all zeros
          else
            gather_row<T, S>(dst, plane + ih * W, off_w, lo, hi, OW, g.stride[1]);
        }
      }
    }
  }
}

// Copies one innermost run of columns: dst[o - ob] = image[o * s + off] or 0.
template <class T>
struct Gather {
  static void run(T* dst, const T* img, int64_t ob, int64_t oe, int64_t n, int64_t s, int64_t off) {
    int64_t lo, hi;
    valid_range(ob, oe, n, s, off, &lo, &hi);
    std::fill(dst, dst + (lo - ob), T(0));
    if (s == 1) {
      if (hi > lo) std::memcpy(dst + (lo - ob), img + (lo + off), static_cast<size_t>(hi - lo) * sizeof(T));
    } else if (s == 2) {
      // A constant stride lets the compiler vectorize the gather with shuffles.
      T* d = dst + (lo - ob);
      const T* src = img + (2 * lo + off);
      for (int64_t i = 0; i < hi - lo; ++i) d[i] = src[2 * i];
    } else {
      for (int64_t o = lo; o < hi; ++o) dst[o - ob] = img[o * s + off];
    }
    std::fill(dst + (hi - ob), dst + (oe - ob), T(0));
  }
  static void outside(T* dst, int64_t len) { std::fill(dst, dst + len, T(0)); }
};

// The adjoint run: image[o * s + off] += col[o - ob].
template <class T>
struct ScatterAdd {
  static void run(const T* src, T* img, int64_t ob, int64_t oe, int64_t n, int64_t s, int64_t off) {
    int64_t lo, hi;
    valid_range(ob, oe, n, s, off, &lo, &hi);
    if (s == 1) {
      for (int64_t o = lo; o < hi; ++o) img[o + off] += src[o - ob];
    } else {
      for (int64_t o = lo; o < hi; ++o) img[o * s + off] += src[o - ob];
    }
  }
  static void outside(const T*, int64_t) {}
};

// Walks the grid dimensions d..nd-1 for one (channel, kernel offset) row of the column matrix,
// handing each innermost run to Op. `img` points at the image plane shifted to the outer
// coordinates chosen so far; `valid` is false once an outer coordinate fell outside the image.
template <class T, class Op, class ColPtr, class ImgPtr>
void walk(const ConvGeometry& g, const int64_t* in_stride, const int64_t* off, size_t d, ImgPtr img, bool valid,
          int64_t ob, int64_t oe, ColPtr& col) {
  if (d + 1 == g.nd) {
    if (valid)
      Op::run(col, img, ob, oe, g.in[d], g.stride[d], off[d]);
    else
      Op::outside(col, oe - ob);
    col += oe - ob;
    return;
  }
  for (int64_t o = ob; o < oe; ++o) {
    const int64_t i = o * g.stride[d] + off[d];
    const bool v = valid && i >= 0 && i < g.in[d];
    walk<T, Op>(g, in_stride, off, d + 1, v ? img + i * in_stride[d] : img, v, 0, g.out[d + 1], col);
  }
}

// Calls fn(channel, kernel_index, offsets) for every row of the column matrix, offsets[d] being
// kernel_index's coordinate d times dilation minus pad.
template <class F>
void for_each_row(const ConvGeometry& g, int64_t c0, int64_t c1, F&& fn) {
  std::array<int64_t, kMaxConvDims> kidx{}, off{};
  for (int64_t c = c0; c < c1; ++c) {
    std::fill(kidx.begin(), kidx.end(), 0);
    for (int64_t k = 0; k < g.kernel_size; ++k) {
      for (size_t d = 0; d < g.nd; ++d) off[d] = kidx[d] * g.dilation[d] - g.pad_begin[d];
      fn(c, k, off.data());
      for (size_t d = g.nd; d-- > 0;)
        if (++kidx[d] < g.kernel[d]) break; else kidx[d] = 0;
    }
  }
}

// The depthwise plane's zero-padded, phase-split copy of the input: padded rows and columns, row
// stride, and the length of one phase.
struct PhaseLayout {
  int64_t rows, cols, row_stride, phase_len;
};

PhaseLayout phase_layout(const ConvGeometry& g) {
  const int64_t Hp = (g.out[0] - 1) * g.stride[0] + (g.kernel[0] - 1) * g.dilation[0] + 1;
  const int64_t Wp = (g.out[1] - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
  const int64_t phase_len = (Wp + g.stride[1] - 1) / g.stride[1];
  return {Hp, Wp, g.stride[1] * phase_len, phase_len};
}

void in_strides(const ConvGeometry& g, int64_t* s) {
  int64_t acc = 1;
  for (size_t d = g.nd; d-- > 0;) {
    s[d] = acc;
    acc *= g.in[d];
  }
}

}  // namespace

bool ConvGeometry::is_pointwise() const {
  for (size_t d = 0; d < nd; ++d)
    if (kernel[d] != 1 || stride[d] != 1 || pad_begin[d] != 0 || out[d] != in[d]) return false;
  return true;
}

template <class T>
void im2col(const ConvGeometry& g, const T* image, int64_t channels, int64_t o0, int64_t o1, T* col) {
  if (g.nd == 2) {
    if (g.stride[1] == 1) return im2col_2d<T, 1>(g, image, channels, o0, o1, col);
    if (g.stride[1] == 2) return im2col_2d<T, 2>(g, image, channels, o0, o1, col);
    return im2col_2d<T, 0>(g, image, channels, o0, o1, col);
  }
  std::array<int64_t, kMaxConvDims> stride{};
  in_strides(g, stride.data());
  const int64_t cols = (o1 - o0) * g.out_inner();
  for_each_row(g, 0, channels, [&](int64_t c, int64_t k, const int64_t* off) {
    T* dst = col + (c * g.kernel_size + k) * cols;
    walk<T, Gather<T>>(g, stride.data(), off, 0, image + c * g.in_size, true, o0, o1, dst);
  });
}

template <class T>
void col2im_add(const ConvGeometry& g, const T* col, int64_t c0, int64_t c1, T* image) {
  std::array<int64_t, kMaxConvDims> stride{};
  in_strides(g, stride.data());
  for_each_row(g, c0, c1, [&](int64_t c, int64_t k, const int64_t* off) {
    const T* src = col + (c * g.kernel_size + k) * g.out_size;
    walk<T, ScatterAdd<T>>(g, stride.data(), off, 0, image + c * g.in_size, true, 0, g.out[0], src);
  });
}

namespace {

// Planes at least this wide (in outputs) run the direct kernel; narrower ones are mostly border
// and go through the padded copy, whose cost is small next to their per-row set-up.
constexpr int64_t kDirectMinWidth = 16;

bool use_direct(const ConvGeometry& g) {
  return g.dilation[0] == 1 && g.dilation[1] == 1 && (g.stride[1] == 1 || g.stride[1] == 2) &&
         g.out[1] >= kDirectMinWidth;
}

// Depthwise plane straight from the input: each output row reads only the kernel rows inside
// the image, interior columns go to the ISA's direct row kernel and the few border columns
// (where some taps fall in the padding) are summed here with bounds checks.
void depthwise_direct_plane(const ConvGeometry& g, const float* x, const float* w, float bias, float lo, float hi,
                            float* y) {
  const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
  const int64_t KH = g.kernel[0], KW = g.kernel[1], sh = g.stride[0], sw = g.stride[1];
  const int64_t ph = g.pad_begin[0], pw = g.pad_begin[1];
  // Interior columns [ow_lo, ow_hi): every tap's column lies in [0, W).
  int64_t ow_lo, ow_hi;
  valid_range(0, OW, W - KW + 1, sw, -pw, &ow_lo, &ow_hi);
  const detail::DepthwiseDirectFn row_kernel = detail::active_isa().depthwise_direct_f32;
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t ih0 = oh * sh - ph;
    const int64_t kh0 = std::max<int64_t>(0, -ih0), kh1 = std::min<int64_t>(KH, H - ih0);
    float* yr = y + oh * OW;
    if (kh1 <= kh0) {
      std::fill(yr, yr + OW, std::min(std::max(bias, lo), hi));
      continue;
    }
    const float* xr = x + (ih0 + kh0) * W;
    const float* wr = w + kh0 * KW;
    // A border column: only taps kw in [kw0, kw1) land inside the row.
    auto border = [&](int64_t ow) {
      const int64_t iw0 = ow * sw - pw;
      const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min<int64_t>(KW, W - iw0);
      float a = bias;
      for (int64_t kh = 0; kh < kh1 - kh0; ++kh) {
        const float* xk = xr + kh * W + iw0;
        const float* wk = wr + kh * KW;
        for (int64_t kw = kw0; kw < kw1; ++kw) a += wk[kw] * xk[kw];
      }
      yr[ow] = std::min(std::max(a, lo), hi);
    };
    for (int64_t ow = 0; ow < ow_lo; ++ow) border(ow);
    if (ow_hi > ow_lo)
      row_kernel(xr + ow_lo * sw - pw, W, kh1 - kh0, KW, sw, wr, bias, ow_hi - ow_lo, lo, hi, yr + ow_lo);
    for (int64_t ow = ow_hi; ow < OW; ++ow) border(ow);
  }
}

// Tap tables on the stack for the usual kernel sizes, on the heap beyond.
template <class E>
struct TapTable {
  static constexpr size_t kInline = 64;
  E inline_[kInline];
  std::vector<E> heap;
  E* data;
  explicit TapTable(size_t n) : data(inline_) {
    if (n > kInline) {
      heap.resize(n);
      data = heap.data();
    }
  }
};

}  // namespace

template <class T>
int64_t depthwise_scratch_size(const ConvGeometry& g) {
  if (std::is_same_v<T, float> && use_direct(g)) return 0;  // the direct path reads the input in place
  const PhaseLayout l = phase_layout(g);
  const int64_t padded = l.rows * l.row_stride + detail::kMaxVectorFloats;
  const int64_t flat = (g.out[0] - 1) * l.row_stride + g.out[1];  // the small-plane path's output
  return padded + flat;
}

template <class T>
void depthwise_conv2d_plane(const ConvGeometry& g, const T* x, const T* w, T bias, T lo, T hi, T* y, T* scratch,
                            bool padding_ready) {
  if constexpr (std::is_same_v<T, float>) {
    if (use_direct(g)) return depthwise_direct_plane(g, x, w, bias, lo, hi, y);
  }
  const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
  const int64_t KH = g.kernel[0], KW = g.kernel[1], sh = g.stride[0], sw = g.stride[1];
  const int64_t dh = g.dilation[0], dw = g.dilation[1], ph = g.pad_begin[0], pw = g.pad_begin[1];
  // Copy the plane into a zero-padded buffer, each row split into sw phases (phase q holds
  // columns q, q + sw, ...), so that every tap of every output row reads a contiguous, in-bounds
  // run and the row kernel needs no bounds checks.
  const PhaseLayout layout = phase_layout(g);
  const int64_t Hp = layout.rows, Wp = layout.cols, phase_len = layout.phase_len, row_stride = layout.row_stride;
  // The padding sits at the same places for every plane of this geometry: it is zeroed with the
  // first plane of a run of planes, later planes only overwrite the image part.
  T* buf = scratch;
  if (!padding_ready) std::fill(buf, buf + Hp * row_stride + detail::kMaxVectorFloats, T(0));
  for (int64_t r = std::max<int64_t>(0, ph); r < std::min(Hp, H + ph); ++r) {
    const T* src = x + (r - ph) * W;
    T* dst = buf + r * row_stride;
    if (sw == 1) {
      const int64_t c0 = std::clamp<int64_t>(pw, 0, Wp), c1 = std::clamp<int64_t>(pw + W, c0, Wp);
      copy_run(dst + c0, src + (c0 - pw), c1 - c0);
    } else {
      for (int64_t q = 0; q < sw; ++q) {
        // Phase entry i reads column q + sw * i - pw: in bounds for i in [lo, hi).
        int64_t lo, hi;
        valid_range(0, phase_len, W, sw, q - pw, &lo, &hi);
        T* d = dst + q * phase_len;
        const T* s = src + (q - pw + sw * lo);
        if (sw == 2) {
          for (int64_t i = 0; i < hi - lo; ++i) d[lo + i] = s[2 * i];  // vectorizes with shuffles
        } else {
          for (int64_t i = 0; i < hi - lo; ++i) d[lo + i] = s[sw * i];
        }
      }
    }
  }
  const size_t taps = static_cast<size_t>(KH * KW);
  TapTable<int64_t> offset_table(taps);
  int64_t* offset = offset_table.data;
  for (int64_t kh = 0; kh < KH; ++kh)
    for (int64_t kw = 0; kw < KW; ++kw)
      offset[static_cast<size_t>(kh * KW + kw)] = kh * dh * row_stride + (kw * dw % sw) * phase_len + kw * dw / sw;
  TapTable<const T*> src_table(taps);
  const T** src = src_table.data;
  if (sh == 1 && sw == 1 && OW < 32 && OH > 1) {
    // Small stride-1 planes: output (oh, ow) reads buf[oh * row_stride + ow + offset], so all
    // rows are one flat run over a row_stride-wide grid; compute it at once, then keep the first
    // OW columns of each row. Saves the per-row set-up that dominates tiny rows.
    const int64_t n = (OH - 1) * row_stride + OW;
    T* flat = buf + Hp * row_stride + detail::kMaxVectorFloats;
    for (size_t t = 0; t < taps; ++t) src[t] = buf + offset[t];
    if constexpr (std::is_same_v<T, float>) {
      detail::active_isa().depthwise_row_f32(static_cast<int64_t>(taps), src, w, bias, n, lo, hi, flat);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        T a = bias;
        for (size_t t = 0; t < taps; ++t) a += w[t] * src[t][i];
        flat[i] = std::min(std::max(a, lo), hi);
      }
    }
    for (int64_t oh = 0; oh < OH; ++oh) copy_run(y + oh * OW, flat + oh * row_stride, OW);
    return;
  }
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* base = buf + oh * sh * row_stride;
    for (size_t t = 0; t < taps; ++t) src[t] = base + offset[t];
    T* yr = y + oh * OW;
    if constexpr (std::is_same_v<T, float>) {
      detail::active_isa().depthwise_row_f32(static_cast<int64_t>(taps), src, w, bias, OW, lo, hi, yr);
    } else {
      for (int64_t i = 0; i < OW; ++i) {
        T a = bias;
        for (size_t t = 0; t < taps; ++t) a += w[t] * src[t][i];
        yr[i] = std::min(std::max(a, lo), hi);
      }
    }
  }
}

template void im2col<float>(const ConvGeometry&, const float*, int64_t, int64_t, int64_t, float*);
template void im2col<double>(const ConvGeometry&, const double*, int64_t, int64_t, int64_t, double*);
template void col2im_add<float>(const ConvGeometry&, const float*, int64_t, int64_t, float*);
template void col2im_add<double>(const ConvGeometry&, const double*, int64_t, int64_t, double*);
template int64_t depthwise_scratch_size<float>(const ConvGeometry&);
template int64_t depthwise_scratch_size<double>(const ConvGeometry&);
template void depthwise_conv2d_plane<float>(const ConvGeometry&, const float*, const float*, float, float, float, float*,
                                            float*, bool);
template void depthwise_conv2d_plane<double>(const ConvGeometry&, const double*, const double*, double, double, double,
                                             double*, double*, bool);

}  // namespace tessera::kernels
