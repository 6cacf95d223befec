// Comparing two IR models field by field, for round-trip tests (load -> save -> load).
#pragma once

#include <string>

#include "graph/graph.h"

namespace tessera::test {

// Empty when equal, else the first difference with its path ("graph 'g': node 'n': attribute
// 'axis': i 1 vs 2"). Compares ir_version, producer, opset imports, graphs (inputs, outputs,
// value_infos with declared types and symbolic dims, initializers byte for byte, nodes with every
// attribute, subgraphs) and functions. The model's `source` is not compared.
std::string diff_models(const Model& a, const Model& b);

// Same for tensors: dtype, shape and bytes (strings element by element).
std::string diff_tensors(const Tensor& a, const Tensor& b);

}  // namespace tessera::test
