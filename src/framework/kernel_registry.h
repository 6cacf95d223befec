// Kernels are registered from tables, one per op family:
//   void register_math_binary(KernelRegistry& r) { r.add({"", "Add", 7, kMaxOpset, make_factory<AddKernel>()}); ... }
// A definition covers the model opset versions [since_version, until_version] of one op.
#pragma once

#include <string>
#include <vector>

#include "framework/kernel.h"

namespace tessera {

constexpr int64_t kMaxOpset = 1000;

struct KernelDef {
  std::string domain;  // "" for the default ONNX domain, "ai.onnx.ml", ...
  std::string op_type;
  int64_t since_version = 1;
  int64_t until_version = kMaxOpset;
  KernelFactory factory;
};

class KernelRegistry {
 public:
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
