#include "common.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

namespace tessera_dnnl {

const dnnl::engine& engine() {
  static const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

const TesseraEpAttribute* NodeView::attribute(const char* name) const {
  for (size_t k = 0; k < node_.attribute_count; ++k)
    if (std::strcmp(node_.attributes[k].name, name) == 0) return &node_.attributes[k];
  return nullptr;
}

int64_t NodeView::i(const char* name, int64_t otherwise) const {
  const auto* a = attribute(name);
  return a && a->type == TESSERA_EP_ATTR_INT ? a->i : otherwise;
}

float NodeView::f(const char* name, float otherwise) const {
  const auto* a = attribute(name);
  return a && a->type == TESSERA_EP_ATTR_FLOAT ? a->f : otherwise;
}

std::string NodeView::s(const char* name, const std::string& otherwise) const {
  const auto* a = attribute(name);
  return a && a->type == TESSERA_EP_ATTR_STRING ? std::string(a->s, a->s_size) : otherwise;
}

std::vector<int64_t> NodeView::ints(const char* name) const {
  const auto* a = attribute(name);
  return a && a->type == TESSERA_EP_ATTR_INTS ? std::vector<int64_t>(a->ints, a->ints + a->count) : std::vector<int64_t>{};
}

std::vector<float> NodeView::floats(const char* name) const {
  const auto* a = attribute(name);
  return a && a->type == TESSERA_EP_ATTR_FLOATS ? std::vector<float>(a->floats, a->floats + a->count) : std::vector<float>{};
}

std::string NodeView::all_float() const {
  for (size_t k = 0; k < node_.input_count; ++k)
    if (has_input(k) && node_.inputs[k].dtype != TESSERA_EP_FLOAT) return "dtype: input " + std::to_string(k) + " is not float32";
  for (size_t k = 0; k < node_.output_count; ++k)
    if (has_output(k) && node_.outputs[k].dtype != TESSERA_EP_FLOAT) return "dtype: output " + std::to_string(k) + " is not float32";
  return "";
}

std::vector<float> NodeView::constant_floats(size_t k) const {
  if (!has_input(k) || !node_.inputs[k].data || node_.inputs[k].dtype != TESSERA_EP_FLOAT) return {};
  const auto* p = static_cast<const float*>(node_.inputs[k].data);
  return std::vector<float>(p, p + node_.inputs[k].bytes / sizeof(float));
}

Dims dims_of(const TesseraEpTensor& t) { return Dims(t.dims, t.dims + t.rank); }

Dims dims_of(const TesseraEpValueInfo& v) { return v.rank < 0 ? Dims{} : Dims(v.dims, v.dims + v.rank); }

bool fixed(const TesseraEpValueInfo& v) {
  if (v.rank < 0) return false;
  for (int32_t k = 0; k < v.rank; ++k)
    if (v.dims[k] < 0) return false;
  return true;
}

int64_t element_count(const Dims& dims) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

memory::desc plain_desc(const Dims& dims) {
  Dims strides(dims.size(), 1);
  for (size_t k = dims.size(); k-- > 1;) strides[k - 1] = strides[k] * std::max<int64_t>(dims[k], 1);
  return memory::desc(dims, memory::data_type::f32, strides);
}

float* allocate_output(const TesseraEpOutputs* outputs, size_t index, const Dims& dims) {
  void* data = outputs->allocate(outputs->context, index, TESSERA_EP_FLOAT, static_cast<int32_t>(dims.size()), dims.data());
  if (!data) throw Error("cannot allocate output " + std::to_string(index));
  return static_cast<float*>(data);
}

memory user_memory(const memory::desc& desc, const void* data) { return memory(desc, engine(), const_cast<void*>(data)); }

memory scratchpad(const memory::desc& desc) {
  // Grown to the largest scratchpad this thread has needed; a call finishes with it before the
  // thread's next call, so one buffer per thread suffices.
  // oneDNN aligns the scratchpads it allocates itself to 64 bytes, and its kernels may rely on it.
  constexpr size_t kAlign = 64;
  thread_local std::vector<std::byte> buffer;
  if (buffer.size() < desc.get_size() + kAlign) buffer.resize(desc.get_size() + kAlign);
  void* start = buffer.data();
  size_t space = buffer.size();
  return user_memory(desc, std::align(kAlign, desc.get_size(), start, space));
}

std::vector<Dims> input_dims(const TesseraEpTensor* inputs, size_t count) {
  std::vector<Dims> dims;
  for (size_t k = 0; k < count; ++k) dims.push_back(inputs[k].dtype == 0 ? kOmitted : dims_of(inputs[k]));
  return dims;
}

WindowAxis window_axis(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, const std::string& auto_pad,
                       const std::vector<int64_t>& pads, size_t axis, bool ceil) {
  const int64_t extent = (kernel - 1) * dilation + 1;
  WindowAxis a;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + extent - in, 0);
    a.pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    a.pad_end = total - a.pad_begin;
  } else if (auto_pad != "VALID" && !pads.empty()) {
    a.pad_begin = pads[axis], a.pad_end = pads[pads.size() / 2 + axis];
  }
  const int64_t span = in + a.pad_begin + a.pad_end - extent;
  if (span < 0) throw Error("the window is larger than the padded input");
  a.out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil && (a.out - 1) * stride >= in + a.pad_begin) --a.out;
  a.pad_end = std::max(a.pad_end, (a.out - 1) * stride + extent - in - a.pad_begin);
  return a;
}

std::string append_activation(const std::string& name, const std::vector<float>& params, dnnl::post_ops& ops) {
  using A = dnnl::algorithm;
  auto param = [&](size_t k, float otherwise) { return k < params.size() ? params[k] : otherwise; };
  if (name.empty()) return "";
  if (name == "Relu") ops.append_eltwise(1.0f, A::eltwise_relu, 0.0f, 0.0f);
  else if (name == "LeakyRelu") ops.append_eltwise(1.0f, A::eltwise_relu, param(0, 0.01f), 0.0f);
  else if (name == "Clip") {
    const float lo = param(0, -std::numeric_limits<float>::infinity()), hi = param(1, std::numeric_limits<float>::infinity());
    if (lo > hi) return "attribute: Clip with min > max";
    ops.append_eltwise(1.0f, A::eltwise_clip_v2, lo, hi);
  } else if (name == "Sigmoid") ops.append_eltwise(1.0f, A::eltwise_logistic, 0.0f, 0.0f);
  else if (name == "Tanh") ops.append_eltwise(1.0f, A::eltwise_tanh, 0.0f, 0.0f);
  else if (name == "HardSigmoid") {  // max(0, min(1, alpha x + beta))
    ops.append_eltwise(1.0f, A::eltwise_linear, param(0, 0.2f), param(1, 0.5f));
    ops.append_eltwise(1.0f, A::eltwise_clip_v2, 0.0f, 1.0f);
  } else if (name == "HardSwish") ops.append_eltwise(1.0f, A::eltwise_hardswish, 0.0f, 0.0f);
  else if (name == "Silu") ops.append_eltwise(1.0f, A::eltwise_swish, 1.0f, 0.0f);
  else if (name == "Gelu") ops.append_eltwise(1.0f, A::eltwise_gelu_erf, 0.0f, 0.0f);
  else return "attribute: activation " + name + " has no oneDNN post-op";
  return "";
}

}  // namespace tessera_dnnl
