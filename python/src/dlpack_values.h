// Tensors handed to another framework through DLPack capsules (the "dltensor" protocol every
// array library reads: torch.from_dlpack, numpy.from_dlpack), without a copy and without a numpy
// array in between: TesseraModule hands its outputs and gradients to torch this way, which costs
// about half of making a numpy array and wrapping it with torch.from_numpy.
#pragma once

#include <pybind11/pybind11.h>

#include "tessera/tensor.h"

namespace tessera::python {

// Whether `tensor` can travel as a DLPack capsule: a numeric element type DLPack names (floats,
// signed and unsigned integers) and at least one element.
bool dlpack_expressible(const Tensor& tensor);

// A capsule named "dltensor" that owns `tensor` (and so its buffer) until the consumer's deleter
// runs, or until the capsule is dropped unconsumed. The deleter needs no GIL: it releases C++
// memory only. Requires dlpack_expressible(tensor).
pybind11::capsule tensor_to_dlpack(Tensor tensor);

}  // namespace tessera::python
