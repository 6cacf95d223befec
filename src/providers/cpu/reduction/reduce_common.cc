#include "providers/cpu/reduction/reduce_common.h"

#include <algorithm>

#include "core/dispatch.h"

namespace tessera::reduce_impl {

std::vector<double> tensor_to_doubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.size()));
  Status s = dispatch<kNumericTypes | type_bit(DataType::boolean)>(
      t.dtype(),
      [&]<class T>() -> Status {
        const T* p = t.data<T>();
        for (size_t i = 0; i < out.size(); ++i) out[i] = to_computed<double>(p[i]);
        return Status::ok();
      },
      "tensor_to_doubles");
  if (!s.is_ok()) out.clear();
  return out;
}

Result<Shape> tensor_to_int64s(const Tensor& t, const std::string& what) {
  Shape out(static_cast<size_t>(t.size()));
  if (t.dtype() == DataType::int64) {
    std::copy(t.data<int64_t>(), t.data<int64_t>() + t.size(), out.begin());
  } else if (t.dtype() == DataType::int32) {
    std::copy(t.data<int32_t>(), t.data<int32_t>() + t.size(), out.begin());
  } else {
    return invalid_argument(what, " must be int32 or int64, got ", dtype_name(t.dtype()));
  }
  return out;
}

Result<int64_t> normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    return invalid_argument(node.describe(), ": axis ", axis, " is out of range for rank ", rank);
  }
  return axis < 0 ? axis + rank : axis;
}

Result<Shape> normalize_axes(std::span<const int64_t> axes, int64_t rank, const Node& node) {
  Shape out;
  AxisFlags seen(static_cast<size_t>(std::max<int64_t>(rank, 1)), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) return invalid_argument(node.describe(), ": axis ", a, " is out of range for rank ", rank);
    int64_t n = a < 0 ? a + rank : a;
    if (seen[static_cast<size_t>(n)]) return invalid_argument(node.describe(), ": axis ", a, " is repeated");
    seen[static_cast<size_t>(n)] = true;
    out.push_back(n);
  }
  return out;
}

namespace {

void contiguous_strides(const Shape& dims, Shape& strides) {
  strides.assign(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
}

}  // namespace

ReducePlan make_reduce_plan(const Shape& shape, const AxisFlags& reduce) {
  ReducePlan p;
  p.reduced_count = 1;
  p.output_size = 1;
  struct Merged {
    int64_t size;
    bool reduced;
  };
  InlineVector<Merged, 8> m;
  for (size_t i = 0; i < shape.size(); ++i) {
    (reduce[i] ? p.reduced_count : p.output_size) *= shape[i];
    if (shape[i] == 1) continue;
    if (!m.empty() && m.back().reduced == reduce[i]) {
      m.back().size *= shape[i];
    } else {
      m.push_back({shape[i], reduce[i]});
    }
  }
  if (p.output_size == 0) {
    p.units = 0;
    return p;
  }
  if (p.reduced_count == 0 || m.empty()) {
    // Nothing to read (empty reduction) or a single element: one trivial run per output.
    p.inner_reduced = true;
    p.run = p.reduced_count == 0 ? 0 : 1;
    p.positions = p.reduced_count == 0 ? 0 : 1;
    p.units = p.output_size;
    p.unit_dims = {p.output_size};
    p.unit_strides = {p.reduced_count == 0 ? 0 : 1};
    return p;
  }
  Shape dims, strides;
  for (const Merged& d : m) dims.push_back(d.size);
  contiguous_strides(dims, strides);
  p.inner_reduced = m.back().reduced;
  p.run = m.back().size;
  for (size_t i = 0; i + 1 < m.size(); ++i) {
    if (m[i].reduced) {
      p.pos_dims.push_back(dims[i]);
      p.pos_strides.push_back(strides[i]);
    } else {
      p.unit_dims.push_back(dims[i]);
      p.unit_strides.push_back(strides[i]);
    }
  }
  p.units = 1;
  for (int64_t d : p.unit_dims) p.units *= d;
  p.positions = 1;
  for (int64_t d : p.pos_dims) p.positions *= d;
  return p;
}

}  // namespace tessera::reduce_impl
