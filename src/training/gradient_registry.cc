#include "training/gradient_registry.h"

#include <cstdlib>

#include "training/gradients/families.h"

namespace tessera {

bool GradientRegistry::add(std::span<const GradientEntry> entries) {
  bool ok = true;
  for (const GradientEntry& e : entries) ok = entries_.emplace(std::make_pair(e.domain, e.op_type), e).second && ok;
  return ok;
}

const GradientEntry* GradientRegistry::find(const std::string& domain, const std::string& op_type) const {
  auto it = entries_.find({domain, op_type});
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<GradientEntry> GradientRegistry::entries() const {
  std::vector<GradientEntry> all;
  for (const auto& [key, entry] : entries_) all.push_back(entry);
  return all;
}

const GradientRegistry& GradientRegistry::builtin() {
  static const GradientRegistry registry = [] {
    GradientRegistry r;
    bool ok = register_elementwise_gradients(r) && register_activation_gradients(r) && register_matmul_gradients(r) &&
              register_shape_gradients(r) && register_reduction_gradients(r) && register_loss_gradients(r) && register_index_gradients(r) &&
              register_normalization_gradients(r) && register_conv_gradients(r) && register_sign_gradients(r);
    if (!ok) std::abort();  // an op listed in two families: a bug in this folder, found by any test
    return r;
  }();
  return registry;
}

}  // namespace tessera
