#include "tools/numpy_files.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace tessera::cli {

namespace {

using Bytes = std::vector<uint8_t>;

Result<Bytes> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read '", path, "'");
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// NumPy's type codes (the 'descr' without its byte-order character) and ours.
struct NumpyType {
  const char* code;
  DataType dtype;
};
constexpr NumpyType kNumpyTypes[] = {
    {"b1", DataType::boolean}, {"i1", DataType::int8},      {"u1", DataType::uint8},      {"i2", DataType::int16},
    {"u2", DataType::uint16},  {"i4", DataType::int32},     {"u4", DataType::uint32},     {"i8", DataType::int64},
    {"u8", DataType::uint64},  {"f2", DataType::float16},   {"f4", DataType::float32},    {"f8", DataType::float64},
    {"c8", DataType::complex64}, {"c16", DataType::complex128},
};

// The value of `key` in the header's Python dict literal, as text: "'<f4'", "False", "(2, 3)".
std::string header_field(const std::string& header, const std::string& key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return "";
  at = header.find(':', at);
  if (at == std::string::npos) return "";
  at = header.find_first_not_of(' ', at + 1);
  if (at == std::string::npos) return "";
  size_t end = header[at] == '(' ? header.find(')', at) + 1 : header[at] == '\'' ? header.find('\'', at + 1) + 1
                                                                                : header.find_first_of(",}", at);
  return header.substr(at, end - at);
}

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::vector<uint32_t> utf8_code_points(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    int extra = b < 0x80 ? 0 : b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
    uint32_t c = extra == 0 ? b : b & (0x3F >> extra);
    for (int k = 1; k <= extra && i + k < s.size(); ++k) c = (c << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    out.push_back(c);
    i += extra + 1;
  }
  return out;
}

// Parses one .npy image; `source` names it in errors.
Result<Tensor> parse_npy(const uint8_t* data, size_t size, const std::string& source) {
  static const uint8_t kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0) return invalid_argument("'", source, "' is not a .npy file (no \\x93NUMPY magic)");
  const int major = data[6];
  size_t header_len = 0, header_at = 0;
  if (major == 1) {
    header_len = data[8] | (data[9] << 8);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return invalid_argument("'", source, "': truncated .npy header");
    header_len = data[8] | (data[9] << 8) | (data[10] << 16) | (static_cast<size_t>(data[11]) << 24);
    header_at = 12;
  } else {
    return invalid_argument("'", source, "': .npy format version ", major, " is not 1, 2 or 3");
  }
  if (header_at + header_len > size) return invalid_argument("'", source, "': truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(data + header_at), header_len);
  std::string descr = header_field(header, "descr");
  if (descr.size() < 4 || descr.front() != '\'') return invalid_argument("'", source, "': no 'descr' in the .npy header");
  descr = descr.substr(1, descr.size() - 2);
  if (header_field(header, "fortran_order") != "False")
    return invalid_argument("'", source, "': Fortran-order arrays are not supported (save np.ascontiguousarray(a))");
  const char order = descr[0];
  if (order == '>' && descr.substr(1) != "b1" && descr.substr(1) != "i1" && descr.substr(1) != "u1")
    return invalid_argument("'", source, "': big-endian arrays ('", descr, "') are not supported (save a.astype(a.dtype.newbyteorder('<')))");
  const std::string code = descr.substr(1);

  Shape shape;
  const std::string shape_text = header_field(header, "shape");
  if (shape_text.size() < 2 || shape_text.front() != '(') return invalid_argument("'", source, "': no 'shape' in the .npy header");
  for (size_t at = 1; at < shape_text.size() - 1;) {
    size_t end = shape_text.find_first_of(",)", at);
    std::string dim = shape_text.substr(at, end - at);
    dim.erase(std::remove(dim.begin(), dim.end(), ' '), dim.end());
    if (!dim.empty()) {
      if (dim.size() > 18 || !std::all_of(dim.begin(), dim.end(), ::isdigit))
        return invalid_argument("'", source, "': bad shape ", shape_text);
      shape.push_back(std::stoll(dim));
    }
    at = end + 1;
  }
  const uint8_t* payload = data + header_at + header_len;
  const size_t payload_size = size - header_at - header_len;
  // Every element takes at least a byte: a shape asking for more than the file holds is refused
  // before anything is allocated (a forged header must not ask for gigabytes).
  uint64_t elements = 1;
  for (int64_t d : shape) {
    if (d != 0 && elements > payload_size / static_cast<uint64_t>(d))
      return invalid_argument("'", source, "': the data is shorter than its shape ", shape_to_string(shape), " needs");
    elements *= static_cast<uint64_t>(d);
  }

  if (code[0] == 'U') {  // fixed-width UTF-32 strings
    if (code.size() < 2 || !std::all_of(code.begin() + 1, code.end(), ::isdigit))
      return invalid_argument("'", source, "': unsupported string type '", descr, "'");
    const size_t width = std::stoul(code.substr(1));
    TS_ASSIGN_OR_RETURN(Tensor t, Tensor::create(DataType::string, shape));
    if (payload_size < static_cast<size_t>(t.size()) * width * 4)
      return invalid_argument("'", source, "': the data is shorter than its shape ", shape_to_string(shape), " needs");
    for (int64_t i = 0; i < t.size(); ++i) {
      std::string s;
      for (size_t k = 0; k < width; ++k) {
        uint32_t c;
        std::memcpy(&c, payload + (static_cast<size_t>(i) * width + k) * 4, 4);
        if (c == 0) break;
        append_utf8(s, c);
      }
      t.data<std::string>()[i] = std::move(s);
    }
    return t;
  }
  const NumpyType* type = nullptr;
  for (const auto& candidate : kNumpyTypes)
    if (code == candidate.code) type = &candidate;
  if (!type)
    return invalid_argument("'", source, "': NumPy type '", descr,
                            "' is not supported (numbers, bool and unicode strings are; object arrays are not)");
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::create(type->dtype, shape));
  if (payload_size < t.byte_size())
    return invalid_argument("'", source, "': the data is shorter than its shape ", shape_to_string(shape), " needs (",
                            payload_size, " bytes, ", t.byte_size(), " needed)");
  if (t.byte_size()) std::memcpy(t.raw_data(), payload, t.byte_size());
  return t;
}

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint64_t le64(const uint8_t* p) { return le32(p) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

Result<Bytes> inflate_raw(const uint8_t* data, size_t size, size_t expected, const std::string& source) {
  Bytes out(expected);
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return runtime_error("zlib inflateInit2 failed");
  z.next_in = const_cast<uint8_t*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.total_out != expected) return invalid_argument("'", source, "': corrupt deflated member");
  return out;
}

}  // namespace

Result<Tensor> read_npy_file(const std::string& path) {
  TS_ASSIGN_OR_RETURN(Bytes bytes, read_whole_file(path));
  return parse_npy(bytes.data(), bytes.size(), path);
}

Result<std::vector<std::pair<std::string, Tensor>>> read_npz_file(const std::string& path) {
  TS_ASSIGN_OR_RETURN(Bytes zip, read_whole_file(path));
  // The end-of-central-directory record: its signature, searched back from the end (a comment
  // may follow it).
  size_t eocd = std::string::npos;
  for (size_t at = zip.size() >= 22 ? zip.size() - 22 : 0; zip.size() >= 22; --at) {
    if (le32(&zip[at]) == 0x06054b50) {
      eocd = at;
      break;
    }
    if (at == 0 || zip.size() - at > 22 + 65535) break;
  }
  if (eocd == std::string::npos) return invalid_argument("'", path, "' is not a .npz file (no zip directory)");
  size_t entries = le16(&zip[eocd + 10]);
  size_t at = le32(&zip[eocd + 16]);
  std::vector<std::pair<std::string, Tensor>> arrays;
  for (size_t e = 0; e < entries; ++e) {
    if (at + 46 > zip.size() || le32(&zip[at]) != 0x02014b50) return invalid_argument("'", path, "': corrupt zip directory");
    const uint16_t method = le16(&zip[at + 10]);
    uint64_t compressed = le32(&zip[at + 20]), uncompressed = le32(&zip[at + 24]);
    const size_t name_len = le16(&zip[at + 28]), extra_len = le16(&zip[at + 30]), comment_len = le16(&zip[at + 32]);
    uint64_t local = le32(&zip[at + 42]);
    if (at + 46 + name_len + extra_len > zip.size()) return invalid_argument("'", path, "': corrupt zip directory");
    std::string name(reinterpret_cast<const char*>(&zip[at + 46]), name_len);
    // Zip64: the sizes and offset that do not fit 32 bits are in extra field 1, in this order.
    for (size_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
      const uint16_t id = le16(&zip[x]), len = le16(&zip[x + 2]);
      size_t field = x + 4;
      if (x + 4 + len > at + 46 + name_len + extra_len) break;
      if (id == 1) {
        for (uint64_t* v : {&uncompressed, &compressed, &local})
          if (*v == 0xFFFFFFFF && field + 8 <= x + 4 + len) {
            *v = le64(&zip[field]);
            field += 8;
          }
      }
      x += 4 + len;
    }
    at += 46 + name_len + extra_len + comment_len;
    if (local + 30 > zip.size() || le32(&zip[local]) != 0x04034b50) return invalid_argument("'", path, "': corrupt zip member '", name, "'");
    const size_t data_at = local + 30 + le16(&zip[local + 26]) + le16(&zip[local + 28]);
    if (data_at + compressed > zip.size()) return invalid_argument("'", path, "': truncated zip member '", name, "'");
    const std::string source = path + ":" + name;
    Bytes member;
    if (method == 0) {
      member.assign(zip.begin() + static_cast<std::ptrdiff_t>(data_at), zip.begin() + static_cast<std::ptrdiff_t>(data_at + compressed));
    } else if (method == 8) {
      if (uncompressed > compressed * 1100 + 1024)  // beyond deflate's ratio: a forged size
        return invalid_argument("'", source, "': corrupt zip member sizes");
      TS_ASSIGN_OR_RETURN(member, inflate_raw(&zip[data_at], compressed, uncompressed, source));
    } else {
      return invalid_argument("'", source, "': zip compression method ", method, " is not supported (only stored and deflate)");
    }
    TS_ASSIGN_OR_RETURN(Tensor t, parse_npy(member.data(), member.size(), source));
    if (name.size() > 4 && name.ends_with(".npy")) name.resize(name.size() - 4);
    arrays.emplace_back(std::move(name), std::move(t));
  }
  return arrays;
}

bool numpy_can_hold(DataType dtype) {
  if (dtype == DataType::string) return true;
  for (const auto& type : kNumpyTypes)
    if (type.dtype == dtype) return true;
  return false;
}

Status write_npy_file(const std::string& path, const Tensor& tensor) {
  std::string descr;
  size_t width = 0;
  if (tensor.dtype() == DataType::string) {
    for (int64_t i = 0; i < tensor.size(); ++i) width = std::max(width, utf8_code_points(tensor.data<std::string>()[i]).size());
    width = std::max<size_t>(width, 1);
    descr = "<U" + std::to_string(width);
  } else {
    for (const auto& type : kNumpyTypes)
      if (type.dtype == tensor.dtype()) descr = (type.code[1] == '1' && type.code[2] == 0 ? "|" : "<") + std::string(type.code);
    if (descr.empty())
      return invalid_argument("cannot write '", path, "': NumPy has no ", dtype_name(tensor.dtype()), " type (write .pb instead)");
  }
  std::string shape = "(";
  for (size_t i = 0; i < tensor.rank(); ++i) shape += std::to_string(tensor.dim(i)) + (tensor.rank() == 1 ? "," : i + 1 < tensor.rank() ? ", " : "");
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n' is padded with spaces to 64 bytes.
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) return io_error("cannot create '", path, "'");
  out.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(header.size() & 0xFF), static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out << header;
  if (tensor.dtype() == DataType::string) {
    std::vector<uint32_t> row(width);
    for (int64_t i = 0; i < tensor.size(); ++i) {
      std::fill(row.begin(), row.end(), 0u);
      auto points = utf8_code_points(tensor.data<std::string>()[i]);
      std::copy(points.begin(), points.end(), row.begin());
      out.write(reinterpret_cast<const char*>(row.data()), static_cast<std::streamsize>(width * 4));
    }
  } else {
    out.write(static_cast<const char*>(tensor.raw_data()), static_cast<std::streamsize>(tensor.byte_size()));
  }
  if (!out) return io_error("cannot write '", path, "'");
  return Status::ok();
}

}  // namespace tessera::cli
