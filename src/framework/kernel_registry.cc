#include "framework/kernel_registry.h"

namespace tessera {

void KernelRegistry::add(KernelDef def) {
  const int64_t until = def.until_version;
  for (int64_t next : since_versions(def.domain, def.op_type)) {
    if (next <= def.since_version || next > until) continue;
    KernelDef part = def;
    part.until_version = next - 1;
    defs_.push_back(std::move(part));
    def.since_version = next;
  }
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
