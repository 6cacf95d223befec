// The oneDNN execution provider as a Tessera plugin (include/tessera/tessera_ep_plugin.h): float32
// Conv/FusedConv, MatMul/Gemm/FusedMatMul, pooling, BatchNormalization, LayerNormalization,
// activations, Softmax, binary ops and Concat run as oneDNN primitives on host memory, so no
// copies sit between it and the CPU EP. It claims a node only when its family accepts the
// attributes and, where the inferred shapes are fixed, oneDNN builds a primitive for it; the rest
// falls back, each with its reason. oneDNN threads with OpenMP: each call runs with the session's
// intra-op thread count (SessionOptions::intra_op_threads, `--threads`; 0: one per core).
#include <omp.h>

#include <cstdio>
#include <exception>

#include "common.h"
#include "families.h"

namespace tessera_dnnl {

const std::vector<Family>& families() {
  static const std::vector<Family> all = {conv_family(), matmul_family(),  pool_family(),   norm_family(),
                                          eltwise_family(), softmax_family(), binary_family(), concat_family()};
  return all;
}

namespace {

void say(char* out, size_t size, const std::string& text) { std::snprintf(out, size, "%s", text.c_str()); }

const Family* family_of(const NodeView& node) {
  for (const Family& f : families())
    if (f.handles(node)) return &f;
  return nullptr;
}

// "" when the plugin runs the node, else the decline reason.
std::string why_not(const TesseraEpNode& c_node) {
  const NodeView node(c_node);
  const Family* family = family_of(node);
  if (!family) return "op: " + node.op() + (node.domain().empty() ? "" : " of " + node.domain()) + " is not run by the oneDNN EP";
  if (std::string why = family->check(node); !why.empty()) return why;
  std::vector<Dims> dims;
  for (size_t k = 0; k < node.input_count(); ++k) {
    if (!node.has_input(k)) {
      dims.push_back(kOmitted);
      continue;
    }
    if (!fixed(node.input(k))) return "";  // shapes known only at run time: oneDNN is asked then
    dims.push_back(dims_of(node.input(k)));
  }
  try {
    family->make(node)->prepare(dims);
  } catch (const std::exception& e) {
    return std::string("shape: oneDNN cannot run it: ") + e.what();
  }
  return "";
}

struct PluginKernel {
  std::unique_ptr<Kernel> kernel;
  int threads;
};

int supports(const TesseraEpNode* node, char* reason, size_t reason_size) {
  const std::string why = why_not(*node);
  say(reason, reason_size, why);
  return why.empty() ? 1 : 0;
}

int create_kernel(const TesseraEpNode* c_node, const TesseraEpKernelConfig* config, void** kernel, char* error,
                  size_t error_size) {
  const NodeView node(*c_node);
  const Family* family = family_of(node);
  if (!family) {
    say(error, error_size, "no kernel for " + node.op());
    return 1;
  }
  try {
    const int threads = config && config->threads > 0 ? config->threads : omp_get_num_procs();
    *kernel = new PluginKernel{family->make(node), threads};
  } catch (const std::exception& e) {
    say(error, error_size, e.what());
    return 1;
  }
  return 0;
}

int compute(const void* kernel, const TesseraEpTensor* inputs, size_t input_count, const TesseraEpOutputs* outputs, char* error,
            size_t error_size) {
  const auto& k = *static_cast<const PluginKernel*>(kernel);
  for (size_t i = 0; i < input_count; ++i)
    if (inputs[i].data && inputs[i].dtype != TESSERA_EP_FLOAT) {
      say(error, error_size, "input " + std::to_string(i) + " is not float32");
      return 1;
    }
  try {
    omp_set_num_threads(k.threads);  // this thread's OpenMP team: the session's intra-op threads
    k.kernel->run(inputs, input_count, outputs);
  } catch (const std::exception& e) {
    say(error, error_size, e.what());
    return 1;
  }
  return 0;
}

void release_kernel(void* kernel) { delete static_cast<PluginKernel*>(kernel); }

const TesseraEpPlugin kPlugin = {
    TESSERA_EP_PLUGIN_ABI_VERSION, "dnnl", 0, TESSERA_EP_MEMORY_HOST, supports, create_kernel, compute, release_kernel,
    nullptr, nullptr, nullptr,
};

}  // namespace

}  // namespace tessera_dnnl

extern "C" __attribute__((visibility("default"))) const TesseraEpPlugin* tessera_ep_plugin(void) { return &tessera_dnnl::kPlugin; }
