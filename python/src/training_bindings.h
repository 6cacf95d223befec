// tessera._tessera's training classes (training_bindings.cc); module.cc calls this once at import.
#pragma once

#include <pybind11/pybind11.h>

namespace tessera::python {
void register_training(pybind11::module_& module);
}  // namespace tessera::python
