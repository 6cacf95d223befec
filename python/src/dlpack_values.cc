#include "dlpack_values.h"

#include <cstdint>

namespace tessera::python {
namespace py = pybind11;

namespace {

// The DLPack ABI (dlpack.h, version 0.x: what torch 1.13 and numpy 1.24 read), declared here
// because no system header carries it outside ATen's.
enum DLDeviceType : int32_t { kDLCPU = 1 };
enum DLDataTypeCode : uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4 };

struct DLDevice {
  DLDeviceType device_type;
  int32_t device_id;
};

struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};

struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // null: compact row-major
  uint64_t byte_offset;
};

struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

// What a capsule owns: the tensor, and the DLPack view of it (its shape points into the tensor).
struct Holder {
  Tensor tensor;
  DLManagedTensor managed{};
};

bool dlpack_type(DataType dtype, DLDataType& out) {
  switch (dtype) {
    case DataType::float32: out = {kDLFloat, 32, 1}; return true;
    case DataType::float64: out = {kDLFloat, 64, 1}; return true;
    case DataType::float16: out = {kDLFloat, 16, 1}; return true;
    case DataType::bfloat16: out = {kDLBfloat, 16, 1}; return true;
    case DataType::int8: out = {kDLInt, 8, 1}; return true;
    case DataType::int16: out = {kDLInt, 16, 1}; return true;
    case DataType::int32: out = {kDLInt, 32, 1}; return true;
    case DataType::int64: out = {kDLInt, 64, 1}; return true;
    case DataType::uint8: out = {kDLUInt, 8, 1}; return true;
    default: return false;  // bool, strings, float8/4, unsigned wider than 8 bits: not every reader takes them
  }
}

void delete_holder(DLManagedTensor* self) { delete static_cast<Holder*>(self->manager_ctx); }

// The capsule's destructor: a consumer renames the capsule "used_dltensor" and calls the deleter
// itself later; an unconsumed capsule still owns the tensor.
void drop_capsule(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor")) return;
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
  managed->deleter(managed);
}

}  // namespace

bool dlpack_expressible(const Tensor& tensor) {
  DLDataType type;
  return tensor.size() > 0 && dlpack_type(tensor.dtype(), type);
}

py::capsule tensor_to_dlpack(Tensor tensor) {
  auto* holder = new Holder{std::move(tensor)};
  DLManagedTensor& m = holder->managed;
  m.manager_ctx = holder;
  m.deleter = delete_holder;
  DLTensor& t = m.dl_tensor;
  t.data = holder->tensor.raw_data();
  t.device = {kDLCPU, 0};
  t.ndim = static_cast<int32_t>(holder->tensor.rank());
  dlpack_type(holder->tensor.dtype(), t.dtype);
  // Shape is InlineVector<int64_t>: its elements are int64_t, in the holder, which never moves.
  t.shape = const_cast<int64_t*>(holder->tensor.shape().data());
  t.strides = nullptr;
  t.byte_offset = 0;
  PyObject* capsule = PyCapsule_New(&m, "dltensor", drop_capsule);
  if (!capsule) {
    delete holder;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::capsule>(capsule);
}

}  // namespace tessera::python
