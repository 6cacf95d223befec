// Writing a kernel's output over one of its inputs (ONNX Runtime's MayInplace), for kernels whose
// output has an input's shape and that read each element of it before writing there (BlockedConv's
// residual Z). A free function over the graph run's context (executor.cc), as kernel_allocator is.
#pragma once

#include <cstddef>

#include "framework/kernel.h"

namespace tessera {

// Input i's tensor, writable, when the kernel may write its output over it: the value was made by
// a step (no graph input, outer value or initializer), is no graph output, is read once by this
// step and by no later one (in a parallel run: by no other step at all), and nothing else holds
// its buffer (no view of it lives on). The kernel then hands it over with ctx.set_output instead
// of allocating the output. An undefined Tensor otherwise, and always outside a graph run.
Tensor reusable_input(KernelContext& ctx, size_t i);

}  // namespace tessera
