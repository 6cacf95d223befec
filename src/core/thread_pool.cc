#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>

namespace tessera {

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

// Spins until `ready()` or kSpinTime passes; true when ready.
template <class Ready>
bool spin_until(Ready ready) {
  auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

}  // namespace

void ThreadPool::worker_loop() {
  for (;;) {
    spin_until([this] { return queued_.load(std::memory_order_acquire) > 0; });
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (tasks_.empty() && !stopping_) {
        ++sleeping_;
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        --sleeping_;
      }
      if (stopping_ && tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      queued_.fetch_sub(1, std::memory_order_relaxed);
    }
    task();
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(1, min_chunk);
  int64_t chunks = std::min<int64_t>(size(), (n + min_chunk - 1) / min_chunk);
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  // Chunks are claimed through a shared counter, so the caller makes progress even when every
  // worker is busy with another run's work. A chunk that throws stops the others from starting
  // new chunks; the first exception is rethrown in the caller once every chunk has finished, so
  // no worker is left holding a reference to `fn`.
  struct Shared {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    std::mutex mutex;
    std::condition_variable cv;
    std::exception_ptr error;  // guarded by mutex
  };
  auto shared = std::make_shared<Shared>();
  int64_t chunk_size = (n + chunks - 1) / chunks;
  auto run_chunks = [shared, chunks, chunk_size, n, &fn] {
    for (int64_t c; (c = shared->next.fetch_add(1)) < chunks;) {
      int64_t begin = c * chunk_size;
      int64_t end = std::min(n, begin + chunk_size);
      try {
        if (begin < end) fn(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(shared->mutex);
        if (!shared->error) shared->error = std::current_exception();
        // Claim the chunks nobody started; they count as done without running.
        int64_t unclaimed = std::max<int64_t>(0, chunks - shared->next.exchange(chunks));
        shared->done.fetch_add(unclaimed);
      }
      if (shared->done.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(shared->mutex);
        shared->cv.notify_all();
      }
    }
  };
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t i = 1; i < chunks; ++i) tasks_.push_back(run_chunks);
    queued_.fetch_add(static_cast<int>(chunks - 1), std::memory_order_release);
    wake = sleeping_ > 0;
  }
  if (wake) cv_.notify_all();
  run_chunks();
  if (!spin_until([&] { return shared->done.load() == chunks; })) {
    std::unique_lock<std::mutex> lock(shared->mutex);
    shared->cv.wait(lock, [&] { return shared->done.load() == chunks; });
  }
  std::lock_guard<std::mutex> lock(shared->mutex);
  if (shared->error) std::rethrow_exception(shared->error);
}

}  // namespace tessera
