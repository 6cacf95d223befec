// A fixed pool of worker threads for intra-op parallelism. parallel_for splits [0, n) into
// chunks; the calling thread works too, so a pool of size 1 runs everything inline. Many
// session runs may call parallel_for at the same time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera {

class ThreadPool {
 public:
  // `threads` counts the caller: 1 means no workers. 0 picks the number of hardware threads.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over disjoint ranges covering [0, n). `min_chunk` is the smallest range
  // worth handing to another thread (elements of work, roughly). When a call of fn throws, no
  // new ranges start and the first exception is rethrown here after every started range ends.
  void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop();

  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> tasks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  // Workers spin briefly on this count before sleeping: a model runs hundreds of small ops in a
  // row, and waking a sleeping thread costs more than many of them take.
  std::atomic<int> queued_{0};
  int sleeping_ = 0;  // workers blocked on cv_ (guarded by mutex_)
};

}  // namespace tessera
