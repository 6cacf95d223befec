// The parallel run of a main graph (ExecutionMode::parallel): a dependency-count scheduler over the
// executor's steps. Each step waits for the distinct steps writing what it reads
// (ParallelPlan::waits_for); once they have all finished it is ready, and whichever inter-op thread
// is free takes the ready step earliest in topological order (so the run stays close to the
// sequential order, which the memory plan and the buffer pool were tuned on). A thread that
// finishes a step goes on with the next ready one itself, and wakes waiting threads only when it
// made more than one ready.
//
// Memory: a slot is released when its last reader finishes (ParallelPlan::readers counted down
// under the schedule's lock), so no buffer goes back to the pool, to be handed to another step,
// while a step still reads it. Kernels still split their work on the session's intra-op pool:
// several inter-op threads calling its parallel_for at once is the same as several runs doing so
// (each caller works through its own job, so none waits on another's).
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "framework/executor.h"
#include "framework/memory_plan.h"
#include "framework/run_control.h"

namespace tessera {

namespace {

// Passes a StepObserver's calls on one at a time: observers need not be thread-safe.
class SerializedObserver final : public StepObserver {
 public:
  explicit SerializedObserver(StepObserver& inner) : inner_(inner) {}
  void before_step(const Node& node) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inner_.before_step(node);
  }
  void after_step(const Node& node, const std::string& provider, const std::vector<const Value*>& inputs,
                  const std::vector<const Value*>& outputs) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inner_.after_step(node, provider, inputs, outputs);
  }

 private:
  StepObserver& inner_;
  std::mutex mutex_;
};

// The state one parallel run shares between its threads; every member is guarded by `mutex`.
// Nothing here allocates once the run has started, so the bookkeeping after a step cannot fail.
struct Schedule {
  std::mutex mutex;
  std::condition_variable wake;  // a step became ready, or the run is over
  std::vector<int> waits_for;    // per step: producers not finished yet
  std::vector<int> readers;      // per slot: readers not finished yet
  std::vector<int> ready;        // a min-heap of step indices (reserved for every step)
  size_t finished = 0;
  int running = 0;
  int waiting = 0;               // threads blocked on `wake`
  int failed_step = -1;          // the earliest failed step, -1 while none has
  Status error;                  // its status

  bool over(size_t steps) const { return failed_step >= 0 || finished == steps; }
  void push_ready(int step) {
    ready.push_back(step);
    std::push_heap(ready.begin(), ready.end(), std::greater<int>());
  }
  int pop_ready() {
    std::pop_heap(ready.begin(), ready.end(), std::greater<int>());
    const int step = ready.back();
    ready.pop_back();
    return step;
  }
};

}  // namespace

Result<std::vector<Value>> GraphExecutor::run_parallel(std::vector<Value>& frame, ThreadPool& pool, ThreadPool& inter_op,
                                                       BufferPool& buffers, StepObserver* observer,
                                                       const RunControl* control,
                                                       const std::shared_ptr<ArenaBudget>& budget) const {
  const ParallelPlan& plan = *parallel_;
  const size_t steps = steps_.size();
  std::optional<SerializedObserver> serialized;
  if (observer) observer = &serialized.emplace(*observer);
  Schedule schedule;
  schedule.waits_for = plan.waits_for;
  schedule.readers = plan.readers;
  schedule.ready.reserve(steps);
  for (size_t s = 0; s < steps; ++s)
    if (plan.waits_for[s] == 0) schedule.push_ready(static_cast<int>(s));

  // Run by each inter-op thread (the caller's first): takes ready steps until the run is over.
  // One that joins late finds nothing to do and returns.
  auto work = [&](int64_t, int64_t) {
    std::unique_lock<std::mutex> lock(schedule.mutex);
    while (!schedule.over(steps)) {
      if (schedule.ready.empty()) {
        if (schedule.running == 0) {  // steps left, none ready, none running: a cycle; never hang on it
          schedule.failed_step = static_cast<int>(steps);
          schedule.error = runtime_error("graph '", graph_.name, "': ", steps - schedule.finished,
                                         " steps wait for each other");
          break;
        }
        ++schedule.waiting;
        schedule.wake.wait(lock);
        --schedule.waiting;
        continue;
      }
      const int index = schedule.pop_ready();
      const Step& step = steps_[static_cast<size_t>(index)];
      ++schedule.running;
      lock.unlock();
      Status status;
      try {  // kernels' exceptions are errors already; this catches the rest (an allocation), which
             // must not leave this step counted as running
        status = control && control->stop_requested()
                     ? control->stopped("before " + step.node->describe())
                     : compute_step(step, frame, pool, buffers, observer, control, budget);
      } catch (const std::exception& e) {
        status = runtime_error("running a step: ", e.what());
      }
      lock.lock();
      --schedule.running;
      if (!status.is_ok()) {
        if (schedule.failed_step < 0 || index < schedule.failed_step) {
          schedule.failed_step = index;
          schedule.error = std::move(status);
        }
        if (schedule.waiting) schedule.wake.notify_all();
        continue;
      }
      ++schedule.finished;
      for (int slot : plan.counted_reads[static_cast<size_t>(index)])
        if (--schedule.readers[static_cast<size_t>(slot)] == 0) frame[static_cast<size_t>(slot)] = Value();
      for (int slot : plan.unread_writes[static_cast<size_t>(index)]) frame[static_cast<size_t>(slot)] = Value();
      size_t made_ready = 0;
      for (int next : plan.unblocks[static_cast<size_t>(index)])
        if (--schedule.waits_for[static_cast<size_t>(next)] == 0) {
          schedule.push_ready(next);
          ++made_ready;
        }
      // This thread takes the next ready step itself; the others go to threads waiting for work.
      if (schedule.waiting && (made_ready > 1 || schedule.over(steps))) schedule.wake.notify_all();
    }
    if (schedule.waiting) schedule.wake.notify_all();  // the run is over: let them see it
  };
  // One piece per inter-op thread; the caller takes the first and works until the run is over.
  inter_op.parallel_for(inter_op.size(), 1, work);
  // Every step that started has finished (each ran inside `work`), so nothing reads the frame now.
  if (schedule.failed_step >= 0) return std::move(schedule.error);
  return take_outputs(frame);
}

}  // namespace tessera
