// tessera._tessera.build_gradient_graphs: a model's forward and backward graphs for training from
// Python (the PyTorch wrapper, tessera/training/module.py).
#pragma once

#include <pybind11/pybind11.h>

namespace tessera::python {

// Adds build_gradient_graphs to `module`; called once at import.
void register_gradient_bindings(pybind11::module_& module);

}  // namespace tessera::python
