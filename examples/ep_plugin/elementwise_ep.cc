// An example execution-provider plugin (include/tessera/tessera_ep_plugin.h): float32 Add, Mul
// (with numpy broadcasting), Relu and Sigmoid, computed here in memory of its own. Its blocks
// carry a header the plugin checks on every free and copy, so a host pointer handed to it by
// mistake is caught instead of silently working. Built as a shared library (CMake target
// tessera_example_ep); `tessera run MODEL --ep example_elementwise:PATH,cpu` uses it.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tessera/tessera_ep_plugin.h"

namespace {

constexpr uint64_t kMagic = 0x7e55e7a0e1e3e47bULL;
constexpr size_t kHeader = 64;  // keeps the payload 64-byte aligned

struct Block {
  uint64_t magic;
  size_t bytes;
};

void* ep_allocate(size_t bytes) {
  void* raw = std::aligned_alloc(kHeader, kHeader + ((bytes + kHeader - 1) / kHeader) * kHeader);
  if (!raw) return nullptr;
  auto* block = static_cast<Block*>(raw);
  block->magic = kMagic;
  block->bytes = bytes;
  return static_cast<char*>(raw) + kHeader;
}

Block* block_of(const void* data) {
  auto* block = reinterpret_cast<Block*>(static_cast<char*>(const_cast<void*>(data)) - kHeader);
  return block->magic == kMagic ? block : nullptr;
}

void ep_free(void* data) {
  if (!data) return;
  Block* block = block_of(data);
  if (!block) std::abort();  // not ours: freeing it would corrupt the heap
  block->magic = 0;
  std::free(block);
}

void say(char* out, size_t size, const std::string& text) { std::snprintf(out, size, "%s", text.c_str()); }

int ep_copy(void* dst, const void* src, size_t bytes, TesseraEpCopyDirection direction, char* error, size_t error_size) {
  const void* ours = direction == TESSERA_EP_HOST_TO_DEVICE ? dst : src;
  const Block* block = block_of(ours);
  if (!block || block->bytes < bytes) {
    say(error, error_size, "the device side of the copy is not a block of this plugin's memory");
    return 1;
  }
  std::memcpy(dst, src, bytes);
  return 0;
}

enum class Op { add, mul, relu, sigmoid };

bool op_of(const char* name, Op& op) {
  const std::string s = name;
  if (s == "Add") op = Op::add;
  else if (s == "Mul") op = Op::mul;
  else if (s == "Relu") op = Op::relu;
  else if (s == "Sigmoid") op = Op::sigmoid;
  else return false;
  return true;
}

int ep_supports(const TesseraEpNode* node, char* reason, size_t reason_size) {
  Op op;
  if (node->domain[0] != '\0' || !op_of(node->op_type, op)) {
    say(reason, reason_size, std::string("op: ") + node->op_type + " is not one of Add, Mul, Relu, Sigmoid");
    return 0;
  }
  const bool binary = op == Op::add || op == Op::mul;
  // Add and Mul broadcast the numpy way from opset 7 (before it, a `broadcast` attribute decides).
  if (binary && node->opset < 7) {
    say(reason, reason_size, "opset: Add/Mul before opset 7 are not supported");
    return 0;
  }
  if (node->input_count != (binary ? 2u : 1u) || node->output_count != 1) {
    say(reason, reason_size, "op: unexpected input or output count");
    return 0;
  }
  for (size_t i = 0; i < node->input_count; ++i)
    if (node->inputs[i].dtype != TESSERA_EP_FLOAT) {
      say(reason, reason_size, "dtype: only float32 inputs");
      return 0;
    }
  return 1;
}

struct Kernel {
  Op op;
};

int ep_create_kernel(const TesseraEpNode* node, const TesseraEpKernelConfig*, void** kernel, char* error, size_t error_size) {
  Op op;
  if (!op_of(node->op_type, op)) {
    say(error, error_size, std::string("no kernel for ") + node->op_type);
    return 1;
  }
  *kernel = new Kernel{op};
  return 0;
}

void ep_release_kernel(void* kernel) { delete static_cast<Kernel*>(kernel); }

int64_t count(const int64_t* dims, size_t rank) {
  int64_t n = 1;
  for (size_t i = 0; i < rank; ++i) n *= dims[i];
  return n;
}

// Strides of `t` (right-aligned to `rank`) with 0 where it broadcasts.
std::vector<int64_t> broadcast_strides(const TesseraEpTensor& t, const std::vector<int64_t>& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (int32_t i = t.rank - 1; i >= 0; --i) {
    const size_t axis = out.size() - static_cast<size_t>(t.rank - i);
    strides[axis] = t.dims[i] == 1 ? 0 : stride;
    stride *= t.dims[i];
  }
  return strides;
}

int binary(Op op, const TesseraEpTensor& a, const TesseraEpTensor& b, const TesseraEpOutputs* outputs, char* error,
           size_t error_size) {
  const size_t rank = static_cast<size_t>(a.rank > b.rank ? a.rank : b.rank);
  std::vector<int64_t> out(rank, 1);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k + static_cast<size_t>(a.rank) >= rank ? a.dims[k + a.rank - rank] : 1;
    const int64_t db = k + static_cast<size_t>(b.rank) >= rank ? b.dims[k + b.rank - rank] : 1;
    if (da != db && da != 1 && db != 1) {
      say(error, error_size, "shapes do not broadcast");
      return 1;
    }
    out[k] = da == 1 ? db : da;
  }
  auto* y = static_cast<float*>(outputs->allocate(outputs->context, 0, TESSERA_EP_FLOAT, static_cast<int32_t>(rank), out.data()));
  if (!y) return 1;
  const std::vector<int64_t> sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  const auto* pa = static_cast<const float*>(a.data);
  const auto* pb = static_cast<const float*>(b.data);
  std::vector<int64_t> index(rank, 0);
  const int64_t n = count(out.data(), out.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t k = 0; k < rank; ++k) {
      ia += index[k] * sa[k];
      ib += index[k] * sb[k];
    }
    y[i] = op == Op::add ? pa[ia] + pb[ib] : pa[ia] * pb[ib];
    for (size_t k = rank; k-- > 0;) {  // the next output index, last axis fastest
      if (++index[k] < out[k]) break;
      index[k] = 0;
    }
  }
  return 0;
}

int ep_compute(const void* kernel, const TesseraEpTensor* inputs, size_t input_count, const TesseraEpOutputs* outputs,
               char* error, size_t error_size) {
  const Op op = static_cast<const Kernel*>(kernel)->op;
  for (size_t i = 0; i < input_count; ++i)
    if (inputs[i].dtype != TESSERA_EP_FLOAT || (count(inputs[i].dims, static_cast<size_t>(inputs[i].rank)) > 0 && !block_of(inputs[i].data))) {
      say(error, error_size, "input " + std::to_string(i) + " is not a float32 tensor in this plugin's memory");
      return 1;
    }
  if (op == Op::add || op == Op::mul) return binary(op, inputs[0], inputs[1], outputs, error, error_size);
  const TesseraEpTensor& x = inputs[0];
  auto* y = static_cast<float*>(outputs->allocate(outputs->context, 0, TESSERA_EP_FLOAT, x.rank, x.dims));
  if (!y) return 1;
  const auto* px = static_cast<const float*>(x.data);
  const int64_t n = count(x.dims, static_cast<size_t>(x.rank));
  for (int64_t i = 0; i < n; ++i) y[i] = op == Op::relu ? (px[i] > 0.0f ? px[i] : 0.0f) : 1.0f / (1.0f + std::exp(-px[i]));
  return 0;
}

const TesseraEpPlugin kPlugin = {
    TESSERA_EP_PLUGIN_ABI_VERSION,
    "example_elementwise",
    0,
    TESSERA_EP_MEMORY_DEVICE,
    ep_supports,
    ep_create_kernel,
    ep_compute,
    ep_release_kernel,
    ep_allocate,
    ep_free,
    ep_copy,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const TesseraEpPlugin* tessera_ep_plugin(void) { return &kPlugin; }
