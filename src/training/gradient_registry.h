// The gradient builders, one per op, registered from tables like kernels: each family file in
// gradients/ exports register_<family>_gradients(GradientRegistry&) over a constant table.
#pragma once

#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "training/gradient_context.h"

namespace tessera {

// Emits the gradients of the node's inputs that ctx.wants(i) from its output gradients; returns an
// error (ctx.unsupported) for a case it cannot differentiate.
using GradientFn = Status (*)(GradientContext& ctx);

struct GradientEntry {
  const char* domain;  // "" for ai.onnx
  const char* op_type;
  GradientFn build;
};

class GradientRegistry {
 public:
  // Fails (returns false) on an op registered twice.
  bool add(std::span<const GradientEntry> entries);
  const GradientEntry* find(const std::string& domain, const std::string& op_type) const;
  // Every entry, ordered by domain and op.
  std::vector<GradientEntry> entries() const;
  // The builders of src/training/gradients/.
  static const GradientRegistry& builtin();

 private:
  std::map<std::pair<std::string, std::string>, GradientEntry> entries_;
};

}  // namespace tessera
