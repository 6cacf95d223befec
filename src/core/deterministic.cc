#include "core/deterministic.h"

namespace tessera {

namespace {
thread_local bool t_deterministic = false;
}  // namespace

bool deterministic_mode() { return t_deterministic; }

DeterministicMode::DeterministicMode(bool on) : previous_(t_deterministic) { t_deterministic = on; }
DeterministicMode::~DeterministicMode() { t_deterministic = previous_; }

}  // namespace tessera
