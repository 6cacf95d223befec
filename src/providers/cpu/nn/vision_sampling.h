// GridSample, AffineGrid and DeformConv: the ops that sample an image at computed positions.
// Part of the vision family; register_vision calls this.
#pragma once

#include "framework/kernel_registry.h"

namespace tessera {

void register_vision_sampling(KernelRegistry& registry);  // nn/vision_sampling.cc

}  // namespace tessera
