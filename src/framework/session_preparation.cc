#include "framework/session_preparation.h"

#include <set>

#include "graph/random_ops.h"

namespace tessera {

namespace {

// "input_ids tensor(int64)[batch,sequence], ...", for messages.
std::string declared_inputs(const Graph& graph) {
  std::string list;
  for (const ValueInfo& in : graph.inputs) list += (list.empty() ? "" : ", ") + in.name + " " + in.type.to_string();
  return list;
}

}  // namespace

Status apply_free_dimension_overrides(Graph& graph, const std::map<std::string, int64_t>& overrides,
                                      const std::string& model) {
  std::set<std::string> used;
  for (ValueInfo& input : graph.inputs) {
    if (input.type.kind != TypeInfo::Kind::tensor || !input.type.shape) continue;
    for (Dim& dim : *input.type.shape) {
      auto it = dim.param.empty() ? overrides.end() : overrides.find(dim.param);
      if (it == overrides.end()) continue;
      if (it->second < 0)
        return invalid_argument("model '", model, "': free_dimension_overrides sets dim '", it->first, "' of input '",
                                input.name, "' to ", it->second, "; a dim is >= 0");
      dim.value = it->second;
      dim.param.clear();
      used.insert(it->first);
    }
  }
  for (const auto& [name, value] : overrides)
    if (!used.count(name))
      return invalid_argument("model '", model, "': free_dimension_overrides names dim '", name,
                              "', which no input of the model has (inputs: ",
                              declared_inputs(graph), ")");
  return Status::ok();
}

bool draws_random_numbers(const Graph& graph) {
  for (const Node& node : graph.nodes) {
    if (is_random_op(node.op_type)) return true;
    for (const auto& [name, attr] : node.attributes) {
      if (attr.g && draws_random_numbers(*attr.g)) return true;
      for (const auto& body : attr.graphs)
        if (body && draws_random_numbers(*body)) return true;
    }
  }
  return false;
}

std::optional<std::vector<Value>> warm_up_inputs(const Graph& graph) {
  std::vector<Value> inputs(graph.inputs.size());
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ValueInfo& in = graph.inputs[i];
    if (graph.is_initializer(in.name) || in.type.kind == TypeInfo::Kind::optional) continue;
    if (in.type.kind != TypeInfo::Kind::tensor || !in.type.shape || in.type.elem_type == DataType::undefined)
      return std::nullopt;
    Shape shape;
    // A dim left symbolic (or unknown) is warmed at 1: the batch of one most callers run first.
    for (const Dim& dim : *in.type.shape) shape.push_back(dim.is_fixed() ? dim.value : 1);
    Result<Tensor> zeros = Tensor::create(in.type.elem_type, std::move(shape));
    if (!zeros.is_ok()) return std::nullopt;  // an absurd declared shape: the first run reports it
    inputs[i] = Value(std::move(zeros).value());
  }
  return inputs;
}

}  // namespace tessera
