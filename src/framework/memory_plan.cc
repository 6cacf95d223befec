#include "framework/memory_plan.h"

#include <algorithm>

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

namespace {

// The slots >= 0 of `slots`, each once.
std::vector<int> distinct(std::vector<int> slots) {
  slots.erase(std::remove(slots.begin(), slots.end(), -1), slots.end());
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  return slots;
}

}  // namespace

ParallelPlan plan_parallel(const std::vector<StepSlots>& steps, const std::vector<int>& kept_slots, size_t slot_count) {
  ParallelPlan plan;
  const size_t n = steps.size();
  plan.waits_for.assign(n, 0);
  plan.unblocks.resize(n);
  plan.counted_reads.resize(n);
  plan.unread_writes.resize(n);
  plan.readers.assign(slot_count, 0);
  std::vector<char> kept(slot_count, 0);
  for (int slot : kept_slots)
    if (slot >= 0) kept[slot] = 1;
  std::vector<int> writer(slot_count, -1);  // feeds, initializers and outer values have none
  for (size_t s = 0; s < n; ++s) {
    const int step = static_cast<int>(s);
    std::vector<int> producers;
    for (int slot : distinct(steps[s].reads)) {
      if (writer[slot] >= 0) producers.push_back(writer[slot]);
      if (kept[slot]) continue;
      ++plan.readers[slot];
      plan.counted_reads[s].push_back(slot);
    }
    for (int producer : distinct(std::move(producers))) {
      plan.unblocks[producer].push_back(step);
      ++plan.waits_for[s];
    }
    for (int slot : steps[s].writes)
      if (slot >= 0) writer[slot] = step;
  }
  for (size_t s = 0; s < n; ++s)
    for (int slot : steps[s].writes)
      if (slot >= 0 && !kept[slot] && plan.readers[slot] == 0) plan.unread_writes[s].push_back(slot);
  return plan;
}

}  // namespace tessera
