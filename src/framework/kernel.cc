#include "framework/kernel.h"

namespace tessera {

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

const SubgraphRunner* KernelInfo::subgraph(const std::string& attr_name) const {
  for (const auto& runner : subgraphs_)
    if (runner && node_.attribute(attr_name) && node_.attribute(attr_name)->g.get() == &runner->graph())
      return runner.get();
  return nullptr;
}

}  // namespace tessera
