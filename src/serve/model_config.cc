#include "src/serve/model_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tessera::serve {
namespace {

using nlohmann::json;

Result<int64_t> read_int(const json& object, const char* key, int64_t min, int64_t fallback, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < min)
    return invalid_argument(where, ": \"", key, "\" must be an integer >= ", min, ", got ", it->dump());
  return it->get<int64_t>();
}

Status check_keys(const json& object, std::initializer_list<const char*> known, const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) return invalid_argument(where, ": unknown field \"", key, "\"");
  }
  return Status::ok();
}

}  // namespace

Result<ModelConfig> parse_model_config(const std::string& text, const std::string& where) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return invalid_argument(where, ": not a JSON object");
  TS_RETURN_IF_ERROR(
      check_keys(doc, {"name", "max_batch_size", "dynamic_batching", "instance_count", "max_queue_size"}, where));
  ModelConfig config;
  TS_ASSIGN_OR_RETURN(config.max_batch_size, read_int(doc, "max_batch_size", 0, 0, where));
  TS_ASSIGN_OR_RETURN(int64_t instances, read_int(doc, "instance_count", 1, 1, where));
  if (instances > 256) return invalid_argument(where, ": \"instance_count\" must be at most 256");
  config.instance_count = static_cast<int>(instances);
  TS_ASSIGN_OR_RETURN(config.max_queue_size, read_int(doc, "max_queue_size", 0, config.max_queue_size, where));
  auto batching = doc.find("dynamic_batching");
  if (batching != doc.end()) {
    if (!batching->is_object()) return invalid_argument(where, ": \"dynamic_batching\" must be an object");
    TS_RETURN_IF_ERROR(check_keys(*batching, {"max_queue_delay_us", "preferred_batch_size"}, where + " dynamic_batching"));
    config.dynamic_batching = config.max_batch_size > 0;
    TS_ASSIGN_OR_RETURN(config.max_queue_delay_us, read_int(*batching, "max_queue_delay_us", 0, 0, where));
    auto preferred = batching->find("preferred_batch_size");
    if (preferred != batching->end()) {
      if (!preferred->is_array()) return invalid_argument(where, ": \"preferred_batch_size\" must be an array of integers");
      for (const json& size : *preferred) {
        if (!size.is_number_integer() || size.get<int64_t>() < 1 || size.get<int64_t>() > config.max_batch_size)
          return invalid_argument(where, ": preferred batch size ", size.dump(), " is not in 1..max_batch_size (",
                                  config.max_batch_size, ")");
        config.preferred_batch_sizes.push_back(size.get<int64_t>());
      }
    }
  }
  return config;
}

Result<ModelConfig> load_model_config(const std::string& model_dir) {
  std::filesystem::path path = std::filesystem::path(model_dir) / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return ModelConfig{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read ", path.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_model_config(text.str(), path.string());
}

}  // namespace tessera::serve
