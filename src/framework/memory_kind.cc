#include "framework/memory_kind.h"

namespace tessera {

std::string memory_location_name(const MemoryLocation& location) {
  const char* kind = location.device == DeviceType::cpu ? "cpu" : location.device == DeviceType::gpu ? "gpu" : "other";
  return std::string(kind) + ":" + std::to_string(location.device_id);
}

const DataTransfer* DataTransferManager::find(const MemoryLocation& from, const MemoryLocation& to) const {
  for (const DataTransfer* t : transfers_)
    if (t->can_copy(from, to)) return t;
  return nullptr;
}

Result<Tensor> DataTransferManager::copy(const Tensor& src, const MemoryLocation& to, const Allocator* to_allocator) const {
  const DataTransfer* transfer = find(src.location(), to);
  if (!transfer)
    return not_implemented("no data transfer copies from ", memory_location_name(src.location()), " to ",
                           memory_location_name(to));
  if (src.dtype() == DataType::string) return not_implemented("string tensors cannot leave host memory");
  Result<Tensor> dst = to_allocator ? to_allocator->allocate(src.dtype(), src.shape()) : Tensor::create(src.dtype(), src.shape());
  if (!dst.is_ok()) return dst;
  if (dst->location() != to)
    return runtime_error("the allocator for ", memory_location_name(to), " made a tensor in ", memory_location_name(dst->location()));
  TS_RETURN_IF_ERROR(transfer->copy(src, *dst));
  return dst;
}

}  // namespace tessera
