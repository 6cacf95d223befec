// Inference BatchNormalization after a Conv folds into the Conv's weights and bias:
//   BN(Conv(x, w, b)) = Conv(x, w * s, (b - mean) * s + beta)   with s = gamma / sqrt(var + eps)
// per output channel. Needs float32 constants for all of them and no other reader of the Conv's
// output. The folded weights are new initializers; the originals go when nothing reads them.
#include <cmath>

#include "optimizer/graph_edit.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

bool is_float_vector(const Tensor* t, int64_t n) { return t && t->dtype() == DataType::float32 && t->size() == n; }

// BatchNormalization in inference form: one output read, no training mode, spatial (old opsets).
bool is_inference_batchnorm(const Node& bn, const GraphIndex& index) {
  if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.inputs.size() != 5 || bn.outputs.empty()) return false;
  for (size_t k = 1; k < bn.outputs.size(); ++k)
    if (!bn.outputs[k].empty() && !index.is_unused(bn.outputs[k])) return false;
  const Attribute* training = bn.attribute("training_mode");
  if (training && training->i != 0) return false;
  const Attribute* spatial = bn.attribute("spatial");
  if (spatial && spatial->i != 1) return false;
  const Attribute* is_test = bn.attribute("is_test");
  return !is_test || is_test->i != 0 || bn.outputs.size() == 1;
}

class BatchNormIntoConv final : public GraphTransformer {
 public:
  std::string_view name() const override { return "batchnorm_into_conv"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    std::vector<bool> dead(graph.nodes.size(), false);
    int folded = 0;
    for (size_t c = 0; c < graph.nodes.size(); ++c) {
      Node& conv = graph.nodes[c];
      if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1 || conv.inputs.size() < 2) continue;
      if (!index.has_single_use(conv.outputs[0])) continue;
      const GraphIndex::Use use = index.uses(conv.outputs[0])[0];
      const Node& bn = graph.nodes[use.node];
      if (use.input != 0 || dead[use.node] || !is_inference_batchnorm(bn, index)) continue;

      const Tensor* w = constant_value(graph, index, conv.inputs[1]);
      if (!w || w->dtype() != DataType::float32 || w->rank() < 3 || w->dim(0) == 0) continue;
      const int64_t M = w->dim(0), per_channel = w->size() / M;
      const Tensor* b = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? constant_value(graph, index, conv.inputs[2]) : nullptr;
      if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && !is_float_vector(b, M)) continue;
      const Tensor* gamma = constant_value(graph, index, bn.inputs[1]);
      const Tensor* beta = constant_value(graph, index, bn.inputs[2]);
      const Tensor* mean = constant_value(graph, index, bn.inputs[3]);
      const Tensor* var = constant_value(graph, index, bn.inputs[4]);
      if (!is_float_vector(gamma, M) || !is_float_vector(beta, M) || !is_float_vector(mean, M) || !is_float_vector(var, M))
        continue;
      const Attribute* eps_attr = bn.attribute("epsilon");
      const float eps = eps_attr ? eps_attr->f : 1e-5f;

      Result<Tensor> w_new = Tensor::create(DataType::float32, w->shape());
      Result<Tensor> b_new = Tensor::create(DataType::float32, {M});
      if (!w_new.is_ok()) return w_new.status();
      if (!b_new.is_ok()) return b_new.status();
      const float* wp = w->data<float>();
      float* wo = w_new->data<float>();
      float* bo = b_new->data<float>();
      for (int64_t m = 0; m < M; ++m) {
        const float s = gamma->data<float>()[m] / std::sqrt(var->data<float>()[m] + eps);
        for (int64_t k = 0; k < per_channel; ++k) wo[m * per_channel + k] = wp[m * per_channel + k] * s;
        const float bias = b ? b->data<float>()[m] : 0.0f;
        bo[m] = (bias - mean->data<float>()[m]) * s + beta->data<float>()[m];
      }
      const std::string base = conv.name.empty() ? conv.outputs[0] : conv.name;
      const std::string w_name = unique_value_name(graph, base + "_weight_bn");
      graph.initializers[w_name] = std::move(w_new).value();
      const std::string b_name = unique_value_name(graph, base + "_bias_bn");
      graph.initializers[b_name] = std::move(b_new).value();
      conv.inputs[1] = w_name;
      conv.inputs.resize(3);
      conv.inputs[2] = b_name;
      conv.outputs[0] = bn.outputs[0];
      dead[use.node] = true;
      ++folded;
    }
    if (folded) remove_nodes(graph, dead);
    return folded;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_batchnorm_into_conv() { return std::make_unique<BatchNormIntoConv>(); }

}  // namespace tessera
