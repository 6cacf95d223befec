#include "tools/io_files.h"

#include <algorithm>
#include <filesystem>

#include "model/value_io.h"

namespace fs = std::filesystem;

namespace tessera::cli {

TypeInfo type_for(const IoInfo& io) {
  TypeInfo t;
  switch (io.kind) {
    case IoInfo::Kind::tensor: t.kind = TypeInfo::Kind::tensor; break;
    case IoInfo::Kind::sequence: t.kind = TypeInfo::Kind::sequence; break;
    case IoInfo::Kind::map: t.kind = TypeInfo::Kind::map; break;
    case IoInfo::Kind::optional: t.kind = TypeInfo::Kind::optional; break;
    case IoInfo::Kind::unknown: t.kind = TypeInfo::Kind::unknown; break;
  }
  t.elem_type = io.dtype;
  return t;
}

Result<std::vector<std::string>> numbered_files(const std::string& dir, const std::string& prefix) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return io_error("data folder '", dir, "' does not exist or is not a folder");
  std::vector<std::pair<long, std::string>> found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix + "_", 0) != 0 || entry.path().extension() != ".pb") continue;
    std::string number = name.substr(prefix.size() + 1, name.size() - prefix.size() - 4);
    if (number.empty() || !std::all_of(number.begin(), number.end(), ::isdigit)) continue;
    found.emplace_back(std::stol(number), entry.path().string());
  }
  if (ec) return io_error("cannot list '", dir, "': ", ec.message());
  std::sort(found.begin(), found.end());
  std::vector<std::string> files;
  for (auto& [k, path] : found) files.push_back(path);
  return files;
}

Result<Feeds> read_feeds(const std::vector<std::string>& files, const std::vector<IoInfo>& inputs) {
  if (files.size() > inputs.size())
    return invalid_argument(files.size(), " input files given but the model takes ", inputs.size(), " inputs");
  Feeds feeds;
  for (size_t k = 0; k < files.size(); ++k) {
    // Parse with the type of the positional input; a stored name may then override the match.
    TS_ASSIGN_OR_RETURN(NamedValue named, read_value_file(files[k], type_for(inputs[k])));
    std::string name = inputs[k].name;
    for (const auto& in : inputs)
      if (!named.name.empty() && in.name == named.name) name = named.name;
    feeds.emplace_back(name, std::move(named.value));
  }
  return feeds;
}

}  // namespace tessera::cli
