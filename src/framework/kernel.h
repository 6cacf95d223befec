// The kernel interface. A kernel is created once per node when the session is built (its
// constructor or factory parses attributes and may prepack constant inputs) and then computes
// many times, possibly from several threads at once: compute() must not mutate the kernel.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor_alloc.h"
#include "core/thread_pool.h"
#include "graph/graph.h"
#include "graph/infer/infer_context.h"
#include "tessera/status.h"
#include "tessera/value.h"

namespace tessera {

class SubgraphRunner;
struct OpSchema;

// What a kernel factory sees of its node at session creation.
class KernelInfo {
 public:
  KernelInfo(const Node& node, int64_t opset, const std::map<std::string, Tensor>& constants,
             std::vector<std::shared_ptr<const SubgraphRunner>> subgraphs = {});

  const Node& node() const { return node_; }
  // The opset version the model imports for this node's domain.
  int64_t opset() const { return opset_; }
  // The since_version of the op's schema in force at that opset: what kernels branch on (the
  // import itself may be any later version). The opset for ops without a schema (custom domains).
  int64_t since_version() const;
  // The schema in force, or nullptr for ops without one.
  const OpSchema* schema() const { return schema_; }
  size_t input_count() const { return node_.inputs.size(); }
  size_t output_count() const { return node_.outputs.size(); }
  bool has_input(size_t i) const { return i < node_.inputs.size() && !node_.inputs[i].empty(); }
  // The value of input i when it is an initializer (known before any run), else nullptr.
  const Tensor* constant_input(size_t i) const;

  bool has_attr(const std::string& name) const { return node_.attribute(name) != nullptr; }
  int64_t attr_int(const std::string& name, int64_t default_value) const;
  float attr_float(const std::string& name, float default_value) const;
  std::string attr_string(const std::string& name, const std::string& default_value) const;
  // Without a default argument: the schema's default for the attribute (0 / empty when the
  // schema gives none), so that the spec's value is written in one place.
  int64_t attr_int(const std::string& name) const;
  float attr_float(const std::string& name) const;
  std::string attr_string(const std::string& name) const;
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> default_value = {}) const;
  std::vector<float> attr_floats(const std::string& name, std::vector<float> default_value = {}) const;
  std::vector<std::string> attr_strings(const std::string& name) const;
  const Tensor* attr_tensor(const std::string& name) const;
  // Fails with a message naming the node when a required attribute is missing.
  Result<int64_t> required_int(const std::string& name) const;
  Result<std::vector<int64_t>> required_ints(const std::string& name) const;

  // Runners for this node's graph-valued attributes (If/Loop/Scan), by attribute name.
  const SubgraphRunner* subgraph(const std::string& attr_name) const;

  // What the session knows before any run, for kernels that prepare per-shape state (oneDNN's
  // primitives) at creation rather than on the first run: the inferred types of the graph's
  // values and the intra-op thread count.
  void set_session_context(const ValueTypes* types, int intra_op_threads) {
    types_ = types;
    threads_ = intra_op_threads;
  }
  // Input i's inferred shape, -1 for a dim inference did not fix (a symbolic batch); nullopt
  // when its rank is unknown or without a context.
  std::optional<Shape> inferred_input_shape(size_t i) const;
  int intra_op_threads() const { return threads_; }

  // "node 'x' (Op)" + ": " + message, as an invalid_model status.
  template <class... Args>
  Status error(const Args&... args) const { return invalid_model(node_.describe(), ": ", args...); }

 private:
  // The schema's default value text for `name`, or nullptr.
  const std::string* schema_default(const std::string& name) const;

  const Node& node_;
  int64_t opset_;
  const OpSchema* schema_;
  const std::map<std::string, Tensor>& constants_;
  std::vector<std::shared_ptr<const SubgraphRunner>> subgraphs_;
  const ValueTypes* types_ = nullptr;
  int threads_ = 1;
};

// What a kernel sees during one run. Inputs are borrowed; outputs are allocated through the
// context (or handed over with set_output to alias an input, as Reshape does).
class KernelContext {
 public:
  virtual ~KernelContext() = default;

  virtual size_t input_count() const = 0;
  virtual size_t output_count() const = 0;
  // The input value, or nullptr when an optional input is omitted or i >= input_count().
  virtual const Value* input_value(size_t i) const = 0;
  // The input tensor, or nullptr when omitted or not a tensor.
  const Tensor* input(size_t i) const {
    const Value* v = input_value(i);
    return v && v->is_tensor() ? &v->tensor() : nullptr;
  }
  // The input tensor, or an error naming the input as the schema does: "node 'g' (Gather):
  // input 1 'indices' is required but missing" (or "... must be a tensor").
  Result<const Tensor*> required_input(size_t i) const;
  // Allocates output i with the given type and shape (contents zeroed) and returns it.
  virtual Tensor& allocate_output(size_t i, DataType dtype, const Shape& shape) = 0;
  // As allocate_output, but the contents are undefined: for kernels that write every element,
  // which saves a pass over memory. Contexts without a faster way fall back to zero-filling.
  virtual Tensor& allocate_output_uninitialized(size_t i, DataType dtype, const Shape& shape) {
    return allocate_output(i, dtype, shape);
  }
  // Sets output i to an existing value (may share a buffer with an input).
  virtual void set_output(size_t i, Value value) = 0;
  // Whether the caller wants output i (optional outputs may be omitted in the graph).
  virtual bool output_requested(size_t i) const = 0;
  // Uninitialized scratch memory for this run (e.g. im2col columns), returned for reuse when the
  // tensor is destroyed. Safe to call from the thread pool's tasks. Contexts without a pool
  // allocate afresh.
  virtual Tensor scratch(DataType dtype, int64_t count) { return allocate_or_throw(dtype, Shape{count}); }

  virtual ThreadPool& thread_pool() const = 0;
  virtual const Node& node() const = 0;
  // The opset version the model imports for this node's domain.
  virtual int64_t opset() const = 0;

  template <class... Args>
  Status error(const Args&... args) const { return invalid_argument(node().describe(), ": ", args...); }
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual Status compute(KernelContext& ctx) const = 0;
  // Asked once, right after the kernel is made. True when the kernel has packed constant input
  // `i` into a copy of its own and compute() reads only that input's type and shape, never its
  // data: when every reader of an initializer says so and nothing else can see it (a graph
  // output, a feedable input, a subgraph), the session drops the initializer's bytes and runs
  // feed the kernel a tensor with the same type and shape but no data.
  virtual bool owns_constant(size_t i) const {
    (void)i;
    return false;
  }
};

// Runs a subgraph (the body of If/Loop/Scan) with given inputs; outer-scope values are captured
// from the context of the node that calls it. Implemented by the framework.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  virtual const Graph& graph() const = 0;
  // `inputs` are the subgraph's formal inputs in order; returns its outputs in order. A run that
  // RunOptions stop fails here (before the body and before each of its nodes) with a status that
  // kernels return as it is: so each Loop/Scan iteration is a point where a run can stop.
  virtual Result<std::vector<Value>> run(const KernelContext& caller, const std::vector<Value>& inputs) const = 0;
};

using KernelFactory = std::function<Result<std::unique_ptr<OpKernel>>(const KernelInfo&)>;

// Convenience: a factory for kernels whose constructor takes KernelInfo and cannot fail.
template <class K>
KernelFactory make_factory() {
  return [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> { return std::unique_ptr<OpKernel>(new K(info)); };
}

}  // namespace tessera
