// One registration function per op family; each lives in the family's own file and adds its
// kernels from a table. cpu_provider.cc calls them all. Each line names the file; the three
// families that pull in a second file name it too.
#pragma once

#include "framework/kernel_registry.h"

namespace tessera {

void register_unary_elementwise(KernelRegistry& registry);   // math/unary_elementwise.cc
void register_binary_elementwise(KernelRegistry& registry);  // math/binary_elementwise.cc
void register_variadic_elementwise(KernelRegistry& registry);  // math/variadic_elementwise.cc (Sum, Mean, Min, Max, Where)
void register_cast(KernelRegistry& registry);                // math/cast.cc
void register_matmul(KernelRegistry& registry);              // math/matmul.cc (MatMul, Gemm)
void register_einsum(KernelRegistry& registry);              // math/einsum.cc
void register_conv(KernelRegistry& registry);                // nn/conv.cc (Conv, FusedConv, com.tessera BlockedConv)
void register_conv_transpose(KernelRegistry& registry);      // nn/conv_transpose.cc
void register_pool(KernelRegistry& registry);                // nn/pool.cc (with com.tessera MaxPoolGrad)
void register_blocked_layout(KernelRegistry& registry);      // nn/blocked_layout.cc (com.tessera reorders, BlockedPool)
void register_normalization(KernelRegistry& registry);       // nn/normalization.cc
void register_softmax(KernelRegistry& registry);             // nn/softmax.cc
void register_resize(KernelRegistry& registry);              // nn/resize.cc
void register_dropout(KernelRegistry& registry);             // nn/dropout.cc
void register_shape_ops(KernelRegistry& registry);           // tensor/shape_ops.cc (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Shape, Size)
void register_generators(KernelRegistry& registry);          // tensor/generators.cc (Constant, ConstantOfShape, Range, EyeLike, OneHot)
void register_transpose(KernelRegistry& registry);           // tensor/transpose.cc
void register_concat_split(KernelRegistry& registry);        // tensor/concat_split.cc
void register_slice(KernelRegistry& registry);               // tensor/slice.cc
void register_gather_scatter(KernelRegistry& registry);      // tensor/gather_scatter.cc
void register_expand_tile_pad(KernelRegistry& registry);     // tensor/expand_tile_pad.cc
void register_nonzero_compress(KernelRegistry& registry);    // tensor/nonzero_compress.cc (NonZero, Compress)
void register_trilu(KernelRegistry& registry);               // tensor/trilu.cc
void register_rearrange(KernelRegistry& registry);           // tensor/rearrange.cc (DepthToSpace, SpaceToDepth, ReverseSequence)
void register_unique(KernelRegistry& registry);              // tensor/unique.cc
void register_reduce(KernelRegistry& registry);              // reduction/reduce.cc
void register_arg_reduce(KernelRegistry& registry);          // reduction/arg_reduce.cc (ArgMax, ArgMin)
void register_topk(KernelRegistry& registry);                // reduction/topk.cc
void register_cumsum(KernelRegistry& registry);              // math/cumsum.cc (CumSum, CumProd)
void register_control_flow(KernelRegistry& registry);        // controlflow/control_flow.cc (If, Loop; Scan through register_scan, controlflow/scan.cc)
void register_sequence(KernelRegistry& registry);            // sequence/sequence_ops.cc
void register_optional(KernelRegistry& registry);            // sequence/optional_ops.cc
void register_text(KernelRegistry& registry);                // text/string_ops.cc
void register_attention(KernelRegistry& registry);           // nn/attention.cc (Attention, RotaryEmbedding)
void register_loss(KernelRegistry& registry);                // nn/loss.cc (SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss)
void register_quantization(KernelRegistry& registry);        // quantization/quantize.cc (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear; MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv through quant::register_quantized_linear, quantization/qlinear_ops.cc)
void register_signal(KernelRegistry& registry);              // math/signal.cc (DFT, STFT, windows, MelWeightMatrix)
void register_rnn(KernelRegistry& registry);                 // nn/rnn.cc (RNN, GRU, LSTM)
void register_vision(KernelRegistry& registry);              // nn/vision.cc (NonMaxSuppression, RoiAlign, ...; GridSample, AffineGrid, DeformConv through register_vision_sampling, nn/vision_sampling.cc)
void register_det(KernelRegistry& registry);                 // math/det.cc (Det)
void register_bitcast(KernelRegistry& registry);             // tensor/bitcast.cc (BitCast)
void register_ml_numeric_transforms(KernelRegistry& registry);  // ml/numeric_transforms.cc (Binarizer, Normalizer, Scaler, Imputer)
void register_ml_feature_assembly(KernelRegistry& registry);    // ml/feature_assembly.cc (ArrayFeatureExtractor, FeatureVectorizer)
void register_ml_category_mapping(KernelRegistry& registry);    // ml/category_mapping.cc (OneHotEncoder, CategoryMapper, DictVectorizer)
void register_ml_label_encoder(KernelRegistry& registry);       // ml/label_encoder.cc
void register_ml_tree_ensemble(KernelRegistry& registry);       // ml/tree_ensemble.cc
void register_ml_linear_svm(KernelRegistry& registry);          // ml/linear_svm.cc (LinearClassifier/Regressor, SVMClassifier/Regressor)
void register_ml_zipmap(KernelRegistry& registry);              // ml/zipmap.cc
void register_training_update_ops(KernelRegistry& registry);          // training/training_update_ops.cc (Adagrad, Adam, Momentum of ai.onnx.preview.training)
void register_batch_norm_grad(KernelRegistry& registry);      // training/batch_norm_grad.cc (com.tessera BatchNormalizationGrad)
void register_conv_weight_grad(KernelRegistry& registry);     // training/conv_weight_grad.cc (com.tessera ConvWeightGrad)
void register_activation_grad(KernelRegistry& registry);      // training/activation_grad.cc (com.tessera ActivationGrad)
void register_linear_grad(KernelRegistry& registry);          // training/linear_grad.cc (com.tessera LinearGrad)
void register_linear_attention(KernelRegistry& registry);    // nn/linear_attention.cc
void register_causal_conv(KernelRegistry& registry);         // nn/causal_conv.cc (CausalConvWithState)
void register_flex_attention(KernelRegistry& registry);      // nn/flex_attention.cc (ai.onnx.preview)
void register_tfidf_vectorizer(KernelRegistry& registry);    // text/tfidf_vectorizer.cc
void register_image_decoder(KernelRegistry& registry);       // image/image_decoder.cc
void register_random(KernelRegistry& registry);              // math/random.cc (RandomNormal/Uniform(Like), Bernoulli, Multinomial)

}  // namespace tessera
