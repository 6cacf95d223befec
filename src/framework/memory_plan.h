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

}  // namespace tessera
