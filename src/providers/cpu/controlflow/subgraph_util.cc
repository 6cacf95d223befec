#include "providers/cpu/controlflow/subgraph_util.h"

#include "core/tensor_alloc.h"

#include "providers/cpu/tensor/copy_util.h"

namespace tessera::controlflow {

using tensor_ops::copy_elements;
using tensor_ops::element_ptr;

Status check_body_arity(const KernelInfo& info, const SubgraphRunner* body, const char* attr_name, size_t inputs,
                        size_t outputs) {
  if (!body) return info.error("graph attribute '", attr_name, "' is missing");
  const Graph& g = body->graph();
  if (g.inputs.size() != inputs)
    return info.error("'", attr_name, "' has ", g.inputs.size(), " inputs, expected ", inputs);
  if (g.outputs.size() != outputs)
    return info.error("'", attr_name, "' has ", g.outputs.size(), " outputs, expected ", outputs);
  return Status::ok();
}

AxisSlicer::AxisSlicer(const Tensor& t) : owner_(std::make_shared<const Tensor>(t)) {
  length_ = t.rank() == 0 ? 0 : t.dim(0);
  elem_shape_.assign(t.shape().begin() + (t.rank() == 0 ? 0 : 1), t.shape().end());
  elem_size_ = shape_size(elem_shape_);
}

Tensor AxisSlicer::slice(int64_t index) const {
  const void* data = element_ptr(owner_->raw_data(), owner_->dtype(), index * elem_size_);
  return Tensor::view(owner_->dtype(), elem_shape_, owner_, data);
}

Tensor move_axis_to_front(const Tensor& t, int64_t axis, ThreadPool& pool) {
  if (axis == 0) return t;
  std::vector<int64_t> perm{axis};
  Shape shape{t.dim(static_cast<size_t>(axis))};
  for (int64_t k = 0; k < static_cast<int64_t>(t.rank()); ++k) {
    if (k == axis) continue;
    perm.push_back(k);
    shape.push_back(t.dim(static_cast<size_t>(k)));
  }
  Tensor out = allocate_or_throw(t.dtype(), shape);
  tensor_ops::permute(t, perm, out, &pool);
  return out;
}

Shape insert_dim(const Shape& elem_shape, int64_t axis, int64_t length) {
  Shape s = elem_shape;
  s.insert(s.begin() + axis, length);
  return s;
}

void write_along_axis(const Tensor& elem, Tensor& out, int64_t axis, int64_t index, ThreadPool& pool) {
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= elem.dim(static_cast<size_t>(k));
  for (size_t k = static_cast<size_t>(axis); k < elem.rank(); ++k) inner *= elem.dim(k);
  int64_t length = out.dim(static_cast<size_t>(axis));
  void* dst = element_ptr(out.raw_data(), out.dtype(), index * inner);
  if (outer == 1) {
    copy_elements(elem.dtype(), dst, elem.raw_data(), inner);
    return;
  }
  tensor_ops::strided_copy(elem.dtype(), {outer, inner}, dst, {length * inner, 1}, elem.raw_data(), {inner, 1}, &pool);
}

void write_block(const Tensor& elem, Tensor& out, int64_t index) {
  copy_elements(elem.dtype(), element_ptr(out.raw_data(), out.dtype(), index * elem.size()), elem.raw_data(), elem.size());
}

Tensor stack(const std::vector<Tensor>& items) {
  Tensor out = allocate_or_throw(items[0].dtype(), insert_dim(items[0].shape(), 0, static_cast<int64_t>(items.size())));
  for (size_t i = 0; i < items.size(); ++i) write_block(items[i], out, static_cast<int64_t>(i));
  return out;
}

Result<Tensor> empty_scan_output(const ValueInfo& declared, const Shape& prefix, int64_t length, int64_t axis) {
  const TypeInfo& type = declared.type;
  if (type.kind != TypeInfo::Kind::tensor || type.elem_type == DataType::undefined)
    return invalid_model("body output '", declared.name, "' is a scan output but has no declared tensor type");
  Shape elem;
  if (type.shape)
    for (const Dim& d : *type.shape) elem.push_back(d.is_fixed() ? d.value : 0);
  if (axis < 0) axis += static_cast<int64_t>(elem.size()) + 1;
  if (axis < 0 || axis > static_cast<int64_t>(elem.size()))
    return invalid_model("scan output axis is out of range for body output '", declared.name, "'");
  Shape shape = prefix;
  Shape inner = insert_dim(elem, axis, length);
  shape.insert(shape.end(), inner.begin(), inner.end());
  return allocate_or_throw(type.elem_type, shape);
}

bool same_type_and_shape(const Tensor& a, const Tensor& b) { return a.dtype() == b.dtype() && a.shape() == b.shape(); }

}  // namespace tessera::controlflow
