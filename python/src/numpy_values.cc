#include "numpy_values.h"

#include <pybind11/numpy.h>

#include <bit>
#include <string_view>

#include "core/float_types.h"
#include "errors.h"

namespace tessera::python {
namespace py = pybind11;

namespace {

py::module_ numpy() { return py::module_::import("numpy"); }

// The element type a numpy dtype holds; undefined for those ONNX has no type for (datetime, void).
DataType dtype_of(const py::dtype& dtype) {
  // Types of 1, 2, 4 and 8 bytes of one kind, by size.
  auto by_size = [bytes = dtype.itemsize()](DataType b1, DataType b2, DataType b4, DataType b8) {
    return bytes == 1 ? b1 : bytes == 2 ? b2 : bytes == 4 ? b4 : bytes == 8 ? b8 : DataType::undefined;
  };
  constexpr DataType none = DataType::undefined;
  switch (dtype.kind()) {
    case 'f': return by_size(none, DataType::float16, DataType::float32, DataType::float64);
    case 'i': return by_size(DataType::int8, DataType::int16, DataType::int32, DataType::int64);
    case 'u': return by_size(DataType::uint8, DataType::uint16, DataType::uint32, DataType::uint64);
    case 'c': return dtype.itemsize() == 8 ? DataType::complex64 : dtype.itemsize() == 16 ? DataType::complex128 : none;
    case 'b': return DataType::boolean;
    case 'O':
    case 'U':
    case 'S': return DataType::string;
    default: return DataType::undefined;
  }
}

// The numpy dtype that holds `type` element for element; None for the types numpy lacks
// (bfloat16, float8, float4), which are widened to float32. Numeric types come from numpy's
// table (dtype::of), not by parsing a name: every output of every run asks.
py::object numpy_dtype(DataType type) {
  switch (type) {
    case DataType::float32: return py::dtype::of<float>();
    case DataType::float64: return py::dtype::of<double>();
    case DataType::float16: return py::dtype("float16");
    case DataType::int8:
    case DataType::int4:
    case DataType::int2: return py::dtype::of<int8_t>();  // sub-byte ints are kept one per byte
    case DataType::uint8:
    case DataType::uint4:
    case DataType::uint2: return py::dtype::of<uint8_t>();
    case DataType::int16: return py::dtype::of<int16_t>();
    case DataType::uint16: return py::dtype::of<uint16_t>();
    case DataType::int32: return py::dtype::of<int32_t>();
    case DataType::uint32: return py::dtype::of<uint32_t>();
    case DataType::int64: return py::dtype::of<int64_t>();
    case DataType::uint64: return py::dtype::of<uint64_t>();
    case DataType::boolean: return py::dtype::of<bool>();
    case DataType::complex64: return py::dtype("complex64");
    case DataType::complex128: return py::dtype("complex128");
    case DataType::string: return py::dtype("object");
    default: return py::none();
  }
}

float widen(DataType type, uint8_t bits) {
  switch (type) {
    case DataType::float8e4m3fn: return float8e4m3fn_to_float(bits);
    case DataType::float8e4m3fnuz: return float8e4m3fnuz_to_float(bits);
    case DataType::float8e5m2: return float8e5m2_to_float(bits);
    case DataType::float8e5m2fnuz: return float8e5m2fnuz_to_float(bits);
    case DataType::float8e8m0: return float8e8m0_to_float(bits);
    default: return float4e2m1_to_float(bits);
  }
}

DataType dtype_from_name(std::string_view name) {
  for (int32_t v = 1; v <= kMaxDataTypeValue; ++v)
    if (dtype_name(static_cast<DataType>(v)) == name) return static_cast<DataType>(v);
  return DataType::undefined;
}

// Key and value element types of the first map in a declared type string:
// "seq(map(int64,tensor(float)))" gives int64 and float; undefined where it says nothing.
std::pair<DataType, DataType> map_types(const std::string& type_string) {
  const size_t map = type_string.find("map(");
  if (map == std::string::npos) return {DataType::undefined, DataType::undefined};
  const size_t comma = type_string.find(',', map);
  const size_t tensor = type_string.find("tensor(", map);
  if (comma == std::string::npos || tensor == std::string::npos) return {DataType::undefined, DataType::undefined};
  const size_t close = type_string.find(')', tensor);
  return {dtype_from_name(std::string_view(type_string).substr(map + 4, comma - map - 4)),
          dtype_from_name(std::string_view(type_string).substr(tensor + 7, close - tensor - 7))};
}

Tensor string_tensor(const py::array& array, const std::string& where) {
  Shape shape(array.shape(), array.shape() + array.ndim());
  auto tensor = Tensor::create(DataType::string, shape);
  if (!tensor.is_ok()) throw_status(tensor.status().with_context(where));
  py::list items = array.attr("ravel")().attr("tolist")();
  std::string* out = tensor->data<std::string>();
  for (size_t i = 0; i < items.size(); ++i) {
    py::handle item = items[i];
    if (py::isinstance<py::str>(item))
      out[i] = item.cast<std::string>();
    else if (py::isinstance<py::bytes>(item))
      out[i] = std::string(py::reinterpret_borrow<py::bytes>(item));
    else
      throw_invalid_argument(str_cat(where, ": element ", i, " is ", Py_TYPE(item.ptr())->tp_name,
                                     ", not str or bytes"));
  }
  return std::move(tensor).value();
}

// A float array fed for a bfloat16 input: rounded once into a new bfloat16 tensor (numpy has no
// bfloat16 of its own).
Tensor narrowed_to_bfloat16(const py::array& array, const std::string& where) {
  py::array_t<float, py::array::c_style | py::array::forcecast> floats(array);
  Shape shape(floats.shape(), floats.shape() + floats.ndim());
  auto tensor = Tensor::create(DataType::bfloat16, shape);
  if (!tensor.is_ok()) throw_status(tensor.status().with_context(where));
  const float* in = floats.data();
  uint16_t* out = tensor->data<uint16_t>();
  for (int64_t i = 0; i < tensor->size(); ++i) out[i] = float_to_bfloat16(in[i]);
  return std::move(tensor).value();
}

Tensor tensor_from_python(py::handle obj, DataType declared, const std::string& where) {
  py::object converted;
  if (py::isinstance<py::array>(obj))
    converted = py::reinterpret_borrow<py::object>(obj);
  else if (py::hasattr(obj, "__dlpack__"))
    converted = numpy().attr("from_dlpack")(obj);
  else if (py::hasattr(obj, "__array__"))
    converted = numpy().attr("asarray")(obj);
  else  // a list or a scalar: read as the declared element type, as that input would be written
    converted = numpy().attr("asarray")(obj, numpy_dtype(declared));
  py::array array = converted;
  const DataType dtype = dtype_of(array.dtype());
  if (dtype == DataType::undefined)
    throw_invalid_argument(str_cat(where, ": numpy dtype '", std::string(py::str(array.dtype())),
                                   "' has no ONNX element type"));
  if (dtype == DataType::string) return string_tensor(array, where);
  if (declared == DataType::bfloat16 && is_float_dtype(dtype)) return narrowed_to_bfloat16(array, where);
  // Read from the array's own fields, not through Python attributes (a training step feeds
  // many arrays per run; attribute lookups cost a microsecond each).
  constexpr int kWrappableFlags = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  const char order = array.dtype().byteorder();
  const bool native = order == '=' || order == '|' || order == (std::endian::native == std::endian::little ? '<' : '>');
  const bool wrappable = (array.flags() & kWrappableFlags) == kWrappableFlags && native;
  if (!wrappable)  // one copy into the layout a Tensor has
    array = numpy().attr("ascontiguousarray")(array, array.dtype().attr("newbyteorder")("="));
  Shape shape(array.shape(), array.shape() + array.ndim());
  return Tensor::view(dtype, std::move(shape), python_owner(array), array.data());
}

Value map_from_python(const py::dict& dict, const std::string& type_string, const std::string& where) {
  auto [key_type, value_type] = map_types(type_string);
  py::list keys, values;
  for (auto [k, v] : dict) {
    keys.append(k);
    values.append(v);
  }
  // Undeclared types (a map in a sequence the model does not spell out) follow the keys given.
  if (key_type == DataType::undefined)
    key_type = !keys.empty() && py::isinstance<py::str>(keys[0]) ? DataType::string : DataType::int64;
  if (value_type == DataType::undefined) value_type = DataType::float32;
  Tensor key_tensor = tensor_from_python(keys, key_type, where + " keys");
  Tensor value_tensor = tensor_from_python(values, value_type, where + " values");
  return Value::map(std::move(key_tensor), std::move(value_tensor));
}

// The element type of the first tensor type in a declared type string ("optional(seq(tensor(float)))"
// gives float); undefined when there is none.
DataType first_tensor_type(const std::string& type_string) {
  const size_t tensor = type_string.find("tensor(");
  if (tensor == std::string::npos) return DataType::undefined;
  const size_t close = type_string.find(')', tensor);
  return dtype_from_name(std::string_view(type_string).substr(tensor + 7, close - tensor - 7));
}

Value value_from(py::handle obj, const IoInfo& input, const std::string& where) {
  if (obj.is_none()) return Value::empty_optional();
  if (py::isinstance<py::dict>(obj))
    return map_from_python(py::reinterpret_borrow<py::dict>(obj), input.type_string, where);
  // A list feeds a sequence input, or an optional one that holds a sequence.
  const bool sequence = input.kind == IoInfo::Kind::sequence || input.type_string.rfind("optional(seq(", 0) == 0;
  if (sequence && (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj))) {
    IoInfo element = input;
    element.kind = IoInfo::Kind::tensor;
    element.dtype = first_tensor_type(input.type_string);
    std::vector<Value> items;
    size_t i = 0;
    for (py::handle item : obj) items.push_back(value_from(item, element, str_cat(where, " item ", i++)));
    const bool maps = input.type_string.find("seq(map(") != std::string::npos;
    return Value::sequence(std::move(items), element.dtype, maps ? Value::Kind::map : Value::Kind::tensor);
  }
  return tensor_from_python(obj, input.dtype, where);
}

py::object tensor_to_python(Tensor tensor) {
  const Shape& shape = tensor.shape();
  const DataType dtype = tensor.dtype();
  if (dtype == DataType::string) {
    py::tuple dims(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) dims[i] = py::int_(shape[i]);
    py::array out = numpy().attr("empty")(dims, "object");
    py::object flat = out.attr("reshape")(-1);  // a view: filling it fills `out`
    const std::string* in = tensor.data<std::string>();
    for (int64_t i = 0; i < tensor.size(); ++i) {
      // Non-UTF-8 bytes survive as surrogates rather than failing the whole run.
      PyObject* s = PyUnicode_DecodeUTF8(in[i].data(), static_cast<Py_ssize_t>(in[i].size()), "surrogateescape");
      if (!s) throw py::error_already_set();
      flat[py::int_(i)] = py::reinterpret_steal<py::object>(s);
    }
    return out;
  }
  py::object np_dtype = numpy_dtype(dtype);
  if (np_dtype.is_none()) {  // bfloat16, float8, float4: widened to float32
    py::array_t<float> out(shape);
    float* dst = out.mutable_data();
    if (dtype == DataType::bfloat16) {
      const uint16_t* src = tensor.data<uint16_t>();
      for (int64_t i = 0; i < tensor.size(); ++i) dst[i] = bfloat16_to_float(src[i]);
    } else {
      const uint8_t* src = tensor.data<uint8_t>();
      for (int64_t i = 0; i < tensor.size(); ++i) dst[i] = widen(dtype, src[i]);
    }
    return out;
  }
  // The array owns the Tensor (and so its buffer) through the capsule: no copy.
  auto* holder = new Tensor(std::move(tensor));
  py::capsule owner(holder, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(py::reinterpret_borrow<py::dtype>(np_dtype), holder->shape(), {}, holder->raw_data(), owner);
}

}  // namespace

Value value_from_python(py::handle obj, const IoInfo& input) {
  return value_from(obj, input, "input '" + input.name + "'");
}

std::shared_ptr<const void> python_owner(py::object obj) {
  auto* keep = new py::object(std::move(obj));
  return std::shared_ptr<const void>(keep, [](const void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<const py::object*>(p);
  });
}

py::object value_to_python(Value value) {
  switch (value.kind()) {
    case Value::Kind::absent:
    case Value::Kind::empty_optional: return py::none();
    case Value::Kind::tensor: return tensor_to_python(std::move(value.tensor()));
    case Value::Kind::sequence: {
      py::list items;
      for (const Value& item : value.items()) items.append(value_to_python(item));
      return items;
    }
    case Value::Kind::map: {
      py::object keys = tensor_to_python(value.map_keys()).attr("tolist")();
      py::object values = tensor_to_python(value.map_values()).attr("tolist")();
      return py::dict(py::module_::import("builtins").attr("zip")(keys, values));
    }
  }
  return py::none();
}

// An output that is a feed (Identity of an input) or holds a feed's buffer (Reshape of one) is
// copied, so outputs never share memory with the caller's arrays, as with ONNX Runtime.
void detach_from_feeds(Value& value, const Feeds& feeds) {
  if (value.is_sequence()) {
    std::vector<Value> items = value.items();
    for (Value& item : items) detach_from_feeds(item, feeds);
    value = Value::sequence(std::move(items), value.sequence_elem_type(), value.sequence_elem_kind());
    return;
  }
  if (!value.is_tensor()) return;
  for (const auto& [name, feed] : feeds) {
    if (!feed.is_tensor() || !value.tensor().shares_buffer_with(feed.tensor())) continue;
    auto copy = value.tensor().clone();
    if (!copy.is_ok()) throw_status(copy.status());
    value = Value(std::move(copy).value());
    return;
  }
}

std::string ort_type_string(const IoInfo& info) {
  // The model's type string carries shapes in brackets: "tensor(float)[N,3]" -> "tensor(float)".
  std::string out;
  int depth = 0;
  for (char c : info.type_string) {
    if (c == '[') ++depth;
    if (depth == 0) out += c;
    if (c == ']') --depth;
  }
  return out;
}

}  // namespace tessera::python
