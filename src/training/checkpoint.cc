#include "training/checkpoint.h"

#include <cstdio>
#include <fstream>

namespace tessera {
namespace {

constexpr char kMagic[] = "TESSERA-CHECKPOINT-2";
constexpr uint64_t kMaxCount = uint64_t{1} << 32;  // guards the reads against a corrupt count
constexpr uint64_t kMaxRank = 16;

template <class T>
void put(std::ofstream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(v));
}
template <class T>
bool get(std::ifstream& in, T& v) {
  return static_cast<bool>(in.read(reinterpret_cast<char*>(&v), sizeof(v)));
}

void put_tensor(std::ofstream& out, const Tensor& t) {
  put(out, static_cast<uint64_t>(t.rank()));
  for (int64_t d : t.shape()) put(out, d);
  out.write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.byte_size()));
}

Result<Tensor> get_tensor(std::ifstream& in, const std::string& path, const std::string& what) {
  uint64_t rank = 0;
  if (!get(in, rank) || rank > kMaxRank) return invalid_argument("checkpoint '", path, "': ", what, " is truncated or corrupt");
  Shape shape(rank);
  for (int64_t& d : shape)
    if (!get(in, d) || d < 0) return invalid_argument("checkpoint '", path, "': ", what, " is truncated or corrupt");
  // Sized against what the file still holds before allocating, so a corrupt shape cannot ask for
  // more memory than the file could fill.
  const std::streampos here = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streamoff left = in.tellg() - here;
  in.seekg(here);
  Result<size_t> bytes = checked_byte_size(DataType::float32, shape);
  if (!bytes.is_ok() || static_cast<std::streamoff>(*bytes) > left)
    return invalid_argument("checkpoint '", path, "': ", what, " is truncated or corrupt");
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::create(DataType::float32, shape));
  if (!in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.byte_size())))
    return invalid_argument("checkpoint '", path, "': ", what, " is truncated");
  return t;
}

Status put_named(std::ofstream& out, const std::string& path, const std::vector<std::string>& names,
                 const std::vector<Tensor>& tensors) {
  if (names.size() != tensors.size()) return invalid_argument("checkpoint '", path, "': ", names.size(), " names for ", tensors.size(), " tensors");
  put(out, static_cast<uint64_t>(tensors.size()));
  for (size_t k = 0; k < tensors.size(); ++k) {
    if (tensors[k].dtype() != DataType::float32) return invalid_argument("checkpoint '", path, "': '", names[k], "' is not float32");
    put(out, static_cast<uint64_t>(names[k].size()));
    out.write(names[k].data(), static_cast<std::streamsize>(names[k].size()));
    put_tensor(out, tensors[k]);
  }
  return Status::ok();
}

Status get_named(std::ifstream& in, const std::string& path, std::vector<std::string>& names, std::vector<Tensor>& tensors) {
  uint64_t count = 0;
  if (!get(in, count) || count > kMaxCount) return invalid_argument("checkpoint '", path, "': truncated or corrupt");
  for (uint64_t k = 0; k < count; ++k) {
    uint64_t length = 0;
    if (!get(in, length) || length > kMaxCount) return invalid_argument("checkpoint '", path, "': tensor ", k, " is truncated or corrupt");
    std::string name(length, '\0');
    if (!in.read(name.data(), static_cast<std::streamsize>(length))) return invalid_argument("checkpoint '", path, "': tensor ", k, " is truncated");
    TS_ASSIGN_OR_RETURN(Tensor t, get_tensor(in, path, "'" + name + "'"));
    names.push_back(std::move(name));
    tensors.push_back(std::move(t));
  }
  return Status::ok();
}

}  // namespace

Status write_checkpoint(const Checkpoint& c, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return io_error("checkpoint '", path, "': cannot write ", tmp);
    out.write(kMagic, sizeof(kMagic));
    put(out, c.step);
    put(out, c.learning_rate);
    TS_RETURN_IF_ERROR(put_named(out, path, c.names, c.params));
    put(out, static_cast<uint64_t>(c.state.size()));
    for (const Tensor& s : c.state) put_tensor(out, s);
    TS_RETURN_IF_ERROR(put_named(out, path, c.buffer_names, c.buffers));
    if (!out) return io_error("checkpoint '", path, "': write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return io_error("checkpoint '", path, "': cannot rename ", tmp);
  return Status::ok();
}

Result<Checkpoint> read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("checkpoint '", path, "': cannot open");
  char magic[sizeof(kMagic)] = {};
  in.read(magic, sizeof(magic));
  Checkpoint c;
  if (!in || std::string(magic, sizeof(magic)) != std::string(kMagic, sizeof(kMagic)) || !get(in, c.step) ||
      !get(in, c.learning_rate))
    return invalid_argument("checkpoint '", path, "': not a Tessera checkpoint");
  TS_RETURN_IF_ERROR(get_named(in, path, c.names, c.params));
  uint64_t count = 0;
  if (!get(in, count) || count > kMaxCount) return invalid_argument("checkpoint '", path, "': the optimizer state is truncated");
  if (count > 0 && (c.params.empty() || count % c.params.size() != 0))
    return invalid_argument("checkpoint '", path, "': ", count, " optimizer state tensors for ", c.params.size(), " parameters");
  for (uint64_t s = 0; s < count; ++s) {
    const size_t owner = s % c.params.size();
    TS_ASSIGN_OR_RETURN(Tensor t, get_tensor(in, path, "the optimizer state of '" + c.names[owner] + "'"));
    if (t.shape() != c.params[owner].shape())
      return invalid_argument("checkpoint '", path, "': the optimizer state of '", c.names[owner], "' does not have its shape");
    c.state.push_back(std::move(t));
  }
  TS_RETURN_IF_ERROR(get_named(in, path, c.buffer_names, c.buffers));
  return c;
}

}  // namespace tessera
