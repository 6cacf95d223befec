#include "src/serve/scheduler.h"

#include <algorithm>
#include <cstring>

namespace tessera::serve {
namespace {

bool free_dim0(const IoInfo& io) {
  return io.kind == IoInfo::Kind::tensor && io.has_shape && !io.shape.empty() && io.shape[0] < 0 &&
         io.dtype != DataType::string;
}

// Rows and batching signature of a request: every input must have the same dim 0.
void describe(const Feeds& feeds, int64_t& rows, std::string& signature) {
  rows = 0;
  for (const auto& [name, value] : feeds) {
    const Tensor& t = value.tensor();
    if (!value.is_tensor() || t.rank() == 0 || (rows != 0 && t.dim(0) != rows) || t.dim(0) == 0) {
      rows = 0;
      return;
    }
    rows = t.dim(0);
    signature += std::to_string(static_cast<int>(t.dtype()));
    for (size_t d = 1; d < t.rank(); ++d) signature += "," + std::to_string(t.dim(d));
    signature += ";";
  }
}

// Rows [begin, begin + rows) of `whole` as a tensor sharing its buffer.
Tensor rows_of(const std::shared_ptr<const Tensor>& whole, int64_t begin, int64_t rows) {
  Shape shape = whole->shape();
  size_t row_bytes = whole->byte_size() / static_cast<size_t>(shape[0]);
  shape[0] = rows;
  const char* data = static_cast<const char*>(whole->raw_data()) + static_cast<size_t>(begin) * row_bytes;
  return Tensor::view(whole->dtype(), std::move(shape), whole, data);
}

}  // namespace

Scheduler::Scheduler(const Session& session, const ModelConfig& config, std::function<void(int64_t)> on_batch)
    : session_(session), config_(config), on_batch_(std::move(on_batch)) {
  batching_ = config.dynamic_batching && config.max_batch_size > 1 && !session.inputs().empty() &&
              std::all_of(session.inputs().begin(), session.inputs().end(), free_dim0) &&
              std::all_of(session.outputs().begin(), session.outputs().end(), free_dim0);
  for (int i = 0; i < std::max(1, config.instance_count); ++i) workers_.emplace_back([this] { worker(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

Scheduler::Ticket Scheduler::submit(Feeds feeds, Clock::time_point deadline) {
  auto job = std::make_unique<Job>();
  job->feeds = std::move(feeds);
  if (batching_) describe(job->feeds, job->rows, job->signature);
  if (job->rows > config_.max_batch_size) job->rows = 0;  // too big to share a batch: runs alone
  job->enqueued = Clock::now();
  job->deadline = deadline;
  Ticket ticket;
  ticket.outcome = job->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return {Admission::stopped, {}};
    if (static_cast<int64_t>(queue_.size()) >= config_.max_queue_size) return {Admission::queue_full, {}};
    queue_.push_back(std::move(job));
  }
  // All workers: one gathering a batch must see the new job, and an idle one may take it.
  wake_.notify_all();
  ticket.admission = Admission::accepted;
  return ticket;
}

std::vector<std::unique_ptr<Scheduler::Job>> Scheduler::take_batch(std::unique_lock<std::mutex>& lock) {
  std::vector<std::unique_ptr<Job>> batch;
  batch.push_back(std::move(queue_.front()));
  queue_.pop_front();
  if (batch[0]->rows == 0) return batch;
  int64_t rows = batch[0]->rows;
  const auto until = batch[0]->enqueued + std::chrono::microseconds(config_.max_queue_delay_us);
  const auto& preferred = config_.preferred_batch_sizes;
  while (true) {
    for (auto it = queue_.begin(); it != queue_.end() && rows < config_.max_batch_size;) {
      Job& job = **it;
      if (job.rows > 0 && job.signature == batch[0]->signature && rows + job.rows <= config_.max_batch_size) {
        rows += job.rows;
        batch.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    bool full = rows >= config_.max_batch_size || std::find(preferred.begin(), preferred.end(), rows) != preferred.end();
    if (full || stopping_ || Clock::now() >= until) return batch;
    wake_.wait_until(lock, until);
  }
}

void Scheduler::worker() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has run
    auto batch = take_batch(lock);
    lock.unlock();
    run_batch(batch);
    lock.lock();
  }
}

void Scheduler::run_alone(Job& job, Clock::time_point started) {
  JobOutcome outcome;
  outcome.queue_seconds = std::chrono::duration<double>(started - job.enqueued).count();
  RunOptions options;
  options.deadline = job.deadline;
  outcome.outputs = session_.run(job.feeds, {}, options);
  job.done.set_value(std::move(outcome));
}

void Scheduler::run_batch(std::vector<std::unique_ptr<Job>>& jobs) {
  const auto started = Clock::now();
  // Jobs whose time ran out while queued are answered without running.
  std::vector<std::unique_ptr<Job>> live;
  for (auto& job : jobs) {
    if (started >= job->deadline) {
      JobOutcome outcome;
      outcome.queue_seconds = std::chrono::duration<double>(started - job->enqueued).count();
      outcome.outputs = Status(StatusCode::deadline_exceeded, "the request timed out waiting in the queue");
      job->done.set_value(std::move(outcome));
    } else {
      live.push_back(std::move(job));
    }
  }
  if (live.empty()) return;
  if (live.size() == 1) {
    if (on_batch_ && live[0]->rows > 0) on_batch_(live[0]->rows);
    run_alone(*live[0], started);
    return;
  }

  // Concatenate each input along dim 0, in job order.
  int64_t rows = 0;
  auto deadline = Clock::time_point::max();
  for (const auto& job : live) {
    rows += job->rows;
    deadline = std::min(deadline, job->deadline);
  }
  Feeds batch_feeds;
  Status status;
  for (size_t k = 0; k < live[0]->feeds.size() && status.is_ok(); ++k) {
    Shape shape = live[0]->feeds[k].second.tensor().shape();
    shape[0] = rows;
    auto whole = Tensor::create(live[0]->feeds[k].second.tensor().dtype(), shape);
    if (!whole.is_ok()) {
      status = whole.status();
      break;
    }
    char* out = static_cast<char*>(whole->raw_data());
    for (const auto& job : live) {
      const Tensor& part = job->feeds[k].second.tensor();
      if (part.byte_size()) std::memcpy(out, part.raw_data(), part.byte_size());
      out += part.byte_size();
    }
    batch_feeds.emplace_back(live[0]->feeds[k].first, std::move(whole).value());
  }
  RunOptions options;
  options.deadline = deadline;
  Result<std::vector<Value>> result = status.is_ok() ? session_.run(batch_feeds, {}, options) : Result<std::vector<Value>>(status);
  // Outputs whose dim 0 is not the batch's cannot be split back: run each request on its own.
  bool splittable = result.is_ok();
  for (size_t i = 0; splittable && i < result->size(); ++i) {
    const Value& v = (*result)[i];
    splittable = v.is_tensor() && v.tensor().rank() > 0 && v.tensor().dim(0) == rows;
  }
  if (!splittable && (result.is_ok() || result.status().code() == StatusCode::invalid_argument)) {
    for (auto& job : live) run_alone(*job, started);
    return;
  }
  if (on_batch_) on_batch_(rows);
  std::vector<std::shared_ptr<const Tensor>> wholes;
  if (result.is_ok())
    for (Value& v : *result) wholes.push_back(std::make_shared<const Tensor>(std::move(v.tensor())));
  int64_t begin = 0;
  for (auto& job : live) {
    JobOutcome outcome;
    outcome.queue_seconds = std::chrono::duration<double>(started - job->enqueued).count();
    outcome.batch_rows = rows;
    if (result.is_ok()) {
      std::vector<Value> mine;
      for (const auto& whole : wholes) mine.emplace_back(rows_of(whole, begin, job->rows));
      outcome.outputs = std::move(mine);
    } else {
      outcome.outputs = result.status();
    }
    begin += job->rows;
    job->done.set_value(std::move(outcome));
  }
}

}  // namespace tessera::serve
