#include "optimizer/transformers.h"

namespace tessera {

void add_basic_transformers(std::vector<std::unique_ptr<GraphTransformer>>& out) {
  // Folding first: it turns shape arithmetic into constants the later passes can read. Dead code
  // elimination last: it sweeps what the others left unread.
  out.push_back(make_constant_folding());
  out.push_back(make_noop_elimination());
  out.push_back(make_common_subexpression_elimination());
  out.push_back(make_transpose_fusion());
  out.push_back(make_squeeze_unsqueeze_fusion());
  out.push_back(make_dead_code_elimination());
}

void add_extended_transformers(std::vector<std::unique_ptr<GraphTransformer>>& out) {
  // BatchNormalization first: a Conv followed by BN then Relu fuses into one node only once the BN is gone.
  out.push_back(make_batchnorm_into_conv());
  // The residual Add before the activation: Conv -> Add -> Relu becomes one FusedConv.
  out.push_back(make_conv_add_fusion());
  out.push_back(make_conv_activation_fusion());
  // Transformer blocks: normalizations and GELU first, so a residual Add finds its
  // LayerNormalization and a MatMul + bias finds its GELU within the same round.
  out.push_back(make_layer_norm_fusion());
  out.push_back(make_rms_norm_fusion());
  out.push_back(make_gelu_fusion());
  out.push_back(make_skip_layer_norm_fusion());
  out.push_back(make_matmul_bias_fusion());
  out.push_back(make_attention_fusion());
  out.push_back(make_mha_attention_fusion());
  // Reads what the attention fusions wrote: Q, K and V sliced from, or projected alongside, one another.
  out.push_back(make_packed_qkv_fusion());
}

void add_layout_transformers(std::vector<std::unique_ptr<GraphTransformer>>& out, const LayoutTarget& target) {
  if (target.channel_block > 0) {
    out.push_back(make_blocked_layout(target.channel_block));
    // Reads what blocked_layout wrote: the squeeze-and-excitation blocks it left in pieces.
    out.push_back(make_squeeze_excite_fusion());
  }
}

}  // namespace tessera
