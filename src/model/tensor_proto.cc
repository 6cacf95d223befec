#include "model/tensor_proto.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "core/aligned_block.h"
#include "core/tensor_limits.h"

namespace tessera {

// raw_data and external data are little-endian; we copy them byte for byte.
static_assert(std::endian::native == std::endian::little, "Tessera assumes a little-endian host");

uint64_t wire_byte_size(DataType dtype, int64_t count) {
  if (is_subbyte_dtype(dtype)) return (static_cast<uint64_t>(count) * subbyte_bits(dtype) + 7) / 8;
  return static_cast<uint64_t>(count) * dtype_size(dtype);
}

namespace {

namespace fs = std::filesystem;

// Mapped weights are used in place only when as aligned as Tessera's own allocations, so kernels
// see the same alignment whatever the tensor's origin; anything else is copied.
constexpr uintptr_t kViewAlignment = 64;

std::string describe(const onnx::TensorProto& proto, DataType dtype) {
  std::string s = proto.name().empty() ? "tensor" : "tensor '" + proto.name() + "'";
  s += " (" + std::string(dtype_name(dtype)) + "[";
  for (int i = 0; i < proto.dims_size(); ++i) s += (i ? "," : "") + std::to_string(proto.dims(i));
  return s + "])";
}

// Element count of `dims`, refusing negative dims, counts that overflow and tensors past `limits`.
Result<int64_t> checked_count(const google::protobuf::RepeatedField<int64_t>& dims, DataType dtype,
                              const std::string& what, const ResourceLimits& limits) {
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0) return invalid_model(what, ": negative dimension ", d);
    auto next = checked_multiply(count, d);
    if (!next.is_ok()) return invalid_model(what, ": shape is too large (its element count overflows 64 bits)");
    count = *next;
  }
  Status fits = check_tensor_limits(dtype, static_cast<uint64_t>(count), limits);
  if (!fits.is_ok()) return invalid_model(what, ": ", fits.message());
  return count;
}

// A tensor of `shape` whose bytes the caller writes next, left unfilled: zeroing a large weight
// first would touch every page twice.
Result<Tensor> unfilled_tensor(DataType dtype, Shape shape) {
  TS_ASSIGN_OR_RETURN(size_t bytes, checked_byte_size(dtype, shape));
  void* data = allocate_weight_block(bytes);
  if (!data) return runtime_error("out of memory allocating ", bytes, " bytes for a tensor of shape ", shape_to_string(shape));
  std::shared_ptr<void> owner(data, std::free);
  return Tensor::view(dtype, std::move(shape), std::move(owner), data);
}

// Fills `t` from its little-endian wire bytes (packed for sub-byte types).
void fill_from_wire(Tensor& t, const uint8_t* src) {
  if (t.size() == 0) return;
  if (is_subbyte_dtype(t.dtype()))
    unpack_subbyte(t.dtype(), src, t.size(), t.data<uint8_t>());
  else
    std::memcpy(t.raw_data(), src, t.byte_size());
}

template <class Dst, class Src>
void convert(const Src* src, int64_t count, Dst* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<Dst>(src[i]);
}

const char* typed_field_name(DataType dtype) {
  switch (dtype) {
    case DataType::float32: case DataType::complex64: return "float_data";
    case DataType::float64: case DataType::complex128: return "double_data";
    case DataType::int64: return "int64_data";
    case DataType::uint32: case DataType::uint64: return "uint64_data";
    case DataType::string: return "string_data";
    default: return "int32_data";
  }
}

// Name of a typed field that holds values, or null when all are empty.
const char* nonempty_typed_field(const onnx::TensorProto& p) {
  if (p.float_data_size()) return "float_data";
  if (p.double_data_size()) return "double_data";
  if (p.int32_data_size()) return "int32_data";
  if (p.int64_data_size()) return "int64_data";
  if (p.uint64_data_size()) return "uint64_data";
  if (p.string_data_size()) return "string_data";
  return nullptr;
}

// Fills `t` from the typed field its dtype uses (see TensorProto in the ONNX IR spec).
Status fill_from_typed(Tensor& t, const onnx::TensorProto& p, const std::string& what) {
  const DataType dtype = t.dtype();
  const int64_t n = t.size();
  const char* field = typed_field_name(dtype);
  auto check = [&](int64_t have, int64_t want) -> Status {
    if (have == want) return Status::ok();
    const char* other = nonempty_typed_field(p);
    if (have == 0 && other && std::strcmp(other, field) != 0)
      return invalid_model(what, ": has ", other, " but ", dtype_name(dtype), " tensors keep values in ", field);
    if (have == 0) return invalid_model(what, ": has no data (expected ", want, " values in raw_data or ", field, ")");
    return invalid_model(what, ": ", field, " has ", have, " values, expected ", want);
  };
  switch (dtype) {
    case DataType::float32:
    case DataType::complex64: {
      const int64_t want = dtype == DataType::float32 ? n : 2 * n;
      TS_RETURN_IF_ERROR(check(p.float_data_size(), want));
      if (want) std::memcpy(t.raw_data(), p.float_data().data(), want * sizeof(float));
      return Status::ok();
    }
    case DataType::float64:
    case DataType::complex128: {
      const int64_t want = dtype == DataType::float64 ? n : 2 * n;
      TS_RETURN_IF_ERROR(check(p.double_data_size(), want));
      if (want) std::memcpy(t.raw_data(), p.double_data().data(), want * sizeof(double));
      return Status::ok();
    }
    case DataType::int64:
      TS_RETURN_IF_ERROR(check(p.int64_data_size(), n));
      convert(p.int64_data().data(), n, t.data<int64_t>());
      return Status::ok();
    case DataType::uint64:
      TS_RETURN_IF_ERROR(check(p.uint64_data_size(), n));
      convert(p.uint64_data().data(), n, t.data<uint64_t>());
      return Status::ok();
    case DataType::uint32:
      TS_RETURN_IF_ERROR(check(p.uint64_data_size(), n));
      convert(p.uint64_data().data(), n, t.data<uint32_t>());
      return Status::ok();
    case DataType::string:
      TS_RETURN_IF_ERROR(check(p.string_data_size(), n));
      for (int64_t i = 0; i < n; ++i) t.data<std::string>()[i] = p.string_data(static_cast<int>(i));
      return Status::ok();
    case DataType::int32:
      TS_RETURN_IF_ERROR(check(p.int32_data_size(), n));
      convert(p.int32_data().data(), n, t.data<int32_t>());
      return Status::ok();
    case DataType::int16: case DataType::uint16: case DataType::float16: case DataType::bfloat16:
      TS_RETURN_IF_ERROR(check(p.int32_data_size(), n));
      convert(p.int32_data().data(), n, t.data<uint16_t>());
      return Status::ok();
    case DataType::boolean: {
      TS_RETURN_IF_ERROR(check(p.int32_data_size(), n));
      uint8_t* out = t.data<uint8_t>();
      for (int64_t i = 0; i < n; ++i) out[i] = p.int32_data(static_cast<int>(i)) != 0;
      return Status::ok();
    }
    case DataType::undefined: return invalid_model(what, ": undefined element type");
    default: break;
  }
  if (is_subbyte_dtype(dtype)) {
    // Each int32 carries one packed byte (two 4-bit or four 2-bit elements).
    const int64_t want = static_cast<int64_t>(wire_byte_size(dtype, n));
    TS_RETURN_IF_ERROR(check(p.int32_data_size(), want));
    std::vector<uint8_t> packed(want);
    convert(p.int32_data().data(), want, packed.data());
    fill_from_wire(t, packed.data());
    return Status::ok();
  }
  // int8, uint8, float8 variants: one element per int32.
  TS_RETURN_IF_ERROR(check(p.int32_data_size(), n));
  convert(p.int32_data().data(), n, t.data<uint8_t>());
  return Status::ok();
}

Result<uint64_t> parse_size(const std::string& key, const std::string& text, const std::string& what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return invalid_model(what, ": external data ", key, " '", text, "' is not a non-negative integer");
  return value;
}

// True when `path` is `base` or lies below it (both canonical).
bool is_within(const fs::path& path, const fs::path& base) {
  auto p = path.begin();
  for (auto b = base.begin(); b != base.end(); ++b, ++p) {
    if (b->empty()) continue;  // trailing separator of base
    if (p == path.end() || *p != *b) return false;
  }
  return true;
}

}  // namespace

struct ExternalData::MappedFile {
  uint8_t* data = nullptr;
  uint64_t size = 0;
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data) munmap(data, size);
  }
};

Result<std::shared_ptr<ExternalData::MappedFile>> ExternalData::open(const std::string& location) {
  if (location.empty()) return invalid_model("external data has no location");
  if (location.find('\0') != std::string::npos) return invalid_model("external data location contains a NUL byte");
  const fs::path loc(location);
  if (loc.is_absolute() || loc.has_root_name() || loc.has_root_directory())
    return invalid_model("external data location '", location, "' is absolute; it must be relative to the model's folder");
  for (const auto& part : loc)
    if (part == "..")
      return invalid_model("external data location '", location, "' contains '..'; it must stay inside the model's folder");

  std::error_code ec;
  if (canonical_base_.empty()) {
    fs::path base = fs::canonical(base_dir_, ec);
    if (ec) return io_error("cannot resolve the model folder '", base_dir_, "': ", ec.message());
    canonical_base_ = base.string();
  }
  const fs::path base(canonical_base_);
  // canonical() resolves every symlink, so a link pointing outside the folder is caught here.
  const fs::path full = fs::canonical(base / loc, ec);
  if (ec) return io_error("cannot open external data file '", location, "' in '", base_dir_, "': ", ec.message());
  if (!is_within(full, base))
    return invalid_model("external data location '", location, "' resolves to '", full.string(),
                         "', outside the model's folder");

  auto cached = files_.find(full.string());
  if (cached != files_.end()) return cached->second;

  // O_NOFOLLOW on the canonical path: fails if a symlink was swapped in after the check above.
  int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return io_error("cannot open external data file '", full.string(), "': ", std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_model("external data location '", location, "' is not a regular file");
  }
  auto file = std::make_shared<MappedFile>();
  file->size = static_cast<uint64_t>(st.st_size);
  if (file->size > 0) {
    // Private and writable: a kernel that writes to a weight changes only its own copy of the page.
    void* addr = mmap(nullptr, file->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return io_error("cannot memory-map external data file '", full.string(), "': ", std::strerror(err));
    }
    file->data = static_cast<uint8_t*>(addr);
  }
  ::close(fd);
  files_.emplace(full.string(), file);
  return file;
}

Result<ExternalData::Bytes> ExternalData::read(const onnx::TensorProto& proto, uint64_t expected_bytes) {
  const std::string what = proto.name().empty() ? "tensor" : "tensor '" + proto.name() + "'";
  if (base_dir_.empty())
    return invalid_model(what, ": uses external data, but the model was loaded from bytes without a base folder");
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset") {
      TS_ASSIGN_OR_RETURN(offset, parse_size("offset", entry.value(), what));
    } else if (entry.key() == "length") {
      TS_ASSIGN_OR_RETURN(length, parse_size("length", entry.value(), what));
    }
    // "checksum" and "basepath" are informational; unknown keys are ignored like ONNX does.
  }
  auto opened = open(location);
  if (!opened.is_ok()) return opened.status().with_context(what);
  const MappedFile& file = *opened.value();
  if (offset > file.size)
    return invalid_model(what, ": external data offset ", offset, " is past the end of '", location, "' (",
                         file.size, " bytes)");
  if (length && *length != expected_bytes)
    return invalid_model(what, ": external data length ", *length, " does not match the tensor's ", expected_bytes,
                         " bytes");
  if (expected_bytes > file.size - offset)
    return invalid_model(what, ": external data runs past the end of '", location, "' (offset ", offset, " + ",
                         expected_bytes, " bytes > file size ", file.size, ")");
  Bytes bytes;
  bytes.data = file.data ? file.data + offset : nullptr;
  bytes.owner = std::shared_ptr<const void>(opened.value(), bytes.data);
  return bytes;
}

void unpack_subbyte(DataType type, const uint8_t* packed, int64_t count, uint8_t* out) {
  const int bits = subbyte_bits(type);
  const int per_byte = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  const unsigned sign = 1u << (bits - 1);
  const bool is_signed = is_signed_dtype(type);
  for (int64_t i = 0; i < count; ++i) {
    unsigned v = (packed[i / per_byte] >> ((i % per_byte) * bits)) & mask;
    if (is_signed && (v & sign)) v |= ~mask;  // sign-extend into the int8 storage
    out[i] = static_cast<uint8_t>(v);
  }
}

void pack_subbyte(DataType type, const uint8_t* unpacked, int64_t count, uint8_t* out) {
  const int bits = subbyte_bits(type);
  const int per_byte = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  std::memset(out, 0, (static_cast<size_t>(count) * bits + 7) / 8);
  for (int64_t i = 0; i < count; ++i)
    out[i / per_byte] |= static_cast<uint8_t>((unpacked[i] & mask) << ((i % per_byte) * bits));
}

Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, ExternalData* external, const ResourceLimits& limits,
                                 const WireBytes* raw_data) {
  if (!is_known_dtype(proto.data_type())) {
    std::string what = proto.name().empty() ? "tensor" : "tensor '" + proto.name() + "'";
    return invalid_model(what, ": unknown element type ", proto.data_type());
  }
  const auto dtype = static_cast<DataType>(proto.data_type());
  const std::string what = describe(proto, dtype);
  TS_ASSIGN_OR_RETURN(int64_t count, checked_count(proto.dims(), dtype, what, limits));
  if (proto.has_segment()) return not_implemented(what, ": segmented tensors are not supported");
  Shape shape(proto.dims().begin(), proto.dims().end());

  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    if (dtype == DataType::string) return invalid_model(what, ": string tensors cannot use external data");
    if (!external) return invalid_model(what, ": external data is not allowed here");
    const uint64_t bytes = wire_byte_size(dtype, count);
    TS_ASSIGN_OR_RETURN(ExternalData::Bytes data, external->read(proto, bytes));
    if (!is_subbyte_dtype(dtype) && reinterpret_cast<uintptr_t>(data.data) % kViewAlignment == 0 && data.data)
      return Tensor::view(dtype, std::move(shape), std::move(data.owner), data.data);
    TS_ASSIGN_OR_RETURN(Tensor t, unfilled_tensor(dtype, std::move(shape)));
    fill_from_wire(t, data.data);
    return t;
  }

  // The data must match the dims before anything is allocated: a few bytes of model may declare
  // a tensor of hundreds of GB.
  if (proto.has_raw_data()) {
    if (dtype == DataType::string) return invalid_model(what, ": string tensors must use string_data, not raw_data");
    const uint64_t want = wire_byte_size(dtype, count);
    const WireBytes raw = raw_data ? *raw_data
                                   : WireBytes{reinterpret_cast<const uint8_t*>(proto.raw_data().data()), proto.raw_data().size()};
    if (raw.size != want) return invalid_model(what, ": raw_data has ", raw.size, " bytes, expected ", want);
    TS_ASSIGN_OR_RETURN(Tensor t, unfilled_tensor(dtype, std::move(shape)));
    fill_from_wire(t, raw.data);
    return t;
  }
  const uint64_t typed_values = static_cast<uint64_t>(proto.float_data_size()) + proto.double_data_size() +
                                proto.int32_data_size() + proto.int64_data_size() + proto.uint64_data_size() +
                                proto.string_data_size();
  if (typed_values < wire_byte_size(dtype, count) / std::max<size_t>(dtype_size(dtype), 1)) {
    if (typed_values == 0)
      return invalid_model(what, ": has no data (expected ", count, " values in raw_data or ", typed_field_name(dtype), ")");
    return invalid_model(what, ": has ", typed_values, " values in ", nonempty_typed_field(proto), ", expected ", count,
                         " in raw_data or ", typed_field_name(dtype));
  }
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, std::move(shape)));
  TS_RETURN_IF_ERROR(fill_from_typed(t, proto, what));
  return t;
}

Result<Tensor> tensor_from_sparse_proto(const onnx::SparseTensorProto& proto, ExternalData* external,
                                        const ResourceLimits& limits) {
  const std::string name = proto.values().name();
  const std::string what = name.empty() ? "sparse tensor" : "sparse tensor '" + name + "'";
  auto values = tensor_from_proto(proto.values(), external, limits);
  if (!values.is_ok()) return values.status().with_context(what);
  auto indices = tensor_from_proto(proto.indices(), external, limits);
  if (!indices.is_ok()) return indices.status().with_context(what);
  const Tensor& vals = values.value();
  const Tensor& idx = indices.value();
  const DataType dtype = vals.dtype();
  TS_ASSIGN_OR_RETURN(int64_t count, checked_count(proto.dims(), dtype, what, limits));
  Shape shape(proto.dims().begin(), proto.dims().end());
  const int64_t rank = static_cast<int64_t>(shape.size());

  if (vals.rank() != 1) return invalid_model(what, ": values must be 1-D, got ", shape_to_string(vals.shape()));
  const int64_t nnz = vals.size();
  if (idx.dtype() != DataType::int64) return invalid_model(what, ": indices must be int64");
  const bool linear = idx.rank() == 1;
  if (!(linear && idx.dim(0) == nnz) && !(idx.rank() == 2 && idx.dim(0) == nnz && idx.dim(1) == rank))
    return invalid_model(what, ": indices have shape ", shape_to_string(idx.shape()), ", expected [", nnz, "] or [",
                         nnz, ",", rank, "]");

  TS_ASSIGN_OR_RETURN(Tensor dense, Tensor::create(dtype, std::move(shape)));
  const int64_t* ix = idx.data<int64_t>();
  const size_t elem = dtype_size(dtype);
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t pos = 0;
    if (linear) {
      pos = ix[k];
    } else {
      for (int64_t a = 0; a < rank; ++a) {
        const int64_t i = ix[k * rank + a];
        if (i < 0 || i >= dense.dim(a)) return invalid_model(what, ": index ", i, " out of range on axis ", a);
        pos = pos * dense.dim(a) + i;
      }
    }
    if (pos < 0 || pos >= count) return invalid_model(what, ": index ", pos, " out of range for ", count, " elements");
    if (dtype == DataType::string)
      dense.data<std::string>()[pos] = vals.data<std::string>()[k];
    else
      std::memcpy(dense.data<uint8_t>() + pos * elem, vals.data<uint8_t>() + k * elem, elem);
  }
  return dense;
}

Status tensor_to_proto(const Tensor& tensor, const std::string& name, onnx::TensorProto* proto) {
  if (!tensor.defined()) return invalid_argument("cannot write an undefined tensor", name.empty() ? "" : " '" + name + "'");
  proto->Clear();
  if (!name.empty()) proto->set_name(name);
  proto->set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto->add_dims(d);
  const DataType dtype = tensor.dtype();
  if (dtype == DataType::string) {
    for (const std::string& s : tensor.span<std::string>()) proto->add_string_data(s);
  } else if (is_subbyte_dtype(dtype)) {
    std::string* raw = proto->mutable_raw_data();
    raw->resize(wire_byte_size(dtype, tensor.size()));
    pack_subbyte(dtype, tensor.data<uint8_t>(), tensor.size(), reinterpret_cast<uint8_t*>(raw->data()));
  } else if (tensor.size() > 0) {
    proto->set_raw_data(tensor.raw_data(), tensor.byte_size());
  } else {
    proto->set_raw_data(std::string());
  }
  return Status::ok();
}

Status tensor_to_sparse_proto(const Tensor& tensor, const std::string& name, onnx::SparseTensorProto* proto) {
  if (!tensor.defined())
    return invalid_argument("cannot write an undefined sparse tensor", name.empty() ? "" : " '" + name + "'");
  proto->Clear();
  const DataType dtype = tensor.dtype();
  const bool is_string = dtype == DataType::string;
  const size_t elem = is_string ? 0 : dtype_size(dtype);  // sub-byte types: one unpacked byte each
  const uint8_t* bytes = is_string ? nullptr : static_cast<const uint8_t*>(tensor.raw_data());
  auto is_zero = [&](int64_t i) {
    if (is_string) return tensor.data<std::string>()[i].empty();
    return std::all_of(bytes + i * elem, bytes + (i + 1) * elem, [](uint8_t b) { return b == 0; });
  };
  std::vector<int64_t> positions;
  for (int64_t i = 0; i < tensor.size(); ++i)
    if (!is_zero(i)) positions.push_back(i);
  const int64_t nnz = static_cast<int64_t>(positions.size());
  TS_ASSIGN_OR_RETURN(Tensor values, Tensor::create(dtype, {nnz}));
  for (int64_t k = 0; k < nnz; ++k) {
    if (is_string)
      values.data<std::string>()[k] = tensor.data<std::string>()[positions[k]];
    else
      std::memcpy(values.data<uint8_t>() + k * elem, bytes + positions[k] * elem, elem);
  }
  TS_ASSIGN_OR_RETURN(Tensor indices, Tensor::from_vector<int64_t>(DataType::int64, {nnz}, positions));
  TS_RETURN_IF_ERROR(tensor_to_proto(values, name, proto->mutable_values()));
  TS_RETURN_IF_ERROR(tensor_to_proto(indices, "", proto->mutable_indices()));
  for (int64_t d : tensor.shape()) proto->add_dims(d);
  return Status::ok();
}

}  // namespace tessera
