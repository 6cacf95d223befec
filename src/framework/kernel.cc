#include "framework/kernel.h"

#include <cstdlib>

#include "graph/op_schema.h"

namespace tessera {

KernelInfo::KernelInfo(const Node& node, int64_t opset, const std::map<std::string, Tensor>& constants,
                       std::vector<std::shared_ptr<const SubgraphRunner>> subgraphs)
    : node_(node),
      opset_(opset),
      schema_(find_schema(node.domain, node.op_type, opset)),
      constants_(constants),
      subgraphs_(std::move(subgraphs)) {}

int64_t KernelInfo::since_version() const { return schema_ ? schema_->since_version : opset_; }

const std::string* KernelInfo::schema_default(const std::string& name) const {
  const AttributeSpec* spec = schema_ ? schema_->attribute(name) : nullptr;
  return spec && !spec->default_value.empty() ? &spec->default_value : nullptr;
}

int64_t KernelInfo::attr_int(const std::string& name) const {
  const std::string* d = schema_default(name);
  return attr_int(name, d ? std::strtoll(d->c_str(), nullptr, 10) : 0);
}

float KernelInfo::attr_float(const std::string& name) const {
  const std::string* d = schema_default(name);
  return attr_float(name, d ? std::strtof(d->c_str(), nullptr) : 0.0f);
}

std::string KernelInfo::attr_string(const std::string& name) const {
  const std::string* d = schema_default(name);
  return attr_string(name, d ? *d : std::string());
}

std::optional<Shape> KernelInfo::inferred_input_shape(size_t i) const {
  if (!types_ || !has_input(i)) return std::nullopt;
  auto it = types_->find(node_.inputs[i]);
  if (it == types_->end() || it->second.kind != TypeInfo::Kind::tensor || !it->second.shape) return std::nullopt;
  Shape shape;
  for (const Dim& d : *it->second.shape) shape.push_back(d.is_fixed() ? d.value : -1);
  return shape;
}

const Tensor* KernelInfo::constant_input(size_t i) const {
  if (!has_input(i)) return nullptr;
  auto it = constants_.find(node_.inputs[i]);
  return it == constants_.end() ? nullptr : &it->second;
}

int64_t KernelInfo::attr_int(const std::string& name, int64_t default_value) const {
  const Attribute* a = node_.attribute(name);
  return a ? a->i : default_value;
}

float KernelInfo::attr_float(const std::string& name, float default_value) const {
  const Attribute* a = node_.attribute(name);
  return a ? a->f : default_value;
}

std::string KernelInfo::attr_string(const std::string& name, const std::string& default_value) const {
  const Attribute* a = node_.attribute(name);
  return a ? a->s : default_value;
}

std::vector<int64_t> KernelInfo::attr_ints(const std::string& name, std::vector<int64_t> default_value) const {
  const Attribute* a = node_.attribute(name);
  return a ? a->ints : default_value;
}

std::vector<float> KernelInfo::attr_floats(const std::string& name, std::vector<float> default_value) const {
  const Attribute* a = node_.attribute(name);
  return a ? a->floats : default_value;
}

std::vector<std::string> KernelInfo::attr_strings(const std::string& name) const {
  const Attribute* a = node_.attribute(name);
  return a ? a->strings : std::vector<std::string>{};
}

const Tensor* KernelInfo::attr_tensor(const std::string& name) const {
  const Attribute* a = node_.attribute(name);
  return a && a->t.defined() ? &a->t : nullptr;
}

Result<int64_t> KernelInfo::required_int(const std::string& name) const {
  const Attribute* a = node_.attribute(name);
  if (!a) return error("required attribute '", name, "' is missing");
  return a->i;
}

Result<std::vector<int64_t>> KernelInfo::required_ints(const std::string& name) const {
  const Attribute* a = node_.attribute(name);
  if (!a) return error("required attribute '", name, "' is missing");
  return a->ints;
}

Result<const Tensor*> KernelContext::required_input(size_t i) const {
  const Value* v = input_value(i);
  if (v && v->is_tensor()) return &v->tensor();
  // Built on failure only: the schema's name for the input (variadic ones repeat the last).
  std::string name;
  if (const OpSchema* schema = find_schema(node().domain, node().op_type, opset()); schema && !schema->inputs.empty()) {
    if (i < schema->inputs.size()) name = schema->inputs[i].name;
    else if (schema->inputs.back().variadic) name = schema->inputs.back().name;
  }
  const std::string what = name.empty() ? str_cat("input ", i) : str_cat("input ", i, " '", name, "'");
  if (v) return error(what, " must be a tensor");
  return error(what, " is required but missing");
}

const SubgraphRunner* KernelInfo::subgraph(const std::string& attr_name) const {
  for (const auto& runner : subgraphs_)
    if (runner && node_.attribute(attr_name) && node_.attribute(attr_name)->g.get() == &runner->graph())
      return runner.get();
  return nullptr;
}

}  // namespace tessera
