#include "model/model_skeleton.h"

namespace tessera {

namespace {

// Field numbers of onnx.proto.
constexpr uint64_t kModelGraph = 7;
constexpr uint64_t kGraphInitializer = 5;
constexpr uint64_t kTensorRawData = 9;

enum WireType : uint64_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Reads the protobuf wire format of one message, bounds-checked: any read past the end fails.
class WireReader {
 public:
  WireReader(const uint8_t* begin, const uint8_t* end) : p_(begin), end_(end) {}

  bool at_end() const { return p_ == end_; }
  const uint8_t* position() const { return p_; }

  bool varint(uint64_t* out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const uint8_t byte = *p_++;
      value |= uint64_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80u)) {
        *out = value;
        return true;
      }
    }
    return false;
  }

  // One field: its number and wire type, and for a length-delimited one its payload.
  struct Field {
    uint64_t number = 0;
    uint64_t wire_type = 0;
    const uint8_t* payload = nullptr;
    uint64_t length = 0;
  };
  bool field(Field* f) {
    uint64_t tag = 0;
    if (!varint(&tag)) return false;
    f->number = tag >> 3;
    f->wire_type = tag & 7;
    if (f->number == 0) return false;
    switch (f->wire_type) {
      case kVarint: {
        uint64_t ignored = 0;
        return varint(&ignored);
      }
      case kFixed64:
        return skip(8);
      case kFixed32:
        return skip(4);
      case kLengthDelimited:
        if (!varint(&f->length) || f->length > static_cast<uint64_t>(end_ - p_)) return false;
        f->payload = p_;
        p_ += f->length;
        return true;
      default:  // groups (deprecated) and invalid wire types
        return false;
    }
  }

 private:
  bool skip(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
};

void append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_length_delimited(std::string& out, uint64_t number, const std::string& payload) {
  append_varint(out, number << 3 | kLengthDelimited);
  append_varint(out, payload.size());
  out += payload;
}

void append(std::string& out, const uint8_t* from, const uint8_t* to) {
  out.append(reinterpret_cast<const char*>(from), static_cast<size_t>(to - from));
}

// What a rewrite_fields callback makes of one field.
enum class Rewrite { keep, replace, fail };

// Copies the message in [begin, end) to `out`, giving each field numbered `number` to
// `rewrite(field, &replacement)`: keep copies the field as it is, replace writes it as a
// length-delimited field holding `replacement`, fail stops. False when the bytes do not parse or
// a rewrite failed.
template <class F>
bool rewrite_fields(const uint8_t* begin, const uint8_t* end, uint64_t number, std::string* out, F&& rewrite) {
  WireReader in(begin, end);
  const uint8_t* copied = begin;
  while (!in.at_end()) {
    const uint8_t* field_start = in.position();
    WireReader::Field f;
    if (!in.field(&f)) return false;
    if (f.number != number) continue;
    std::string replacement;
    const Rewrite what = rewrite(f, &replacement);
    if (what == Rewrite::fail) return false;
    if (what == Rewrite::keep) continue;
    append(*out, copied, field_start);
    append_length_delimited(*out, number, replacement);
    copied = in.position();
  }
  append(*out, copied, end);
  return true;
}

// A TensorProto with its raw_data emptied when that is at least `min_payload` bytes; false when
// the bytes do not parse or hold more than one raw_data (protobuf would keep the last).
bool tensor_skeleton(const uint8_t* begin, const uint8_t* end, uint64_t min_payload, std::string* out,
                     std::optional<WireBytes>* payload) {
  int raw_data_fields = 0;
  return rewrite_fields(begin, end, kTensorRawData, out, [&](const WireReader::Field& f, std::string*) {
    if (f.wire_type != kLengthDelimited) return Rewrite::keep;
    if (++raw_data_fields > 1) return Rewrite::fail;
    if (f.length < min_payload) return Rewrite::keep;
    *payload = WireBytes{f.payload, f.length};
    return Rewrite::replace;  // by an empty raw_data
  });
}

// A GraphProto with its initializers' large raw_data left out (recorded in `payloads`).
bool graph_skeleton(const uint8_t* begin, const uint8_t* end, uint64_t min_payload, std::string* out,
                    std::unordered_map<int, WireBytes>* payloads) {
  int initializer = 0;
  return rewrite_fields(begin, end, kGraphInitializer, out, [&](const WireReader::Field& f, std::string* tensor) {
    if (f.wire_type != kLengthDelimited) return Rewrite::keep;
    const int index = initializer++;
    std::optional<WireBytes> payload;
    if (!tensor_skeleton(f.payload, f.payload + f.length, min_payload, tensor, &payload)) return Rewrite::fail;
    if (!payload) return Rewrite::keep;
    (*payloads)[index] = *payload;
    return Rewrite::replace;
  });
}

}  // namespace

std::optional<ModelSkeleton> model_skeleton(const uint8_t* data, size_t size, uint64_t min_payload) {
  ModelSkeleton skeleton;
  bool seen_graph = false;
  const bool parsed =
      rewrite_fields(data, data + size, kModelGraph, &skeleton.bytes, [&](const WireReader::Field& f, std::string* graph) {
        // A second graph field would be merged into the first by protobuf: such bytes are parsed as they are.
        if (seen_graph || f.wire_type != kLengthDelimited) return Rewrite::fail;
        seen_graph = true;
        return graph_skeleton(f.payload, f.payload + f.length, min_payload, graph, &skeleton.payloads) ? Rewrite::replace
                                                                                                       : Rewrite::fail;
      });
  if (!parsed || skeleton.payloads.empty()) return std::nullopt;
  return skeleton;
}

}  // namespace tessera
