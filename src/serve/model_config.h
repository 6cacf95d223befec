// The optional per-model config of a model repository (MODEL/config.json): batching, instances,
// queue bound. Every field has a default, so a model folder without a config serves one request
// at a time on one instance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/status.h"

namespace tessera::serve {

struct ModelConfig {
  // Largest dim 0 of a coalesced batch; 0 = the model is not batched (requests run as sent).
  int64_t max_batch_size = 0;
  // Dynamic batching is on when config.json has a "dynamic_batching" object and max_batch_size > 0.
  bool dynamic_batching = false;
  // How long the first request of a batch waits for others (microseconds).
  int64_t max_queue_delay_us = 0;
  // Batch sizes worth running at once without waiting for the delay to pass.
  std::vector<int64_t> preferred_batch_sizes;
  // Requests run at once on the model (threads over the one thread-safe Session).
  int instance_count = 1;
  // Requests waiting beyond those running; one more is refused with 503.
  int64_t max_queue_size = 64;
};

// Parses config.json text; errors name `where` (the file) and the field.
Result<ModelConfig> parse_model_config(const std::string& text, const std::string& where);
// Reads DIR/config.json when present, else the defaults.
Result<ModelConfig> load_model_config(const std::string& model_dir);

}  // namespace tessera::serve
