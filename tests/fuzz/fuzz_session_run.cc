// libFuzzer target: bytes -> session -> one run on inputs made from the declared input types.
//
// Input layout: a 4-byte little-endian model size N, N bytes of ModelProto, then the bytes the
// inputs are filled from (cycled; zeros when there are none). Symbolic or unknown dimensions
// become 1..3 (chosen by the fill bytes), an unknown rank a vector; signed integers are -8..7,
// unsigned 0..7, floats any bit pattern; inputs over kMaxElements elements, and inputs that are
// not tensors, make the case load-only. Each run has a deadline, and the session small resource
// limits (fuzz_session_options.h), so a model that loops for long or asks for gigabytes is cut
// short (an error Status) instead of hanging the fuzzer or tripping its memory limit.
// tests/fuzz/make_seeds.sh writes seeds in this layout.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "tests/fuzz/fuzz_session_options.h"

namespace {

constexpr int64_t kMaxElements = 1 << 16;

// Cycles over the fill bytes.
class FillBytes {
 public:
  FillBytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t next() { return size_ == 0 ? 0 : data_[pos_++ % size_]; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

template <class T>
void fill_small(tessera::Tensor& t, FillBytes& fill) {
  for (auto& v : t.span<T>())
    v = std::is_signed_v<T> ? static_cast<T>((fill.next() >> 4) - 8) : static_cast<T>(fill.next() >> 5);
}

void fill_small_integers(tessera::Tensor& t, FillBytes& fill) {
  using tessera::DataType;
  switch (t.dtype()) {
    case DataType::int8: fill_small<int8_t>(t, fill); break;
    case DataType::uint8: fill_small<uint8_t>(t, fill); break;
    case DataType::int16: fill_small<int16_t>(t, fill); break;
    case DataType::uint16: fill_small<uint16_t>(t, fill); break;
    case DataType::int32: fill_small<int32_t>(t, fill); break;
    case DataType::uint32: fill_small<uint32_t>(t, fill); break;
    case DataType::int64: fill_small<int64_t>(t, fill); break;
    default: fill_small<uint64_t>(t, fill); break;
  }
}

// A tensor for `info`, or an undefined tensor when the case should not run.
tessera::Tensor make_input(const tessera::IoInfo& info, FillBytes& fill) {
  using tessera::DataType;
  tessera::Shape shape;
  if (!info.has_shape) {
    shape.push_back(1 + fill.next() % 3);
  } else {
    for (int64_t d : info.shape) shape.push_back(d >= 0 ? d : 1 + fill.next() % 3);
  }
  auto count = tessera::checked_element_count(shape);
  if (!count.is_ok() || count.value() > kMaxElements) return {};
  auto tensor = tessera::Tensor::create(info.dtype, shape);
  if (!tensor.is_ok()) return {};
  tessera::Tensor t = std::move(tensor.value());
  if (info.dtype == DataType::string) {
    for (auto& s : t.span<std::string>()) s.assign(fill.next() % 4, static_cast<char>('a' + fill.next() % 26));
  } else if (info.dtype == DataType::boolean) {
    for (auto& b : t.span<uint8_t>()) b = fill.next() & 1;
  } else if (tessera::is_subbyte_dtype(info.dtype)) {
    // Sub-byte types keep their zeros: not every byte is a valid element.
  } else if (tessera::is_integer_dtype(info.dtype)) {
    // Small: integer inputs are often sizes, counts or indices, and a fill byte's full range
    // would mostly ask for gigabytes (a resource limit, not what this target looks for).
    fill_small_integers(t, fill);
  } else {
    auto* bytes = static_cast<uint8_t*>(t.raw_data());
    for (size_t i = 0; i < t.byte_size(); ++i) bytes[i] = fill.next();
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t model_size = 0;
  std::memcpy(&model_size, data, 4);  // the fuzz machines are little-endian, as is the layout
  data += 4;
  size -= 4;
  if (model_size > size) model_size = static_cast<uint32_t>(size);

  auto session = tessera::Session::load_from_bytes(data, model_size, tessera::fuzz::fuzz_session_options());
  if (!session.is_ok()) return 0;

  FillBytes fill(data + model_size, size - model_size);
  tessera::Feeds feeds;
  for (const auto& info : session->inputs()) {
    if (info.kind != tessera::IoInfo::Kind::tensor) return 0;
    tessera::Tensor t = make_input(info, fill);
    if (!t.defined()) return 0;
    feeds.emplace_back(info.name, tessera::Value(std::move(t)));
  }
  auto outputs = session->run(feeds, {}, tessera::RunOptions::with_timeout(std::chrono::seconds(2)));
  (void)outputs;
  return 0;
}
