// What a gradient builder sees and writes: the forward node with the inferred types of its values,
// the gradients flowing into its outputs, and a writer that appends ONNX nodes to the gradient
// graph. A builder (gradients/*.cc) reads the node, emits nodes computing the gradient of each
// input it was asked for, and records them with set_input_grad. Emitted ops are chosen for the
// model's opset (ReduceSum/Squeeze/Unsqueeze take axes as an attribute before opset 13).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/infer/infer_context.h"
#include "tessera/status.h"

namespace tessera {

// The domain of Tessera's gradient kernels (BatchNormalizationGrad, MaxPoolGrad, ConvWeightGrad,
// ActivationGrad: docs/fused_ops.md), which builders emit where one kernel replaces a chain of
// ONNX ops. A model holding them imports it (append_gradients adds the import).
inline constexpr const char* kGradientKernelDomain = "com.tessera";
inline constexpr int64_t kGradientKernelVersion = 1;

// Appends nodes with fresh, unique value and node names to a graph.
class GraphWriter {
 public:
  // `prefix` starts every name it makes ("grad" gives "grad/Mul_3").
  GraphWriter(Graph& graph, std::string prefix);

  // Appends a node of `op` (domain "") and returns its `output_count` new output names.
  std::vector<std::string> add(const std::string& op, std::vector<std::string> inputs, size_t output_count,
                               std::vector<Attribute> attributes = {});
  // One output.
  std::string add1(const std::string& op, std::vector<std::string> inputs, std::vector<Attribute> attributes = {}) {
    return add(op, std::move(inputs), 1, std::move(attributes))[0];
  }
  // A node of `op` in kGradientKernelDomain.
  std::vector<std::string> add_kernel(const std::string& op, std::vector<std::string> inputs, size_t output_count,
                                      std::vector<Attribute> attributes = {});
  // A Constant node holding `value`.
  std::string constant(Tensor value);
  Graph& graph() { return graph_; }

 private:
  std::string fresh(const std::string& base);
  Graph& graph_;
  std::string prefix_;
  std::set<std::string> taken_;
  int64_t counter_ = 0;
};

class GradientContext {
 public:
  GradientContext(const Node& node, const Model& model, const ValueTypes& types, std::vector<std::string> output_grads,
                  std::vector<bool> wanted, GraphWriter& writer);

  const Node& node() const { return node_; }
  size_t input_count() const { return node_.inputs.size(); }
  // The node's input / output value names ("" for an omitted optional one).
  const std::string& input(size_t i) const { return node_.inputs[i]; }
  const std::string& output(size_t i) const { return node_.outputs[i]; }
  // dL/d(output i), or "" when no gradient flows into that output.
  const std::string& output_grad(size_t i) const;
  // Whether input i needs a gradient (it depends on a value being differentiated).
  bool wants(size_t i) const { return i < wanted_.size() && wanted_[i]; }
  void set_input_grad(size_t i, std::string grad) { input_grads_[i] = std::move(grad); }
  const std::vector<std::string>& input_grads() const { return input_grads_; }

  // The default domain's opset of the model.
  int64_t opset() const { return opset_; }
  int64_t int_attr(const std::string& name, int64_t default_value) const;
  float float_attr(const std::string& name, float default_value) const;
  // The inferred element type of `value` (an error naming the node when unknown).
  Result<DataType> dtype(const std::string& value) const;
  // The inferred dims of `value` (an error naming the node when its rank is unknown).
  Result<Dims> dims(const std::string& value) const;
  // Input i when it is an initializer or a Constant node's output, else null.
  const Tensor* constant_input(size_t input_index) const;
  // The int64 contents of input i when it is a constant (an error naming the node otherwise).
  Result<std::vector<int64_t>> constant_ints(size_t input_index) const;

  GraphWriter& writer() { return writer_; }
  std::string add(const std::string& op, std::vector<std::string> inputs, std::vector<Attribute> attributes = {}) {
    return writer_.add1(op, std::move(inputs), std::move(attributes));
  }
  // A 0-d constant of `dtype` (float16/float/double) holding `value`.
  Result<std::string> scalar(DataType dtype, double value);
  std::string int64s(const std::vector<int64_t>& values);
  // ReduceSum over `axes` (all axes when empty), as the opset spells it.
  std::string reduce_sum(const std::string& x, const std::vector<int64_t>& axes, bool keepdims);
  // ReduceMean over `axes` keeping them (axes an attribute before opset 18).
  std::string reduce_mean(const std::string& x, const std::vector<int64_t>& axes);
  std::string unsqueeze(const std::string& x, const std::vector<int64_t>& axes);
  // Reshape(x, Shape(like)).
  std::string reshape_like(const std::string& x, const std::string& like);
  // size(big) / size(small) in big's element type: how many elements a mean averaged.
  Result<std::string> size_ratio(const std::string& big, const std::string& small);
  // A tensor of `like`'s shape and type holding `value`.
  Result<std::string> filled_like(const std::string& like, double value);
  // Sums a gradient computed in the broadcast shape of output `out` down to input `in`'s shape:
  // the leading axes `in` lacks and its size-1 axes the output broadcast. Needs both ranks and
  // every broadcast axis known from the inferred types.
  Result<std::string> reduce_to(const std::string& grad, const std::string& out, const std::string& in);
  // The same for a gradient of dims `grad_dims` (MatMul: the output's batch dims, the operand's
  // matrix dims).
  Result<std::string> reduce_to(const std::string& grad, const Dims& grad_dims, const std::string& in);

  // An error naming the node: not_implemented for what the builder does not support yet.
  template <class... Args>
  Status unsupported(const Args&... args) const {
    return not_implemented("gradient of ", node_.describe(), ": ", args...);
  }

 private:
  const Node& node_;
  const ValueTypes& types_;
  std::vector<std::string> output_grads_;
  std::vector<bool> wanted_;
  std::vector<std::string> input_grads_;
  GraphWriter& writer_;
  int64_t opset_;
};

}  // namespace tessera
