// A device EP for tests, so crossings can be proven without a device: memory from an arena of its
// own (host memory tagged other:7), reached only through its DataTransfer, which counts every
// copy. It takes Add, Mul and Relu over float32 and int64 and runs them with the CPU EP's
// kernels, which allocate through the context, that is through this EP's allocator; each kernel
// is wrapped to count the computes that found this EP's allocator in their context.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "framework/execution_provider.h"
#include "providers/cpu/cpu_provider.h"

namespace tessera {

inline constexpr MemoryLocation kTestDevice{DeviceType::other, 7};

class TestArena final : public Allocator {
 public:
  MemoryLocation location() const override { return kTestDevice; }
  Result<Tensor> allocate(DataType dtype, const Shape& shape) const override {
    TS_ASSIGN_OR_RETURN(size_t bytes, checked_byte_size(dtype, shape));
    auto* data = new unsigned char[bytes ? bytes : 1];
    *live_bytes += static_cast<int64_t>(bytes);
    ++allocations;
    std::shared_ptr<const void> owner(data, [live = live_bytes, bytes](const void* p) {
      *live -= static_cast<int64_t>(bytes);
      delete[] static_cast<const unsigned char*>(p);
    });
    return Tensor::view(dtype, shape, std::move(owner), data, kTestDevice);
  }
  // Shared with each tensor's deleter: a tensor may outlive the EP, and a test reads the count
  // after the session that owns the EP is destroyed.
  std::shared_ptr<std::atomic<int64_t>> live_bytes = std::make_shared<std::atomic<int64_t>>(0);
  mutable std::atomic<int64_t> allocations{0};
};

class CountingTransfer final : public DataTransfer {
 public:
  bool can_copy(const MemoryLocation& from, const MemoryLocation& to) const override {
    return (from.is_host() && to == kTestDevice) || (from == kTestDevice && to.is_host());
  }
  Status copy(const Tensor& src, Tensor& dst) const override {
    std::memcpy(dst.raw_data(), src.raw_data(), src.byte_size());
    ++(dst.location().is_host() ? to_host : to_device);
    bytes += static_cast<int64_t>(src.byte_size());
    return Status::ok();
  }
  mutable std::atomic<int64_t> to_host{0}, to_device{0}, bytes{0};
};

class TestDeviceEp final : public ExecutionProvider {
 public:
  std::string name() const override { return "test_device"; }
  MemoryLocation memory() const override { return kTestDevice; }
  const Allocator* allocator() const override { return &arena; }
  const DataTransfer* data_transfer() const override { return &transfer; }
  const KernelRegistry& kernels() const override { return cpu_.kernels(); }

  Capability get_capability(const Graph& graph, const Model&, const ValueTypes& types) const override {
    Capability capability;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& node = graph.nodes[i];
      if (!node.domain.empty() || std::find(ops.begin(), ops.end(), node.op_type) == ops.end()) {
        capability.declined.push_back({i, DeclineReason::op, node.op_type + " is not Add, Mul or Relu"});
        continue;
      }
      bool typed = true;
      for (const auto& in : node.inputs) {
        auto it = types.find(in);
        typed = typed && it != types.end() &&
                (it->second.elem_type == DataType::float32 || it->second.elem_type == DataType::int64);
      }
      if (typed)
        capability.claimed.push_back(i);
      else
        capability.declined.push_back({i, DeclineReason::dtype, "only float32 and int64"});
    }
    return capability;
  }

  Result<std::unique_ptr<OpKernel>> create_kernel(const KernelInfo& info) const override {
    TS_ASSIGN_OR_RETURN(auto kernel, ExecutionProvider::create_kernel(info));
    return std::unique_ptr<OpKernel>(new Checked(std::move(kernel), *this));
  }

  std::vector<std::string> ops = {"Add", "Mul", "Relu"};
  TestArena arena;
  CountingTransfer transfer;
  mutable std::atomic<int64_t> computes_with_arena{0};

 private:
  class Checked final : public OpKernel {
   public:
    Checked(std::unique_ptr<OpKernel> inner, const TestDeviceEp& ep) : inner_(std::move(inner)), ep_(ep) {}
    Status compute(KernelContext& ctx) const override {
      if (kernel_allocator(ctx) == &ep_.arena) ++ep_.computes_with_arena;
      return inner_->compute(ctx);
    }

   private:
    std::unique_ptr<OpKernel> inner_;
    const TestDeviceEp& ep_;
  };

  CpuExecutionProvider cpu_;
};

}  // namespace tessera
