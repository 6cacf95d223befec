// Deterministic mode (SessionOptions::deterministic): while a deterministic session runs, kernels
// whose way of splitting work could change a result (GEMM's single-row/column shortcuts, a
// reduction split by the thread count) take the path that gives every output the same sum in the
// same order whatever the thread count or the row's place in the batch. The mode is the running
// thread's: the session sets it for the length of a run, and the thread pool carries it to the
// workers running that call's chunks, so it reaches every kernel of the run and no other run.
#pragma once

namespace tessera {

// Whether the work on this thread belongs to a deterministic run.
bool deterministic_mode();

// Sets the mode on this thread for its lifetime, then restores the previous one.
class DeterministicMode {
 public:
  explicit DeterministicMode(bool on);
  ~DeterministicMode();
  DeterministicMode(const DeterministicMode&) = delete;
  DeterministicMode& operator=(const DeterministicMode&) = delete;

 private:
  bool previous_;
};

}  // namespace tessera
