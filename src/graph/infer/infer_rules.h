// The shape-inference rules of each op family, as tables {domain, op, since, until, rule}: the rule
// serves the op's versions since..until (inclusive), split where the op's semantics changed.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/infer/infer_context.h"

namespace tessera {

struct InferRule {
  const char* domain;  // "" for ai.onnx
  const char* op;
  int64_t since, until;
  InferFn fn;
};

constexpr int64_t kAnyOpset = 1000;

std::vector<InferRule> elementwise_infer_rules();   // infer/elementwise.cc
std::vector<InferRule> math_infer_rules();          // infer/math.cc: MatMul, Gemm, reductions, Einsum
std::vector<InferRule> nn_infer_rules();            // infer/nn.cc: Conv, pools, normalizations
std::vector<InferRule> shape_op_infer_rules();      // infer/shape_ops.cc: Reshape, Shape, Concat, ...
std::vector<InferRule> index_infer_rules();         // infer/index_ops.cc: Gather, Slice, Pad, TopK, ...
std::vector<InferRule> control_flow_infer_rules();  // infer/control_flow.cc: If, Loop, Scan
std::vector<InferRule> microsoft_quant_infer_rules();  // infer/microsoft_quant.cc: com.microsoft quantized ops

// numpy matmul of the shapes of inputs `a_index` and `b_index` into output 0 (infer/math.cc).
Status matmul_shapes(InferContext& ctx, size_t a_index, size_t b_index);
// Concat's output shape from inputs first, first + step, ... along the `axis` attribute into
// output 0 (infer/shape_ops.cc).
Status concat_shapes(InferContext& ctx, size_t first, size_t step);

std::vector<InferRule> microsoft_infer_rules();     // infer/microsoft.cc: ONNX Runtime's contrib ops

// The rule for `op` of `domain` at `opset`, or nullptr.
InferFn find_infer_rule(const std::string& domain, const std::string& op, int64_t opset);

}  // namespace tessera
