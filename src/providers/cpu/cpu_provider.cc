#include "providers/cpu/cpu_provider.h"

#include "providers/cpu/families.h"
#include "providers/cpu/quantization/microsoft_quant.h"
#ifdef TESSERA_HAVE_DNNL
#include "providers/cpu/nn/conv_dnnl.h"
#endif

namespace tessera {

CpuExecutionProvider::CpuExecutionProvider() {
  for (auto register_family : {
           register_unary_elementwise, register_binary_elementwise, register_variadic_elementwise,
           register_cast, register_matmul, register_einsum, register_conv, register_conv_transpose, register_pool,
           register_blocked_layout, register_normalization, register_softmax, register_resize, register_dropout,
           register_shape_ops, register_generators, register_transpose, register_concat_split, register_slice,
           register_gather_scatter, register_expand_tile_pad, register_nonzero_compress, register_trilu,
           register_rearrange, register_unique, register_reduce, register_arg_reduce, register_topk,
           register_cumsum, register_control_flow, register_sequence, register_optional, register_text,
           register_attention, register_loss, register_quantization, register_signal, register_random,
           register_rnn, register_vision, register_det, register_bitcast, register_ml_numeric_transforms,
           register_ml_feature_assembly, register_ml_category_mapping, register_ml_label_encoder,
           register_ml_tree_ensemble, register_ml_linear_svm, register_ml_zipmap,
           register_training_update_ops, register_batch_norm_grad, register_conv_weight_grad, register_activation_grad,
           register_linear_grad, register_linear_attention, register_causal_conv, register_flex_attention,
           register_tfidf_vectorizer, register_image_decoder})
    register_family(registry_);
  register_microsoft_quantization(registry_);
}

int64_t CpuExecutionProvider::blocked_channels() const {
#ifdef TESSERA_HAVE_DNNL
  return dnnl_blocked_channels();
#else
  return 0;
#endif
}

}  // namespace tessera
