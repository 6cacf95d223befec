// The list of transformers per level: the one place that says what each level does and in
// which order. Each transformer lives in its own file.
#pragma once

#include <memory>
#include <vector>

#include "optimizer/graph_transformer.h"
#include "optimizer/optimizer.h"

namespace tessera {

// basic/
std::unique_ptr<GraphTransformer> make_constant_folding();
std::unique_ptr<GraphTransformer> make_noop_elimination();
std::unique_ptr<GraphTransformer> make_common_subexpression_elimination();
std::unique_ptr<GraphTransformer> make_transpose_fusion();
std::unique_ptr<GraphTransformer> make_squeeze_unsqueeze_fusion();
std::unique_ptr<GraphTransformer> make_dead_code_elimination();
// extended/
std::unique_ptr<GraphTransformer> make_batchnorm_into_conv();
std::unique_ptr<GraphTransformer> make_conv_add_fusion();
std::unique_ptr<GraphTransformer> make_conv_activation_fusion();
std::unique_ptr<GraphTransformer> make_layer_norm_fusion();
std::unique_ptr<GraphTransformer> make_rms_norm_fusion();
std::unique_ptr<GraphTransformer> make_gelu_fusion();
std::unique_ptr<GraphTransformer> make_skip_layer_norm_fusion();
std::unique_ptr<GraphTransformer> make_matmul_bias_fusion();
std::unique_ptr<GraphTransformer> make_attention_fusion();
std::unique_ptr<GraphTransformer> make_mha_attention_fusion();
std::unique_ptr<GraphTransformer> make_packed_qkv_fusion();
// layout/
std::unique_ptr<GraphTransformer> make_blocked_layout(int64_t block);
std::unique_ptr<GraphTransformer> make_squeeze_excite_fusion();

// Semantics-preserving cleanups in standard ONNX ops.
void add_basic_transformers(std::vector<std::unique_ptr<GraphTransformer>>& out);
// Fusions into com.tessera ops.
void add_extended_transformers(std::vector<std::unique_ptr<GraphTransformer>>& out);
// CPU layout choices for the EP's kernels (see LayoutTarget).
void add_layout_transformers(std::vector<std::unique_ptr<GraphTransformer>>& out, const LayoutTarget& target);

}  // namespace tessera
