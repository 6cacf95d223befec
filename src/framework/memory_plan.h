// Stage "plan memory": when each intermediate value can be released. A value is freed right
// after the last step that reads it (or right after the step that makes it, when nothing reads
// it); graph outputs are never freed. Freed blocks go back to the run's buffer pool, so later
// steps and later runs reuse them.
#pragma once

#include <cstddef>
#include <vector>

namespace tessera {

// The value slots one step reads (inputs and values its subgraphs capture) and writes; -1 marks
// an omitted input or output.
struct StepSlots {
  std::vector<int> reads;
  std::vector<int> writes;
};

// For each step, the slots to release after it runs.
std::vector<std::vector<int>> plan_releases(const std::vector<StepSlots>& steps, const std::vector<int>& kept_slots,
                                            size_t slot_count);

// The plan of a parallel run (ExecutionMode::parallel), whose steps finish in any order: a step
// may start once every step writing a slot it reads has finished, and a slot is released when
// its last reader finishes, whichever that is, counted down at run time (plan_releases' points
// assume one order). A buffer is thus never released, nor reused, while a step still reads it.
struct ParallelPlan {
  std::vector<int> waits_for;                  // per step: the distinct steps writing what it reads
  std::vector<std::vector<int>> unblocks;      // per step: the steps reading what it writes, each once
  std::vector<int> readers;                    // per slot: the steps reading it; 0 when not counted
  std::vector<std::vector<int>> counted_reads;  // per step: the distinct slots it counts down
  std::vector<std::vector<int>> unread_writes;  // per step: what it writes that nothing reads: freed after it
};

// `steps` in a topological order (each slot written by at most one step, before its readers);
// `kept_slots` (graph outputs) are never released.
ParallelPlan plan_parallel(const std::vector<StepSlots>& steps, const std::vector<int>& kept_slots, size_t slot_count);

}  // namespace tessera
