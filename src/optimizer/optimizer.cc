#include "optimizer/optimizer.h"

#include "graph/shape_inference.h"
#include "optimizer/transformers.h"

namespace tessera {

namespace {

// Enough for every chain seen in practice (fusions feed cleanups, which feed fusions again).
constexpr int kMaxRounds = 8;

Result<int> apply_recursively(const GraphTransformer& transformer, Graph& graph, const TransformContext& ctx) {
  TS_ASSIGN_OR_RETURN(int rewrites, transformer.apply(graph, ctx));
  for (Node& node : graph.nodes) {
    for (auto& [name, attr] : node.attributes) {
      if (attr.g) {
        TS_ASSIGN_OR_RETURN(int n, apply_recursively(transformer, *attr.g, ctx));
        rewrites += n;
      }
      for (auto& g : attr.graphs) {
        TS_ASSIGN_OR_RETURN(int n, apply_recursively(transformer, *g, ctx));
        rewrites += n;
      }
    }
  }
  return rewrites;
}

bool uses_domain(const Graph& graph, const std::string& domain) {
  for (const Node& node : graph.nodes) {
    if (node.domain == domain) return true;
    for (const auto& [name, attr] : node.attributes) {
      if (attr.g && uses_domain(*attr.g, domain)) return true;
      for (const auto& g : attr.graphs)
        if (uses_domain(*g, domain)) return true;
    }
  }
  return false;
}

// The nodes the fusions wrote need their domain imported: for their inference rules and schemas
// (looked up by the domain's opset), and for the model to be saved and reloaded.
void import_tessera_domain(Model& model) {
  if (!model.opset_imports.count(kTesseraDomain) && uses_domain(model.graph, kTesseraDomain))
    model.opset_imports[kTesseraDomain] = 1;
}

}  // namespace

std::vector<std::unique_ptr<GraphTransformer>> transformers_for(OptimizationLevel level, const LayoutTarget& target) {
  std::vector<std::unique_ptr<GraphTransformer>> out;
  if (level == OptimizationLevel::disabled) return out;
  add_basic_transformers(out);
  if (level == OptimizationLevel::basic) return out;
  add_extended_transformers(out);
  if (level == OptimizationLevel::extended) return out;
  add_layout_transformers(out, target);
  return out;
}

Result<std::vector<PassReport>> optimize_model(Model& model, const std::vector<std::unique_ptr<GraphTransformer>>& transformers,
                                               const NodeEvaluator& evaluate, const Tracing* tracing) {
  std::vector<PassReport> reports;
  for (const auto& t : transformers) reports.push_back({std::string(t->name()), 0});
  // Types are inferred once here and again after every pass that rewrote something, so each pass
  // reads the types of the graph as it is. A model whose own types contradict (the session checks
  // it first) is optimized without them; a pass that leaves a contradiction is a bug, reported.
  Result<ValueTypes> inferred = infer_types(model.graph, model, {});
  const bool typed = inferred.is_ok();
  ValueTypes types = typed ? std::move(inferred).value() : ValueTypes{};
  TransformContext ctx{&model, evaluate, typed ? &types : nullptr};
  for (int round = 0; round < kMaxRounds; ++round) {
    int changed = 0;
    for (size_t k = 0; k < transformers.size(); ++k) {
      PhaseTimer timer(tracing, "optimizer", reports[k].name);
      Result<int> n = apply_recursively(*transformers[k], model.graph, ctx);
      const std::string where = "optimizer pass '" + reports[k].name + "'";
      if (!n.is_ok()) return n.status().with_context(where);
      if (timer.active()) timer.set_args(JsonArgs().add("round", round + 1).add("rewrites", n.value()).take());
      reports[k].rewrites += n.value();
      changed += n.value();
      if (n.value() == 0) continue;
      import_tessera_domain(model);
      if (!typed) continue;
      Result<ValueTypes> after = infer_types(model.graph, model, {});
      if (!after.is_ok()) return after.status().with_context(where + " left a graph whose types contradict");
      types = std::move(after).value();
    }
    if (changed == 0) break;
  }
  return reports;
}

}  // namespace tessera
