// The model repository: ROOT/MODEL/VERSION/model.onnx (VERSION a positive integer) with an
// optional ROOT/MODEL/config.json (model_config.h). A loaded model has a Session and a Scheduler
// per version; a request names a version or gets the highest. Load and unload swap whole models
// under a lock, and requests hold their model by shared_ptr, so those in flight finish on the
// model they started on.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/serve/metrics.h"
#include "src/serve/model_config.h"
#include "src/serve/scheduler.h"
#include "tessera/session.h"

namespace tessera::serve {

struct ServedModel {
  ServedModel(std::string name_, std::string version_, ModelConfig config_, Session session_)
      : name(std::move(name_)), version(std::move(version_)), config(std::move(config_)), session(std::move(session_)) {}
  std::string name;
  std::string version;
  ModelConfig config;
  Session session;
  std::unique_ptr<Scheduler> scheduler;  // after `session`: destroyed first, draining its queue
};

struct IndexEntry {
  std::string name;
  std::string version;  // empty for a model that is not loaded
  std::string state;    // "READY" or "UNAVAILABLE"
  std::string reason;   // why it is unavailable
};

class ModelRepository {
 public:
  ModelRepository(std::string root, SessionOptions options, Metrics& metrics);

  // Loads every model folder of the root; the error lists the models that failed (each stays
  // UNAVAILABLE with its reason in the index).
  Status load_all();
  // Loads (or reloads) every version of one model. invalid_argument for a name that is not a model
  // folder of the repository; other errors say which file failed and why.
  Status load(const std::string& name);
  // invalid_argument when the model is not loaded.
  Status unload(const std::string& name);
  // The loaded model (version "" = the highest); invalid_argument naming what is missing.
  Result<std::shared_ptr<const ServedModel>> find(const std::string& name, const std::string& version) const;
  // Every model folder of the root and every loaded version.
  std::vector<IndexEntry> index() const;
  // True when the model folder `name` exists in the repository.
  bool has_model_folder(const std::string& name) const;
  // True when a model folder of the repository failed its last load (the server is not ready).
  bool has_failed_model() const;
  // Unloads everything (queued requests finish first).
  void unload_all();

 private:
  struct Entry {
    std::map<int64_t, std::shared_ptr<const ServedModel>> versions;
    std::string error;  // the last load's failure
  };
  Result<std::shared_ptr<const ServedModel>> load_version(const std::string& name, const std::string& version,
                                                          const ModelConfig& config) const;

  std::string root_;
  SessionOptions options_;
  Metrics& metrics_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> models_;
};

}  // namespace tessera::serve
