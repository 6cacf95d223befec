// Helpers shared by the kernels that run subgraphs (If, Loop, Scan; SequenceMap uses the arity
// check): slicing scan inputs without copies, writing per-iteration results into stacked
// outputs, and shaping the outputs of loops that ran zero times.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "framework/kernel.h"
#include "graph/graph.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::controlflow {

// Whether a body's declared input/output counts match what the node passes and expects.
Status check_body_arity(const KernelInfo& info, const SubgraphRunner* body, const char* attr_name, size_t inputs,
                        size_t outputs);

// Iterates a tensor along its axis 0 with zero-copy views (the tensor is kept alive by the views).
class AxisSlicer {
 public:
  AxisSlicer() = default;
  explicit AxisSlicer(const Tensor& t);
  int64_t length() const { return length_; }
  // Sub-tensor t[index] (rank one less than t).
  Tensor slice(int64_t index) const;

 private:
  std::shared_ptr<const Tensor> owner_;
  Shape elem_shape_;
  int64_t elem_size_ = 0;
  int64_t length_ = 0;
};

// `t` with dim `axis` moved to the front (a copy unless axis is 0).
Tensor move_axis_to_front(const Tensor& t, int64_t axis, ThreadPool& pool);

// `elem_shape` with a dim of size `length` inserted at `axis` (0 <= axis <= rank).
Shape insert_dim(const Shape& elem_shape, int64_t axis, int64_t length);

// Copies `elem` into position `index` along dim `axis` of `out`, whose shape is elem's with that
// dim inserted. The caller has checked the shapes.
void write_along_axis(const Tensor& elem, Tensor& out, int64_t axis, int64_t index, ThreadPool& pool);

// Copies `elem` into the `index`-th block of elem.size() elements of `out` (out = [.., elem]).
void write_block(const Tensor& elem, Tensor& out, int64_t index);

// Stacks equally shaped tensors along a new axis 0.
Tensor stack(const std::vector<Tensor>& items);

// The output of a scan that produced no elements: element type and dims from the body's declared
// output (dims not fixed count as 0), with a dim of size `length` (usually 0) inserted at `axis`,
// after `prefix` dims (Scan-8's batch dim).
Result<Tensor> empty_scan_output(const ValueInfo& declared, const Shape& prefix, int64_t length, int64_t axis);

// Same element type and shape (per-iteration outputs that are stacked must agree).
bool same_type_and_shape(const Tensor& a, const Tensor& b);

}  // namespace tessera::controlflow
