// Scan's kernels (opset 8 with a batch axis, opset 9+ with per-input axes and directions).
#pragma once

#include "framework/kernel_registry.h"

namespace tessera {

void register_scan(KernelRegistry& registry);  // controlflow/scan.cc, called by register_control_flow

}  // namespace tessera
