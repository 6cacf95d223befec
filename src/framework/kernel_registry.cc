#include "framework/kernel_registry.h"

namespace tessera {

void KernelRegistry::add(KernelDef def) {
  defs_.push_back(std::move(def));
}

const KernelDef* KernelRegistry::find(const std::string& domain, const std::string& op_type, int64_t opset) const {
  for (const auto& def : defs_)
    if (def.op_type == op_type && def.domain == domain && def.since_version <= opset && opset <= def.until_version)
      return &def;
  return nullptr;
}

bool KernelRegistry::knows_op(const std::string& domain, const std::string& op_type) const {
  for (const auto& def : defs_)
    if (def.op_type == op_type && def.domain == domain) return true;
  return false;
}

}  // namespace tessera
