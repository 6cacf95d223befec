// A fixed pool of worker threads for intra-op parallelism. parallel_for splits [0, n) into
// chunks; the calling thread works too, so a pool of size 1 runs everything inline. Many
// session runs may call parallel_for at the same time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/function_ref.h"

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
  // worth handing to another thread (elements of work, roughly); below two such ranges no
  // worker is woken. When a call of fn throws, no new ranges start and the first exception is
  // rethrown here after every started range ends. `fn` is a FunctionRef: a lambda passed here
  // is not copied (a std::function would allocate one for a large capture on every call).
  void parallel_for(int64_t n, int64_t min_chunk, FunctionRef<void(int64_t, int64_t)> fn);

  // Held for the length of a session run: the workers keep spinning between the run's ops
  // instead of sleeping, so each op's parallel part starts on every thread at once. A sleeping
  // worker woken for an op often came too late (the scheduler may wake it on the caller's own
  // core), and the caller ran every chunk itself. Workers sleep again shortly after the last run
  // ends, so an idle session costs no CPU.
  class RunScope {
   public:
    explicit RunScope(ThreadPool& pool) : pool_(pool) { pool_.active_runs_.fetch_add(1, std::memory_order_acq_rel); }
    ~RunScope() { pool_.active_runs_.fetch_sub(1, std::memory_order_acq_rel); }
    RunScope(const RunScope&) = delete;
    RunScope& operator=(const RunScope&) = delete;

   private:
    ThreadPool& pool_;
  };

  struct Job;

 private:
  void worker_loop();

  std::vector<std::thread> workers_;
  // Jobs wanting help, one entry per helper wanted. A job lives on its caller's stack; the caller
  // removes its entries that no worker took before it returns.
  std::vector<Job*> queue_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  // Workers spin briefly on this count before sleeping: a model runs hundreds of small ops in a
  // row, and waking a sleeping thread costs more than many of them take. After that they sleep
  // on cv_, so an idle pool costs no CPU.
  std::atomic<int> queued_{0};
  std::atomic<int> active_runs_{0};  // RunScopes alive: workers do not sleep while positive
  int sleeping_ = 0;  // workers blocked on cv_ (guarded by mutex_)
};

}  // namespace tessera
