#include "framework/session_preparation.h"

#include <set>

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

std::vector<TypeInfo> warm_up_input_types(const Graph& graph) {
  std::vector<TypeInfo> types;
  types.reserve(graph.inputs.size());
  for (const ValueInfo& in : graph.inputs) {
    TypeInfo type = in.type;
    const bool fed_tensor = !graph.is_initializer(in.name) && type.kind == TypeInfo::Kind::tensor && type.shape &&
                            type.elem_type != DataType::undefined;
    if (fed_tensor)
      for (Dim& dim : *type.shape)
        if (!dim.is_fixed()) dim = Dim{1, ""};
    types.push_back(std::move(type));
  }
  return types;
}

}  // namespace tessera
