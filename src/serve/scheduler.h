// One served model's queue and workers: requests wait in a bounded queue; `instance_count` worker
// threads run them on the model's one Session (Session::run is thread-safe). With dynamic batching,
// a worker that takes a request also takes the queued requests whose inputs match it in every dim
// but dim 0, up to max_batch_size rows or until the first has waited max_queue_delay_us (or a
// preferred batch size is reached), runs them as one batch concatenated along dim 0 and hands each
// request its rows of the outputs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "src/serve/model_config.h"
#include "tessera/session.h"

namespace tessera::serve {

struct JobOutcome {
  Result<std::vector<Value>> outputs = runtime_error("not run");
  double queue_seconds = 0;  // from submit to the start of its run
  int64_t batch_rows = 0;    // dim 0 of the batch it ran in (0: not batched)
};

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  // `on_batch` (may be empty) is told the rows of each batched run, from the worker threads.
  Scheduler(const Session& session, const ModelConfig& config, std::function<void(int64_t)> on_batch);
  // Runs what is queued, then joins the workers.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  enum class Admission { accepted, queue_full, stopped };
  struct Ticket {
    Admission admission = Admission::stopped;
    std::future<JobOutcome> outcome;  // valid when accepted
  };
  // Queues a run of `feeds` (one per model input); it fails with deadline_exceeded if it has not
  // finished by `deadline`.
  Ticket submit(Feeds feeds, Clock::time_point deadline);

  // True when requests are coalesced (config asks for it and every input and output has a free dim 0).
  bool batching() const { return batching_; }

 private:
  struct Job {
    Feeds feeds;
    std::string signature;  // inputs' dtypes and dims after dim 0: jobs with equal ones batch together
    int64_t rows = 0;       // dim 0 shared by every input; 0 when the job cannot be batched
    Clock::time_point enqueued;
    Clock::time_point deadline;
    std::promise<JobOutcome> done;
  };
  void worker();
  std::vector<std::unique_ptr<Job>> take_batch(std::unique_lock<std::mutex>& lock);
  void run_batch(std::vector<std::unique_ptr<Job>>& jobs);
  void run_alone(Job& job, Clock::time_point started);

  const Session& session_;
  ModelConfig config_;
  std::function<void(int64_t)> on_batch_;
  bool batching_ = false;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace tessera::serve
