#include "framework/memory_plan.h"

namespace tessera {

std::vector<std::vector<int>> plan_releases(const std::vector<StepSlots>& steps, const std::vector<int>& kept_slots,
                                            size_t slot_count) {
  std::vector<int> last_use(slot_count, -1);
  for (size_t s = 0; s < steps.size(); ++s) {
    const int step = static_cast<int>(s);
    for (int slot : steps[s].reads)
      if (slot >= 0) last_use[slot] = step;
    for (int slot : steps[s].writes)  // produced but never read: free right away
      if (slot >= 0 && last_use[slot] < step) last_use[slot] = step;
  }
  for (int slot : kept_slots)
    if (slot >= 0) last_use[slot] = -1;
  std::vector<std::vector<int>> releases(steps.size());
  for (size_t slot = 0; slot < slot_count; ++slot)
    if (last_use[slot] >= 0) releases[last_use[slot]].push_back(static_cast<int>(slot));
  return releases;
}

}  // namespace tessera
