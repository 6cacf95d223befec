// What the oneDNN EP's op families share: the engine and per-thread stream, a read-only view of a
// node as the plugin ABI gives it, the kernel interface, and a bounded cache of per-shape plans.
// Everything here sees only the C ABI (include/tessera/tessera_ep_plugin.h) and oneDNN.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "tessera/tessera_ep_plugin.h"

namespace tessera_dnnl {

using dnnl::memory;
using Dims = memory::dims;

const dnnl::engine& engine();
dnnl::stream& stream();  // one per thread: a CPU stream only orders the calls made through it

// A node during `supports` and `create_kernel` (its pointers live only that long).
class NodeView {
 public:
  explicit NodeView(const TesseraEpNode& node) : node_(node) {}
  std::string op() const { return node_.op_type; }
  std::string domain() const { return node_.domain; }
  int64_t opset() const { return node_.opset; }
  size_t input_count() const { return node_.input_count; }
  size_t output_count() const { return node_.output_count; }
  bool has_input(size_t k) const { return k < node_.input_count && node_.inputs[k].dtype != 0; }
  bool has_output(size_t k) const { return k < node_.output_count && node_.outputs[k].dtype != 0; }
  const TesseraEpValueInfo& input(size_t k) const { return node_.inputs[k]; }
  const TesseraEpValueInfo& output(size_t k) const { return node_.outputs[k]; }

  const TesseraEpAttribute* attribute(const char* name) const;
  int64_t i(const char* name, int64_t otherwise) const;
  float f(const char* name, float otherwise) const;
  std::string s(const char* name, const std::string& otherwise) const;
  std::vector<int64_t> ints(const char* name) const;  // empty when absent
  std::vector<float> floats(const char* name) const;

  // "" when every present input and output is float32; else the decline reason.
  std::string all_float() const;
  // A constant input's values as floats (float32 only); empty when it is not constant.
  std::vector<float> constant_floats(size_t k) const;

 private:
  const TesseraEpNode& node_;
};

// Thrown by kernels; the EP turns it into the call's error text.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A node's computation. run() may be called from several threads at once.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // Builds (or finds) what running on inputs of these dims needs; `supports` calls it when the
  // inferred shapes are fixed, so what oneDNN cannot run is declined instead of failing later.
  virtual void prepare(const std::vector<Dims>& inputs) const = 0;
  virtual void run(const TesseraEpTensor* inputs, size_t count, const TesseraEpOutputs* outputs) const = 0;
};

// An op family: `check` says why it cannot run a node ("" when it can, else "kind: why" with kind
// one of op, opset, dtype, attribute, shape); `make` builds the kernel of a node check accepted.
struct Family {
  bool (*handles)(const NodeView& node);
  std::string (*check)(const NodeView& node);
  std::unique_ptr<Kernel> (*make)(const NodeView& node);
};
const std::vector<Family>& families();

// Helpers for kernels.
Dims dims_of(const TesseraEpTensor& t);          // rank 0 gives {}
Dims dims_of(const TesseraEpValueInfo& v);       // unknown dims are -1
bool fixed(const TesseraEpValueInfo& v);         // rank known and every dim fixed
int64_t element_count(const Dims& dims);
memory::desc plain_desc(const Dims& dims);       // float32, dense row-major, any rank >= 1
float* allocate_output(const TesseraEpOutputs* outputs, size_t index, const Dims& dims);
memory user_memory(const memory::desc& desc, const void* data);  // wraps a caller's buffer
// A primitive's user-mode scratchpad in the calling thread's reused buffer (no allocation per call).
memory scratchpad(const memory::desc& desc);

// Plans per input dims, at most kMax kept (a model with ever-changing shapes rebuilds, never grows).
template <class Plan>
class PlanCache {
 public:
  template <class Make>
  std::shared_ptr<const Plan> get(const std::vector<Dims>& key, const Make& make) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    if (plans_.size() >= kMax) plans_.clear();
    auto plan = std::make_shared<const Plan>(make());
    plans_.emplace(key, plan);
    return plan;
  }

 private:
  static constexpr size_t kMax = 16;
  mutable std::mutex mutex_;
  mutable std::map<std::vector<Dims>, std::shared_ptr<const Plan>> plans_;
};

// The input dims of a call (the key of a PlanCache): a scalar is {}, an omitted input kOmitted.
inline const Dims kOmitted = {-1};
inline bool present(const std::vector<Dims>& dims, size_t k) { return k < dims.size() && dims[k] != kOmitted; }
std::vector<Dims> input_dims(const TesseraEpTensor* inputs, size_t count);

// One spatial axis of a Conv or pooling window: the pads (auto_pad SAME_* computed, VALID none,
// else `pads` as ONNX lists them: begins, then ends), the output size (rounded up with `ceil`,
// the last window starting inside the input or its begin padding), and the end padding that
// gives oneDNN exactly that size. Throws when the window does not fit.
struct WindowAxis {
  int64_t pad_begin = 0, pad_end = 0, out = 0;
};
WindowAxis window_axis(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, const std::string& auto_pad,
                       const std::vector<int64_t>& pads, size_t axis, bool ceil);

// Post-ops for an activation named as com.tessera's fused ops name it (docs/fused_ops.md):
// "" when it can be appended to `ops`, else why not.
std::string append_activation(const std::string& name, const std::vector<float>& params, dnnl::post_ops& ops);

}  // namespace tessera_dnnl
