// The package's exception types (tessera.TesseraError and its subclasses, named as ONNX Runtime's
// where one matches) and the one way a C++ Status becomes a Python exception.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "tessera/status.h"

namespace tessera::python {

// Creates the exception classes as attributes of `module`; called once at import.
void register_errors(pybind11::module_& module);

// Raises the exception for `status.code()` carrying its message (status must not be ok).
[[noreturn]] void throw_status(const Status& status);

// Raises tessera.InvalidArgument: bad feeds, options or calls found in the binding itself.
[[noreturn]] void throw_invalid_argument(const std::string& message);

}  // namespace tessera::python
