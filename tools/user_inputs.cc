#include "tools/user_inputs.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include "model/value_io.h"
#include "tools/image_input.h"
#include "tools/io_files.h"
#include "tools/numpy_files.h"

namespace fs = std::filesystem;

namespace tessera::cli {

namespace {

std::string input_names(const std::vector<IoInfo>& inputs) {
  std::string names;
  for (const auto& in : inputs) names += (names.empty() ? "'" : ", '") + in.name + "'";
  return names.empty() ? "none" : names;
}

const IoInfo* find_input(const std::vector<IoInfo>& inputs, const std::string& name) {
  for (const auto& in : inputs)
    if (in.name == name) return &in;
  return nullptr;
}

// "NAME=FILE" -> {NAME, FILE}; a spec whose part before '=' holds a '/' is a path.
std::pair<std::string, std::string> split_spec(const std::string& spec) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || spec.substr(0, eq).find('/') != std::string::npos) return {"", spec};
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

// A NumPy array for `io`: the element type must be the declared one (NumPy's default float64 for
// a float input is the usual slip, so the error says how to save it).
Result<Value> checked_array(Tensor t, const IoInfo& io, const std::string& source) {
  if (io.kind == IoInfo::Kind::tensor && io.dtype != DataType::undefined && t.dtype() != io.dtype)
    return invalid_argument("input '", io.name, "' from '", source, "': the array holds ", dtype_name(t.dtype()),
                            " but the input is ", io.type_string, " (save it with a.astype(np.",
                            io.dtype == DataType::float32 ? "float32" : std::string(dtype_name(io.dtype)), "))");
  return Value(std::move(t));
}

// One file (not .npz) read for `io`.
Result<NamedValue> read_for_input(const std::string& path, const IoInfo& io, const InputSources& sources) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".pb") return read_value_file(path, type_for(io));
  if (ext == ".npy") {
    TS_ASSIGN_OR_RETURN(Tensor t, read_npy_file(path));
    TS_ASSIGN_OR_RETURN(Value v, checked_array(std::move(t), io, path));
    return NamedValue{"", std::move(v)};
  }
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return io_error("input file '", path, "' does not exist");
  if (is_image_file(path)) {
    TS_ASSIGN_OR_RETURN(Tensor t, read_image_input(path, io, sources.mean, sources.std));
    return NamedValue{"", Value(std::move(t))};
  }
  return invalid_argument("input file '", path, "' is not a .pb, .npy or .npz file, nor an image Tessera decodes "
                          "(PNG, JPEG, BMP, PNM, TIFF, WebP, JPEG 2000)");
}

// The error for a data folder without input_K.pb files, pointing at the data sets inside it.
Status no_inputs_in(const std::string& dir) {
  std::vector<std::string> sets;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory(ec) && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(entry.path().filename().string());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return invalid_argument("data folder '", dir, "' has no input_K.pb files");
  return invalid_argument("data folder '", dir, "' has no input_K.pb files; it holds ", sets.size(),
                          " data set(s): use --data ", (fs::path(dir) / sets.front()).string());
}

}  // namespace

Status check_input_names(const InputSources& sources, const std::vector<IoInfo>& inputs, const std::string& model) {
  for (const auto& spec : sources.files) {
    auto [name, path] = split_spec(spec);
    if (path.empty()) return invalid_argument("--input expects [NAME=]FILE, got '", spec, "'");
    if (!name.empty() && !find_input(inputs, name))
      return invalid_argument("--input ", spec, ": model '", model, "' has no input named '", name,
                              "' (its inputs: ", input_names(inputs), ")");
  }
  if (!sources.fill && !sources.dims.empty()) return invalid_argument("--dim sets the shapes of --random or --zeros inputs: give one of them");
  auto dims = parse_dims(sources.dims, inputs, model);
  return dims.is_ok() ? Status::ok() : dims.status();
}

Result<Feeds> gather_feeds(const InputSources& sources, const std::vector<IoInfo>& inputs, const std::string& model) {
  std::vector<std::optional<Value>> values(inputs.size());
  auto index_of = [&](const std::string& name) -> std::optional<size_t> {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].name == name) return i;
    return std::nullopt;
  };
  auto next_free = [&]() -> std::optional<size_t> {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!values[i]) return i;
    return std::nullopt;
  };
  auto put = [&](size_t i, Value v, const std::string& source) -> Status {
    if (values[i]) return invalid_argument("input '", inputs[i].name, "' is given twice (again by '", source, "')");
    values[i] = std::move(v);
    return Status::ok();
  };
  auto too_many = [&](const std::string& source) {
    return invalid_argument("'", source, "' has no input left to feed: model '", model, "' takes ", inputs.size(),
                            " input(s): ", input_names(inputs));
  };

  if (!sources.data_dir.empty()) {
    TS_ASSIGN_OR_RETURN(std::vector<std::string> files, numbered_files(sources.data_dir, "input"));
    if (files.empty() && !inputs.empty()) return no_inputs_in(sources.data_dir);
    TS_ASSIGN_OR_RETURN(Feeds feeds, read_feeds(files, inputs));
    for (auto& [name, value] : feeds) TS_RETURN_IF_ERROR(put(*index_of(name), std::move(value), sources.data_dir));
  }

  // Named files first, so that the unnamed ones fill what is left in order.
  std::vector<std::string> unnamed;
  for (const auto& spec : sources.files) {
    auto [name, path] = split_spec(spec);
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".npz") {
      if (!name.empty()) return invalid_argument("--input ", spec, ": a .npz holds named arrays; give it without NAME=");
      TS_ASSIGN_OR_RETURN(auto arrays, read_npz_file(path));
      for (auto& [member, tensor] : arrays) {
        const std::string source = path + ":" + member;
        std::optional<size_t> i = index_of(member);
        if (!i) i = next_free();  // unnamed numpy arrays are arr_0, arr_1, ...: by position
        if (!i) return too_many(source);
        TS_ASSIGN_OR_RETURN(Value v, checked_array(std::move(tensor), inputs[*i], source));
        TS_RETURN_IF_ERROR(put(*i, std::move(v), source));
      }
      continue;
    }
    if (name.empty() && ext == ".npy" && index_of(fs::path(path).stem().string())) name = fs::path(path).stem().string();
    if (name.empty()) {
      unnamed.push_back(path);
      continue;
    }
    const size_t i = *index_of(name);
    TS_ASSIGN_OR_RETURN(NamedValue read, read_for_input(path, inputs[i], sources));
    TS_RETURN_IF_ERROR(put(i, std::move(read.value), path));
  }
  for (const auto& path : unnamed) {
    std::optional<size_t> i = next_free();
    if (!i) return too_many(path);
    TS_ASSIGN_OR_RETURN(NamedValue read, read_for_input(path, inputs[*i], sources));
    // A .pb that stores the name of another input still free goes there.
    if (auto named = index_of(read.name); named && !values[*named]) i = named;
    TS_RETURN_IF_ERROR(put(*i, std::move(read.value), path));
  }

  if (sources.fill) {
    TS_ASSIGN_OR_RETURN(auto dims, parse_dims(sources.dims, inputs, model));
    std::mt19937 rng(42);
    std::set<std::string> defaulted;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (values[i]) continue;
      TS_ASSIGN_OR_RETURN(Tensor t, synthetic_tensor(inputs[i], input_shape(inputs[i], dims, defaulted), *sources.fill, rng));
      values[i] = Value(std::move(t));
    }
    warn_defaulted_dims(defaulted);
  }
  Feeds feeds;
  std::string missing;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (values[i]) feeds.emplace_back(inputs[i].name, std::move(*values[i]));
    else missing += (missing.empty() ? "'" : ", '") + inputs[i].name + "'";
  }
  if (!missing.empty())
    return invalid_argument("no value for input(s) ", missing, " (give --data DIR, --input NAME=FILE, --random or --zeros)");
  return feeds;
}

}  // namespace tessera::cli
