#include "providers/cpu/tensor/copy_util.h"

#include <algorithm>
#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "core/dispatch.h"

namespace tessera::tensor_ops {

void copy_elements(DataType dtype, void* dst, const void* src, int64_t count) {
  if (count <= 0) return;
  if (dtype == DataType::string) {
    const auto* s = static_cast<const std::string*>(src);
    std::copy(s, s + count, static_cast<std::string*>(dst));
    return;
  }
  std::memcpy(dst, src, static_cast<size_t>(count) * dtype_size(dtype));
}

namespace {

template <class T>
void fill_typed(void* dst, const void* value, int64_t count) {
  T v;
  if constexpr (std::is_same_v<T, std::string>) v = *static_cast<const std::string*>(value);
  else std::memcpy(&v, value, sizeof(T));
  std::fill(static_cast<T*>(dst), static_cast<T*>(dst) + count, v);
}

}  // namespace

void fill_elements(DataType dtype, void* dst, const void* value, int64_t count) {
  if (count <= 0) return;
  (void)dispatch_by_size(dtype, [&]<class T>() { fill_typed<T>(dst, value, count); return Status::ok(); }, "fill");
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size(), 1);
  for (size_t k = shape.size(); k-- > 1;) strides[k - 1] = strides[k] * shape[k];
  return strides;
}

namespace {

// Below this many bytes a copy stays on the calling thread.
constexpr int64_t kParallelBytes = 1 << 18;
// Side of the square tiles a transposed pair of dims is copied in.
constexpr int64_t kTile = 16;

enum class InnerKind { contiguous, tiled, strided };

// The copy after merging dims. The inner one (or two, when tiled) dims are handled by the inner
// loop; the rest are iterated by an odometer.
struct CopyPlan {
  Shape n, ds, ss;  // a plan made per copy allocates nothing
  InnerKind kind = InnerKind::strided;
};

CopyPlan make_plan(const Shape& shape, const Shape& dst_strides, const Shape& src_strides) {
  CopyPlan p;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    if (!p.n.empty() && p.ds.back() == dst_strides[k] * shape[k] && p.ss.back() == src_strides[k] * shape[k]) {
      p.n.back() *= shape[k];
      p.ds.back() = dst_strides[k];
      p.ss.back() = src_strides[k];
      continue;
    }
    p.n.push_back(shape[k]);
    p.ds.push_back(dst_strides[k]);
    p.ss.push_back(src_strides[k]);
  }
  if (p.n.empty()) {  // a single element
    p.n = {1};
    p.ds = {1};
    p.ss = {1};
  }
  size_t last = p.n.size() - 1;
  if (p.ds[last] == 1 && p.ss[last] == 1) {
    p.kind = InnerKind::contiguous;
  } else if (p.ds[last] == 1 && p.ss[last] != 0 && p.n.size() >= 2) {
    // A dim read contiguously but written with a stride: pair it with the inner dim in tiles,
    // so both sides touch whole cache lines.
    for (size_t j = 0; j < last; ++j) {
      if (p.ss[j] == 1) {
        std::swap(p.n[j], p.n[last - 1]);
        std::swap(p.ds[j], p.ds[last - 1]);
        std::swap(p.ss[j], p.ss[last - 1]);
        p.kind = InnerKind::tiled;
        break;
      }
    }
  }
  return p;
}

// Copies a full kTile x kTile tile, d[r * dsr + c] = s[r + c * ssc], with SIMD where there is
// a kernel for the element size; returns false to leave it to the scalar loop.
template <class T>
inline bool transpose_tile([[maybe_unused]] T* d, [[maybe_unused]] int64_t dsr, [[maybe_unused]] const T* s,
                           [[maybe_unused]] int64_t ssc) {
#if defined(__SSE2__)
  if constexpr (sizeof(T) == 4 && std::is_trivially_copyable_v<T>) {
    // 4x4 blocks of 32-bit lanes; the shuffles move bits, so any 4-byte type is safe.
    for (int64_t r = 0; r < kTile; r += 4) {
      for (int64_t c = 0; c < kTile; c += 4) {
        const T* sb = s + r + c * ssc;
        __m128 v0 = _mm_loadu_ps(reinterpret_cast<const float*>(sb));
        __m128 v1 = _mm_loadu_ps(reinterpret_cast<const float*>(sb + ssc));
        __m128 v2 = _mm_loadu_ps(reinterpret_cast<const float*>(sb + 2 * ssc));
        __m128 v3 = _mm_loadu_ps(reinterpret_cast<const float*>(sb + 3 * ssc));
        _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
        T* db = d + r * dsr + c;
        _mm_storeu_ps(reinterpret_cast<float*>(db), v0);
        _mm_storeu_ps(reinterpret_cast<float*>(db + dsr), v1);
        _mm_storeu_ps(reinterpret_cast<float*>(db + 2 * dsr), v2);
        _mm_storeu_ps(reinterpret_cast<float*>(db + 3 * dsr), v3);
      }
    }
    return true;
  } else if constexpr (sizeof(T) == 8 && std::is_trivially_copyable_v<T>) {
    for (int64_t r = 0; r < kTile; r += 2) {
      for (int64_t c = 0; c < kTile; c += 2) {
        const T* sb = s + r + c * ssc;
        __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb));
        __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + ssc));
        T* db = d + r * dsr + c;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(db), _mm_unpacklo_epi64(v0, v1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(db + dsr), _mm_unpackhi_epi64(v0, v1));
      }
    }
    return true;
  }
#endif
  return false;
}

template <class T>
void copy_plan(const CopyPlan& p, T* dst, const T* src, ThreadPool* pool) {
  const size_t rank = p.n.size();
  const size_t inner_dims = p.kind == InnerKind::tiled ? 2 : 1;
  const size_t outer_rank = rank - inner_dims;
  int64_t outer = 1;
  for (size_t k = 0; k < outer_rank; ++k) outer *= p.n[k];
  int64_t inner = 1;
  for (size_t k = outer_rank; k < rank; ++k) inner *= p.n[k];

  const int64_t n_last = p.n[rank - 1], ds_last = p.ds[rank - 1], ss_last = p.ss[rank - 1];
  auto inner_copy = [&](T* d, const T* s) {
    switch (p.kind) {
      case InnerKind::contiguous:
        if constexpr (std::is_same_v<T, std::string>) std::copy(s, s + n_last, d);
        else std::memcpy(d, s, static_cast<size_t>(n_last) * sizeof(T));
        break;
      case InnerKind::strided:
        for (int64_t i = 0; i < n_last; ++i) d[i * ds_last] = s[i * ss_last];
        break;
      case InnerKind::tiled: {
        // rows: read contiguously (src stride 1), written with stride dsr; cols: the reverse.
        const int64_t rows = p.n[rank - 2], dsr = p.ds[rank - 2];
        for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
          const int64_t r1 = std::min(rows, r0 + kTile);
          for (int64_t c0 = 0; c0 < n_last; c0 += kTile) {
            const int64_t c1 = std::min(n_last, c0 + kTile);
            if (r1 - r0 == kTile && c1 - c0 == kTile && transpose_tile(d + r0 * dsr + c0, dsr, s + r0 + c0 * ss_last, ss_last)) continue;
            for (int64_t r = r0; r < r1; ++r) {
              T* drow = d + r * dsr;
              const T* srow = s + r;
              for (int64_t c = c0; c < c1; ++c) drow[c] = srow[c * ss_last];
            }
          }
        }
        break;
      }
    }
  };

  auto run_range = [&](int64_t begin, int64_t end) {
    Shape idx(outer_rank, 0);
    int64_t od = 0, os = 0, rem = begin;
    for (size_t k = outer_rank; k-- > 0;) {
      idx[k] = rem % p.n[k];
      rem /= p.n[k];
      od += idx[k] * p.ds[k];
      os += idx[k] * p.ss[k];
    }
    for (int64_t o = begin; o < end; ++o) {
      inner_copy(dst + od, src + os);
      for (size_t k = outer_rank; k-- > 0;) {
        od += p.ds[k];
        os += p.ss[k];
        if (++idx[k] < p.n[k]) break;
        od -= p.ds[k] * p.n[k];
        os -= p.ss[k] * p.n[k];
        idx[k] = 0;
      }
    }
  };

  // Strings cost an allocation each; count them as 64 bytes of work.
  const int64_t unit = std::is_same_v<T, std::string> ? 64 : static_cast<int64_t>(sizeof(T));
  const int64_t bytes = outer * inner * unit;
  if (pool && pool->size() > 1 && outer > 1 && bytes >= kParallelBytes) {
    const int64_t per_unit = std::max<int64_t>(1, inner * unit);
    pool->parallel_for(outer, std::max<int64_t>(1, (kParallelBytes / 4) / per_unit), run_range);
  } else {
    run_range(0, outer);
  }
}

}  // namespace

void strided_copy(DataType dtype, const Shape& shape, void* dst, const Shape& dst_strides, const void* src,
                  const Shape& src_strides, ThreadPool* pool) {
  if (shape_size(shape) == 0) return;
  CopyPlan plan = make_plan(shape, dst_strides, src_strides);
  (void)dispatch_by_size(dtype, [&]<class T>() {
    copy_plan<T>(plan, static_cast<T*>(dst), static_cast<const T*>(src), pool);
    return Status::ok();
  }, "copy");
}

void permute(const Tensor& in, std::span<const int64_t> perm, Tensor& out, ThreadPool* pool) {
  const Shape in_strides = contiguous_strides(in.shape());
  Shape src_strides(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) src_strides[k] = in_strides[perm[k]];
  strided_copy(in.dtype(), out.shape(), out.raw_data(), contiguous_strides(out.shape()), in.raw_data(), src_strides, pool);
}

namespace {
template <class V>
bool read_int64s_into(const Tensor& t, V& out) {
  out.resize(static_cast<size_t>(t.size()));
  Status s = dispatch<kIntTypes | type_bit(DataType::boolean)>(t.dtype(), [&]<class T>() {
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.size(); ++i) out[i] = static_cast<int64_t>(p[i]);
    return Status::ok();
  }, "");
  return s.is_ok();
}

}  // namespace

bool read_int64s(const Tensor& t, std::vector<int64_t>& out) { return read_int64s_into(t, out); }
bool read_int64s(const Tensor& t, Shape& out) { return read_int64s_into(t, out); }

bool read_scalar_int64(const Tensor& t, int64_t& out) {
  if (t.size() < 1) return false;
  Status s = dispatch<kNumericTypes | type_bit(DataType::boolean)>(t.dtype(), [&]<class T>() {
    out = static_cast<int64_t>(to_computed(t.data<T>()[0]));
    return Status::ok();
  }, "");
  return s.is_ok();
}

}  // namespace tessera::tensor_ops
