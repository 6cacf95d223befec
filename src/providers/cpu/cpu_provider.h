// The CPU execution provider: takes every node it has a kernel for.
#pragma once

#include <memory>

#include "framework/execution_provider.h"

namespace tessera {

class CpuExecutionProvider : public ExecutionProvider {
 public:
  CpuExecutionProvider();
  std::string name() const override { return "CPU"; }
  const KernelRegistry& kernels() const override { return registry_; }

 private:
  KernelRegistry registry_;
};

}  // namespace tessera
