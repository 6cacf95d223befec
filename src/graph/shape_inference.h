// Shape and type inference: the type of every value of a graph, before anything runs. Each op's
// rule (src/graph/infer/<family>.cc, found by domain, op and opset) derives its outputs from its
// inputs' types and from inputs known before a run (initializers, Constant nodes, and small
// integer "shape values" carried through Shape -> Gather -> Concat -> Reshape). Symbolic dims carry
// through; what cannot be known (data-dependent sizes) stays unknown, never guessed. Ops without a
// rule get the element type their schema ties to an input, and an unknown shape.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/infer/infer_context.h"
#include "tessera/status.h"

namespace tessera {

// The types of the graph's inputs, initializers and node outputs, merged with the declared
// value_infos and outputs (the more precise of the two per dim). `outer_scope` gives the types of
// values read from enclosing graphs (empty for a main graph). Fails, naming the node, on a
// provable contradiction: dims that cannot broadcast, inner dimensions of a MatMul that differ,
// an output whose declared dtype or fixed dim differs from the inferred one.
Result<ValueTypes> infer_types(const Graph& graph, const Model& model, const ValueTypes& outer_scope);

// As infer_types, for a subgraph whose inputs the caller knows (`input_types` by position; a
// declared input type is merged with it). Used by the If/Loop/Scan rules.
Result<ValueTypes> infer_subgraph_types(const Graph& graph, const Model& model, const ValueTypes& outer_scope,
                                        const std::vector<TypeInfo>& input_types);

}  // namespace tessera
