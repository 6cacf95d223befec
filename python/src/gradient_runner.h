// tessera._tessera._GradientRunner: the forward and backward models of build_gradient_graphs run
// as one training step's two halves for the PyTorch wrapper (tessera/training/module.py), with
// feeds and outputs as lists in an order fixed at construction. Names are resolved once, and the
// values backward reads (saved activations, forward feeds) stay C++ Values between the two runs
// instead of crossing into Python and back.
#pragma once

#include <pybind11/pybind11.h>

namespace tessera::python {

// Adds _GradientRunner and _SavedStep to `module`; called once at import.
void register_gradient_runner(pybind11::module_& module);

}  // namespace tessera::python
