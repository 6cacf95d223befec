// One infer request's run on a served model, below the transport: the HTTP and gRPC front ends
// decode their request into feeds, call run_infer, and map its failure kind onto their own status
// codes (docs/serving.md has both tables). Queue admission, the deadline and the queue-time metric
// live here, so both protocols share them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "src/serve/metrics.h"
#include "src/serve/model_repository.h"
#include "tessera/session.h"

namespace tessera::serve {

enum class InferFailure {
  none,
  bad_request,        // the run refused the feeds (HTTP 400, gRPC INVALID_ARGUMENT)
  queue_full,         // max_queue_size requests already wait (503, UNAVAILABLE)
  shutting_down,      // the model is being unloaded or the server stops (503, UNAVAILABLE)
  deadline_exceeded,  // not answered by the deadline (504, DEADLINE_EXCEEDED)
  internal,           // the run failed (500, INTERNAL)
};

struct InferOutcome {
  InferFailure failure = InferFailure::none;
  std::string message;         // what went wrong, for a failure
  std::vector<Value> outputs;  // the model's outputs in graph order, on success
};

// Queues `feeds` on the model's scheduler and waits for the run; records its queue time.
InferOutcome run_infer(const ServedModel& model, Feeds feeds, std::chrono::steady_clock::time_point deadline,
                       Metrics& metrics);

}  // namespace tessera::serve
