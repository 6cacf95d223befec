// Memory of one kind (MemoryLocation: a device kind and id) as execution providers see it: an
// Allocator makes tensors in it, a DataTransfer copies tensors between two kinds. Host EPs (the
// CPU EP) need neither: their kernels allocate from the run's buffer pool. A device EP brings
// both; the executor's copy steps move values through the DataTransfer that takes the pair.
#pragma once

#include <string>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

class KernelContext;

// "cpu:0", "gpu:1", "other:0": how reports and errors name a memory kind.
std::string memory_location_name(const MemoryLocation& location);

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual MemoryLocation location() const = 0;
  // An uninitialized tensor of `dtype` and `shape` in this memory, tagged with location(); it
  // frees itself when its last holder goes. May be called from many threads at once.
  virtual Result<Tensor> allocate(DataType dtype, const Shape& shape) const = 0;
};

class DataTransfer {
 public:
  virtual ~DataTransfer() = default;
  virtual bool can_copy(const MemoryLocation& from, const MemoryLocation& to) const = 0;
  // Copies the bytes of `src` into `dst`, already allocated with the same dtype and shape in the
  // destination memory. Called only for a pair can_copy accepted; thread-safe.
  virtual Status copy(const Tensor& src, Tensor& dst) const = 0;
};

// The allocator of the EP whose kernel computes with `ctx`, when that EP's memory is not the
// host's (the context's outputs and scratch already come from it); null for host EPs, whose
// memory is the run's buffer pool. A free function rather than a KernelContext method so that the
// CPU kernels, which never need it, do not depend on it.
const Allocator* kernel_allocator(const KernelContext& ctx);

// The transfers registered by a session's EPs. copy() finds the one that takes the pair and
// allocates the destination with `to_allocator` (null: host memory).
class DataTransferManager {
 public:
  void add(const DataTransfer* transfer) { transfers_.push_back(transfer); }
  const DataTransfer* find(const MemoryLocation& from, const MemoryLocation& to) const;
  Result<Tensor> copy(const Tensor& src, const MemoryLocation& to, const Allocator* to_allocator) const;

 private:
  std::vector<const DataTransfer*> transfers_;
};

}  // namespace tessera
