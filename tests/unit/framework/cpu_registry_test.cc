// The CPU EP's kernel table: one definition per (domain, op, opset), so no family silently
// shadows another's kernel (the registry returns the first match).
#include <gtest/gtest.h>

#include <algorithm>

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

// Each registered range covers exactly one schema version: it starts at a since_version of the op
// and ends just before the next one, or at the newest opset the table knows. A new version of an
// op therefore needs a deliberate registration instead of being served by the old kernel.
TEST(CpuRegistry, RangesFollowTheSchemaVersions) {
  CpuExecutionProvider cpu;
  for (const KernelDef& def : cpu.kernels().defs()) {
    if (def.domain.rfind("com.", 0) == 0) {
      EXPECT_EQ(def.since_version, 1) << def.op_type;
      EXPECT_EQ(def.until_version, 1) << def.op_type;
      continue;
    }
    const std::vector<int64_t> versions = since_versions(def.domain, def.op_type);
    const std::string op = (def.domain.empty() ? "" : def.domain + ".") + def.op_type;
    ASSERT_FALSE(versions.empty()) << op;
    EXPECT_TRUE(std::find(versions.begin(), versions.end(), def.since_version) != versions.end())
        << op << " is registered from opset " << def.since_version << ", which is not one of its since_versions";
    auto next = std::upper_bound(versions.begin(), versions.end(), def.since_version);
    const int64_t expected_until = next == versions.end() ? latest_opset(def.domain) : *next - 1;
    EXPECT_EQ(def.until_version, expected_until) << op << " registered for [" << def.since_version << ", "
                                                 << def.until_version << "]";
  }
}

TEST(CpuRegistry, LatestOpsetConstantsMatchTheTable) {
  EXPECT_EQ(latest_opset(""), kLatestOnnxOpset);
  EXPECT_EQ(latest_opset("ai.onnx.ml"), kLatestOnnxMlOpset);
  EXPECT_EQ(latest_opset("ai.onnx.preview"), kLatestPreviewOpset);
  EXPECT_EQ(latest_opset("ai.onnx.preview.training"), kLatestTrainingOpset);
  EXPECT_EQ(latest_opset("com.microsoft"), 1);
}

TEST(CpuRegistry, SplitsARangeAtTheSchemaVersions) {
  KernelRegistry r;
  r.add({"", "Conv", 1, kLatestOnnxOpset, nullptr});
  ASSERT_EQ(r.defs().size(), 3u);  // Conv-1, Conv-11, Conv-22
  EXPECT_EQ(r.defs()[0].until_version, 10);
  EXPECT_EQ(r.defs()[1].since_version, 11);
  EXPECT_EQ(r.defs()[1].until_version, 21);
  EXPECT_EQ(r.defs()[2].since_version, 22);
  EXPECT_EQ(r.defs()[2].until_version, kLatestOnnxOpset);
  EXPECT_EQ(r.find("", "Conv", 17), &r.defs()[1]);
  EXPECT_EQ(r.find("", "Conv", kLatestOnnxOpset + 1), nullptr);
}

}  // namespace
}  // namespace tessera
