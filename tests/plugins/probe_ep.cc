// A host-memory plugin that declines every node, saying what the ABI showed it: each attribute
// (name=value) and each input (dtype, dims, and the values of constants), so that a test can read
// from the placement report that attributes and weights reach plugins.
#include <cstdio>
#include <string>

#include "tessera/tessera_ep_plugin.h"

namespace {

std::string dims(const TesseraEpValueInfo& v) {
  std::string out = "[";
  for (int32_t k = 0; k < v.rank; ++k) out += (k ? "," : "") + std::to_string(v.dims[k]);
  return out + "]";
}

std::string values(const TesseraEpValueInfo& v) {
  if (!v.data) return "";
  std::string out = "{";
  const size_t count = v.dtype == 1 ? v.bytes / 4 : v.dtype == 7 ? v.bytes / 8 : 0;
  for (size_t k = 0; k < count; ++k) {
    out += k ? "," : "";
    out += v.dtype == 1 ? std::to_string(static_cast<const float*>(v.data)[k]).substr(0, 4)
                        : std::to_string(static_cast<const int64_t*>(v.data)[k]);
  }
  return out + "}";
}

std::string attribute(const TesseraEpAttribute& a) {
  std::string out = std::string(a.name) + "=";
  switch (a.type) {
    case TESSERA_EP_ATTR_FLOAT: return out + std::to_string(a.f).substr(0, 4);
    case TESSERA_EP_ATTR_INT: return out + std::to_string(a.i);
    case TESSERA_EP_ATTR_STRING: return out + a.s;
    case TESSERA_EP_ATTR_TENSOR: return out + "tensor" + std::to_string(a.tensor.dtype) + dims(a.tensor) + values(a.tensor);
    case TESSERA_EP_ATTR_INTS:
      for (size_t k = 0; k < a.count; ++k) out += (k ? "," : "") + std::to_string(a.ints[k]);
      return out;
    case TESSERA_EP_ATTR_FLOATS:
      for (size_t k = 0; k < a.count; ++k) out += (k ? "," : "") + std::to_string(a.floats[k]).substr(0, 4);
      return out;
    case TESSERA_EP_ATTR_STRINGS:
      for (size_t k = 0; k < a.count; ++k) out += std::string(k ? "," : "") + a.strings[k];
      return out;
  }
  return out + "?";
}

int supports(const TesseraEpNode* node, char* reason, size_t reason_size) {
  std::string seen;
  for (size_t k = 0; k < node->attribute_count; ++k) seen += attribute(node->attributes[k]) + " ";
  for (size_t k = 0; k < node->input_count; ++k)
    seen += "in" + std::to_string(k) + ":" + std::to_string(node->inputs[k].dtype) + dims(node->inputs[k]) + values(node->inputs[k]) + " ";
  std::snprintf(reason, reason_size, "op: %s", seen.c_str());
  return 0;
}

int create_kernel(const TesseraEpNode*, const TesseraEpKernelConfig*, void**, char* error, size_t error_size) {
  std::snprintf(error, error_size, "the probe runs nothing");
  return 1;
}
int compute(const void*, const TesseraEpTensor*, size_t, const TesseraEpOutputs*, char*, size_t) { return 1; }
void release_kernel(void*) {}

const TesseraEpPlugin kPlugin = {TESSERA_EP_PLUGIN_ABI_VERSION, "probe", 0, TESSERA_EP_MEMORY_HOST, supports, create_kernel,
                                 compute, release_kernel, nullptr, nullptr, nullptr};

}  // namespace

extern "C" __attribute__((visibility("default"))) const TesseraEpPlugin* tessera_ep_plugin(void) { return &kPlugin; }
