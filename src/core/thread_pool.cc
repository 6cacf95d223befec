#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "core/deterministic.h"

namespace tessera {

// One parallel_for call, on its caller's stack. Chunks are claimed one at a time, so the caller
// makes progress even when every worker is busy with another run's work, and a late worker
// leaves its share to whoever is free. The caller claims from the front and the workers from the
// back: with equal speeds each thread runs one contiguous range of tasks, which the kernels'
// task orders count on (consecutive tasks share weights or input rows), and the caller takes
// the same first part of every node (the part of the previous node's output it wrote itself).
struct ThreadPool::Job {
  const FunctionRef<void(int64_t, int64_t)>* fn;
  int64_t n, chunks;
  // The unclaimed chunks [front, back) as front << 32 | back (chunks < 2^31).
  std::atomic<uint64_t> unclaimed{0};
  std::atomic<int64_t> done{0};
  // Workers that took this job from the queue and have not let go of it yet; the caller returns
  // only once it is 0, so no worker touches the job after its frame is gone.
  std::atomic<int> users{0};
  std::mutex mutex;
  std::condition_variable cv;
  std::exception_ptr error;  // guarded by mutex
  bool deterministic = false;  // the caller's deterministic_mode(), which its chunks run in

  void start(int64_t total, int64_t count) {
    n = total;
    chunks = count;
    unclaimed.store(static_cast<uint64_t>(count), std::memory_order_relaxed);
  }

  // The next chunk from the front (or the back), or -1 when none is left.
  int64_t claim(bool from_back) {
    uint64_t v = unclaimed.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t front = v >> 32, back = v & 0xffffffffu;
      if (front >= back) return -1;
      const uint64_t next = from_back ? (front << 32 | (back - 1)) : ((front + 1) << 32 | back);
      if (unclaimed.compare_exchange_weak(v, next, std::memory_order_relaxed))
        return static_cast<int64_t>(from_back ? back - 1 : front);
    }
  }

  // Runs chunks until none is left. A chunk that throws stops the others from starting (they
  // count as done without running); the first exception is kept for the caller.
  void run_chunks(bool from_back) {
    for (int64_t c; (c = claim(from_back)) >= 0;) {
      // Even split: chunk sizes differ by at most one element, so no thread is left with a
      // double-sized last chunk (10 tasks as 5 chunks of 2 went 3:2 over 2 threads).
      const int64_t begin = c * n / chunks, end = (c + 1) * n / chunks;
      try {
        if (begin < end) (*fn)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        const uint64_t left = unclaimed.exchange(0);
        done.fetch_add(std::max<int64_t>(0, static_cast<int64_t>(left & 0xffffffffu) - static_cast<int64_t>(left >> 32)),
                       std::memory_order_acq_rel);
      }
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(mutex);
        cv.notify_all();
      }
    }
  }
};

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

namespace {

constexpr auto kSpinTime = std::chrono::microseconds(50);
// Chunks per thread, at most: several, so that a thread that starts late (woken, or busy with
// another run) hands its share to the others instead of making them wait, and a node of a few
// equal tasks (a 1x1 on a 7x7 plane: 10 groups of output blocks) splits them one by one.
constexpr int64_t kChunksPerThread = 8;

// Pauses between yields of a worker spinning through a run (some microseconds).
constexpr int kPausesPerYield = 1024;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until `ready()` or kSpinTime passes; true when ready.
template <class Ready>
bool spin_until(Ready ready) {
  auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return false;
    cpu_relax();
  }
}

}  // namespace

void ThreadPool::worker_loop() {
  for (;;) {
    // During a run: spin until work comes, yielding the core now and then to whatever else
    // wants it. Between runs: spin briefly, then sleep.
    for (int i = 1; active_runs_.load(std::memory_order_acquire) > 0 && queued_.load(std::memory_order_acquire) == 0; ++i) {
      cpu_relax();
      if (i % kPausesPerYield == 0) std::this_thread::yield();
    }
    spin_until([this] { return queued_.load(std::memory_order_acquire) > 0; });
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (queue_.empty() && !stopping_) {
        ++sleeping_;
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        --sleeping_;
      }
      if (stopping_ && queue_.empty()) return;
      job = queue_.front();
      queue_.erase(queue_.begin());
      queued_.fetch_sub(1, std::memory_order_relaxed);
      job->users.fetch_add(1, std::memory_order_relaxed);  // under mutex_: the caller cannot withdraw it now
    }
    {
      DeterministicMode mode(job->deterministic);
      job->run_chunks(/*from_back=*/true);
    }
    job->users.fetch_sub(1, std::memory_order_release);  // the last touch of the job
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t min_chunk, FunctionRef<void(int64_t, int64_t)> fn) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(1, min_chunk);
  const int64_t pieces = (n + min_chunk - 1) / min_chunk;
  const int64_t helpers = std::min<int64_t>(size() - 1, pieces - 1);
  if (helpers <= 0) {
    fn(0, n);
    return;
  }
  Job job;
  job.fn = &fn;
  job.deterministic = deterministic_mode();
  job.start(n, std::min<int64_t>(pieces, kChunksPerThread * (helpers + 1)));
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t i = 0; i < helpers; ++i) queue_.push_back(&job);
    queued_.fetch_add(static_cast<int>(helpers), std::memory_order_release);
    wake = sleeping_ > 0;
  }
  if (wake) cv_.notify_all();
  job.run_chunks(/*from_back=*/false);
  if (!spin_until([&] { return job.done.load(std::memory_order_acquire) == job.chunks; })) {
    std::unique_lock<std::mutex> lock(job.mutex);
    job.cv.wait(lock, [&] { return job.done.load(std::memory_order_acquire) == job.chunks; });
  }
  {
    // Entries no worker took are withdrawn; after this no worker can start using the job.
    std::lock_guard<std::mutex> lock(mutex_);
    const auto before = queue_.size();
    queue_.erase(std::remove(queue_.begin(), queue_.end(), &job), queue_.end());
    queued_.fetch_sub(static_cast<int>(before - queue_.size()), std::memory_order_relaxed);
  }
  while (job.users.load(std::memory_order_acquire) != 0) cpu_relax();
  std::lock_guard<std::mutex> lock(job.mutex);
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace tessera
