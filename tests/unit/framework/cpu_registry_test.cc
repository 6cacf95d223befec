// The CPU EP's kernel table: one definition per (domain, op, opset), so no family silently
// shadows another's kernel (the registry returns the first match).
#include <gtest/gtest.h>

#include "graph/op_schema.h"
#include "providers/cpu/cpu_provider.h"

namespace tessera {
namespace {

TEST(CpuRegistry, VersionRangesDoNotOverlap) {
  CpuExecutionProvider cpu;
  const auto& defs = cpu.kernels().defs();
  for (size_t i = 0; i < defs.size(); ++i)
    for (size_t j = i + 1; j < defs.size(); ++j) {
      const KernelDef& a = defs[i];
      const KernelDef& b = defs[j];
      if (a.domain != b.domain || a.op_type != b.op_type) continue;
      bool overlap = a.since_version <= b.until_version && b.since_version <= a.until_version;
      EXPECT_FALSE(overlap) << a.domain << "." << a.op_type << " is registered twice for opsets [" << a.since_version << ","
                            << a.until_version << "] and [" << b.since_version << "," << b.until_version << "]";
    }
}

TEST(CpuRegistry, EveryKernelOfAnOnnxDomainIsForAnOpOfTheSpec) {
  CpuExecutionProvider cpu;
  for (const KernelDef& def : cpu.kernels().defs()) {
    if (def.domain.rfind("com.", 0) == 0) continue;  // runtime-specific ops (fusions) have no ONNX schema
    EXPECT_TRUE(is_known_op(def.domain, def.op_type)) << def.domain << "." << def.op_type;
    EXPECT_LE(def.since_version, def.until_version) << def.op_type;
  }
}

}  // namespace
}  // namespace tessera
