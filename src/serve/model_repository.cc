#include "src/serve/model_repository.h"

#include <filesystem>

namespace tessera::serve {
namespace fs = std::filesystem;
namespace {

bool is_version_name(const std::string& s) {
  if (s.empty() || s.size() > 18 || s[0] == '0') return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

ModelRepository::ModelRepository(std::string root, SessionOptions options, Metrics& metrics)
    : root_(std::move(root)), options_(std::move(options)), metrics_(metrics) {}

bool ModelRepository::has_model_folder(const std::string& name) const {
  // A name is one path component: never "..", never a path out of the repository.
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos)
    return false;
  std::error_code ec;
  return fs::is_directory(fs::path(root_) / name, ec);
}

Result<std::shared_ptr<const ServedModel>> ModelRepository::load_version(const std::string& name,
                                                                         const std::string& version,
                                                                         const ModelConfig& config) const {
  std::string path = (fs::path(root_) / name / version / "model.onnx").string();
  auto session = Session::load(path, options_);
  if (!session.is_ok()) return session.status().with_context(str_cat("model '", name, "' version ", version));
  auto model = std::make_shared<ServedModel>(name, version, config, std::move(session).value());
  Metrics& metrics = metrics_;
  model->scheduler = std::make_unique<Scheduler>(
      model->session, config, [&metrics, name, version](int64_t rows) { metrics.record_batch(name, version, rows); });
  return std::shared_ptr<const ServedModel>(std::move(model));
}

Status ModelRepository::load(const std::string& name) {
  if (!has_model_folder(name)) return invalid_argument("no model '", name, "' in the repository ", root_);
  auto fail = [&](Status status) {
    std::lock_guard<std::mutex> lock(mutex_);
    models_[name].error = status.message();
    return status;
  };
  auto config = load_model_config((fs::path(root_) / name).string());
  if (!config.is_ok()) return fail(config.status());
  std::map<int64_t, std::shared_ptr<const ServedModel>> versions;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(fs::path(root_) / name, ec)) {
    std::string version = item.path().filename().string();
    if (!item.is_directory() || !is_version_name(version)) continue;
    auto model = load_version(name, version, *config);
    if (!model.is_ok()) return fail(model.status());
    versions[std::stoll(version)] = std::move(model).value();
  }
  if (ec) return fail(io_error("cannot list ", (fs::path(root_) / name).string(), ": ", ec.message()));
  if (versions.empty())
    return fail(invalid_argument("model '", name, "' has no version folder (", root_, "/", name, "/1/model.onnx)"));
  std::map<int64_t, std::shared_ptr<const ServedModel>> old;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& entry = models_[name];
    old.swap(entry.versions);
    entry.versions = std::move(versions);
    entry.error.clear();
  }
  return Status::ok();  // `old` goes here, outside the lock, once its requests are done
}

Status ModelRepository::load_all() {
  std::error_code ec;
  std::string failures;
  for (const auto& item : fs::directory_iterator(root_, ec)) {
    if (!item.is_directory()) continue;
    Status status = load(item.path().filename().string());
    if (!status.is_ok()) failures += (failures.empty() ? "" : "; ") + status.message();
  }
  if (ec) return io_error("cannot list the model repository ", root_, ": ", ec.message());
  if (!failures.empty()) return invalid_argument(failures);
  return Status::ok();
}

Status ModelRepository::unload(const std::string& name) {
  std::map<int64_t, std::shared_ptr<const ServedModel>> old;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = models_.find(name);
    if (it == models_.end() || it->second.versions.empty()) return invalid_argument("model '", name, "' is not loaded");
    old.swap(it->second.versions);
  }
  return Status::ok();
}

void ModelRepository::unload_all() {
  std::map<std::string, Entry> old;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    old.swap(models_);
  }
}

Result<std::shared_ptr<const ServedModel>> ModelRepository::find(const std::string& name,
                                                                 const std::string& version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = models_.find(name);
  if (it == models_.end() || it->second.versions.empty()) return invalid_argument("model '", name, "' is not loaded");
  const auto& versions = it->second.versions;
  if (version.empty()) return versions.rbegin()->second;
  if (is_version_name(version)) {
    auto v = versions.find(std::stoll(version));
    if (v != versions.end()) return v->second;
  }
  return invalid_argument("model '", name, "' has no version '", version, "' loaded");
}

bool ModelRepository::has_failed_model() const {
  for (const IndexEntry& e : index())
    if (e.state != "READY" && e.reason != "not loaded") return true;
  return false;
}

std::vector<IndexEntry> ModelRepository::index() const {
  std::vector<IndexEntry> entries;
  std::error_code ec;
  std::map<std::string, bool> folders;
  for (const auto& item : fs::directory_iterator(root_, ec))
    if (item.is_directory()) folders[item.path().filename().string()] = true;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, unused] : folders) {
    auto it = models_.find(name);
    if (it == models_.end() || it->second.versions.empty()) {
      const bool failed = it != models_.end() && !it->second.error.empty();
      entries.push_back({name, "", "UNAVAILABLE", failed ? it->second.error : "not loaded"});
      continue;
    }
    for (const auto& [number, model] : it->second.versions) entries.push_back({name, model->version, "READY", ""});
  }
  return entries;
}

}  // namespace tessera::serve
