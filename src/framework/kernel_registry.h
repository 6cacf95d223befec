// Kernels are registered from tables, one per op family:
//   void register_math_binary(KernelRegistry& r) { r.add({"", "Add", 7, kLatestOnnxOpset, make_factory<AddKernel>()}); ... }
// A definition covers the model opset versions [since_version, until_version] of one op. Both
// ends are stated: since is a since_version of the op's schema, until the newest opset the
// schema table knows (or an earlier version's end), so that a new version of an op is never
// served by a kernel written for an older one without someone saying so.
#pragma once

#include <string>
#include <vector>

#include "framework/kernel.h"
#include "graph/op_schema.h"

namespace tessera {

struct KernelDef {
  std::string domain;  // "" for the default ONNX domain, "ai.onnx.ml", ...
  std::string op_type;
  int64_t since_version = 0;
  int64_t until_version = 0;
  KernelFactory factory;
};

class KernelRegistry {
 public:
  // Adds the definition, split at the op's schema versions so that each stored range covers
  // exactly one schema (the one kernels see as KernelInfo::since_version).
  void add(KernelDef def);
  // The definition covering `opset` for (domain, op), or nullptr.
  const KernelDef* find(const std::string& domain, const std::string& op_type, int64_t opset) const;
  // Whether any version of the op is registered (for error messages).
  bool knows_op(const std::string& domain, const std::string& op_type) const;
  const std::vector<KernelDef>& defs() const { return defs_; }

 private:
  std::vector<KernelDef> defs_;
};

}  // namespace tessera
