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
  // oneDNN's block (16 with AVX-512, 8 with AVX2), or 0 without oneDNN.
  int64_t blocked_channels() const override;

 private:
  KernelRegistry registry_;
};

}  // namespace tessera
