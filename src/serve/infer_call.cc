#include "src/serve/infer_call.h"

namespace tessera::serve {
namespace {

InferFailure failure_of(StatusCode code) {
  switch (code) {
    case StatusCode::invalid_argument: return InferFailure::bad_request;
    case StatusCode::deadline_exceeded: return InferFailure::deadline_exceeded;
    case StatusCode::cancelled: return InferFailure::shutting_down;
    default: return InferFailure::internal;
  }
}

}  // namespace

InferOutcome run_infer(const ServedModel& model, Feeds feeds, std::chrono::steady_clock::time_point deadline,
                       Metrics& metrics) {
  auto ticket = model.scheduler->submit(std::move(feeds), deadline);
  if (ticket.admission == Scheduler::Admission::queue_full)
    return {InferFailure::queue_full,
            "the queue is full (" + std::to_string(model.config.max_queue_size) +
                " requests waiting; max_queue_size in config.json): retry later",
            {}};
  if (ticket.admission == Scheduler::Admission::stopped)
    return {InferFailure::shutting_down, "the model is shutting down", {}};
  JobOutcome outcome = ticket.outcome.get();
  metrics.record_queue(model.name, model.version, outcome.queue_seconds);
  if (!outcome.outputs.is_ok())
    return {failure_of(outcome.outputs.status().code()), outcome.outputs.status().message(), {}};
  return {InferFailure::none, "", std::move(outcome.outputs).value()};
}

}  // namespace tessera::serve
