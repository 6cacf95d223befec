// What an op's shape-inference rule sees: the node, the inferred types of its inputs, the contents
// of inputs known before a run (constants, and small integer "shape values" such as the output of
// Shape), and where it writes the types of its outputs. Rules live in src/graph/infer/<family>.cc
// and are registered from tables (infer_rules.h); the driver is src/graph/shape_inference.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

using ValueTypes = std::map<std::string, TypeInfo>;
using Dims = std::vector<Dim>;

// The elements of a small integer tensor of rank 0 or 1 known before a run, each a fixed value, a
// symbolic dim or unknown. Shape -> Gather -> Concat -> Reshape carries shapes through them.
struct ValueElem {
  bool known = false;  // an integer known before a run (may be negative: -1 in a Reshape target)
  int64_t value = 0;
  std::string param;  // when not known: the symbolic dim it equals, or empty
};
struct ShapeValue {
  std::vector<ValueElem> elems;
  bool scalar = false;  // rank 0 (one element)
};
inline ValueElem elem_of(const Dim& d) { return d.is_fixed() ? ValueElem{true, d.value, {}} : ValueElem{false, 0, d.param}; }
inline ValueElem known_elem(int64_t v) { return ValueElem{true, v, {}}; }
// As a dim: a negative known value is not a size.
inline Dim dim_of(const ValueElem& e) { return e.known ? (e.value >= 0 ? Dim{e.value, {}} : Dim{}) : Dim{-1, e.param}; }

inline Dim fixed_dim(int64_t v) { return Dim{v, {}}; }
inline Dim unknown_dim() { return Dim{}; }
Dims fixed_dims(const std::vector<int64_t>& values);
// "[1,batch,?]"
std::string dims_string(const Dims& dims);
// Both fixed and different: a contradiction that can be proven before a run.
inline bool dims_differ(const Dim& a, const Dim& b) { return a.is_fixed() && b.is_fixed() && a.value != b.value; }
// The more precise of two dims that must be equal: fixed wins, then symbolic.
Dim unify_dim(const Dim& a, const Dim& b);
// Same fixed value or same symbol.
bool same_dim(const Dim& a, const Dim& b);
// The product of dims: fixed when all are fixed, the symbol when one symbol times ones.
Dim product_dim(const Dims& dims, size_t begin, size_t end);
// a + b, d + delta and d * k when fixed and within [0, int64], else unknown: a crafted model's
// dims must not wrap (the run's checked element counts refuse what inference leaves unknown).
Dim sum_dim(const Dim& a, const Dim& b);
Dim offset_dim(const Dim& d, int64_t delta);
Dim scaled_dim(const Dim& d, int64_t k);
TypeInfo tensor_type(DataType dtype, std::optional<Dims> shape);
// The rank a 1-D shape operand of declared shape `s` gives an output (Reshape's and Expand's
// target, ConstantOfShape's input): its fixed length, up to kMaxTargetRank; none past it, a length
// no real tensor's rank has, so that a crafted declaration cannot make inference allocate it.
constexpr int64_t kMaxTargetRank = 64;
std::optional<size_t> target_rank(const Dims* s);

class InferContext;
// A rule fills the outputs it can; it fails only on a contradiction among known dims.
using InferFn = Status (*)(InferContext&);
// Types of a subgraph's values, inferred with the enclosing scope (the caller's visible values).
using SubgraphInferFn = Result<ValueTypes> (*)(const Graph& graph, const Model& model, const ValueTypes& scope,
                                               const std::vector<TypeInfo>& input_types);

class InferContext {
 public:
  InferContext(const Node& node, int64_t opset, const Model& model, std::vector<const TypeInfo*> input_types,
               std::vector<const ShapeValue*> input_values, std::vector<const Tensor*> input_constants,
               const ValueTypes* scope, SubgraphInferFn infer_subgraph);

  const Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  const Model& model() const { return model_; }

  size_t num_inputs() const { return input_types_.size(); }
  bool has_input(size_t i) const { return i < node_.inputs.size() && !node_.inputs[i].empty(); }
  // The input's type, or nullptr when it is omitted or nothing is known about it.
  const TypeInfo* input_type(size_t i) const { return i < input_types_.size() ? input_types_[i] : nullptr; }
  DataType input_dtype(size_t i) const;
  // The input's shape when it is a tensor of known rank, else nullptr.
  const Dims* input_shape(size_t i) const;
  // The input's value when it is a small integer tensor known before a run.
  const ShapeValue* input_value(size_t i) const { return i < input_values_.size() ? input_values_[i] : nullptr; }
  // The input's integer elements when every one is known.
  std::optional<std::vector<int64_t>> input_ints(size_t i) const;
  // The input's elements as doubles when it is a constant of a numeric type.
  std::optional<std::vector<double>> input_doubles(size_t i) const;
  const Tensor* input_constant(size_t i) const { return i < input_constants_.size() ? input_constants_[i] : nullptr; }

  bool has_attr(const std::string& name) const { return node_.attribute(name) != nullptr; }
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  float attr_float(const std::string& name, float fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::optional<std::vector<int64_t>> attr_ints(const std::string& name) const;

  size_t num_outputs() const { return outputs_.size(); }
  bool has_output(size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }
  TypeInfo& output(size_t i) { return outputs_[i]; }
  // A tensor output: keeps a dtype already set (from the schema) unless `dtype` is defined.
  void set_output(size_t i, std::optional<Dims> shape, DataType dtype = DataType::undefined);
  void set_output_type(size_t i, TypeInfo type) { outputs_[i] = std::move(type); }
  void set_output_value(size_t i, ShapeValue value) { output_values_[i] = std::move(value); }
  std::vector<TypeInfo>& outputs() { return outputs_; }
  std::vector<std::optional<ShapeValue>>& output_values() { return output_values_; }

  Result<ValueTypes> infer_subgraph(const Graph& graph, const std::vector<TypeInfo>& input_types) const;

  // invalid_model naming the node.
  template <class... Args>
  Status error(const Args&... args) const {
    return invalid_model(node_.describe(), ": ", args...);
  }
  // Normalizes a possibly negative axis against `rank`; an error when out of range.
  Result<int64_t> axis(int64_t value, int64_t rank, const char* what = "axis") const;

 private:
  const Node& node_;
  int64_t opset_;
  const Model& model_;
  std::vector<const TypeInfo*> input_types_;
  std::vector<const ShapeValue*> input_values_;
  std::vector<const Tensor*> input_constants_;
  const ValueTypes* scope_;
  SubgraphInferFn infer_subgraph_;
  std::vector<TypeInfo> outputs_;
  std::vector<std::optional<ShapeValue>> output_values_;
};

// Numpy broadcasting of shapes; an error when two fixed dims differ and neither is 1.
Result<Dims> broadcast_dims(const InferContext& ctx, const Dims& a, const Dims& b);

}  // namespace tessera
