#include "errors.h"

namespace tessera::python {
namespace py = pybind11;

namespace {

// The classes live as long as the interpreter (the module holds them too), so plain pointers
// with a reference of their own are enough; no destructor runs after the interpreter is gone.
struct ErrorTypes {
  PyObject* base = nullptr;
  PyObject* invalid_argument = nullptr;
  PyObject* invalid_graph = nullptr;
  PyObject* not_implemented = nullptr;
  PyObject* no_such_file = nullptr;
  PyObject* runtime_exception = nullptr;
  PyObject* fail = nullptr;
  PyObject* cancelled = nullptr;
  PyObject* deadline_exceeded = nullptr;
};
ErrorTypes types;

PyObject* make_type(py::module_& module, const char* name, PyObject* base, const char* doc) {
  const std::string qualified = std::string("tessera.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (!type) throw py::error_already_set();
  module.attr(name) = py::reinterpret_borrow<py::object>(type);
  return type;  // keeps the reference PyErr_NewExceptionWithDoc gave
}

}  // namespace

void register_errors(py::module_& module) {
  types.base = make_type(module, "TesseraError", PyExc_RuntimeError,
                         "Base of every error Tessera raises; the message names the model, node and input.");
  // Also a ValueError, as ONNX Runtime raises ValueError for some bad arguments (provider names).
  py::tuple bases = py::make_tuple(py::handle(types.base), py::handle(PyExc_ValueError));
  types.invalid_argument = make_type(module, "InvalidArgument", bases.ptr(), "A bad feed, option or call.");
  types.invalid_graph = make_type(module, "InvalidGraph", types.base, "A malformed or inconsistent model.");
  types.not_implemented =
      make_type(module, "NotImplemented", types.base, "Valid ONNX that Tessera does not support yet.");
  types.no_such_file = make_type(module, "NoSuchFile", types.base, "A model file missing or unreadable.");
  types.runtime_exception = make_type(module, "RuntimeException", types.base, "A failure while computing.");
  types.fail = make_type(module, "Fail", types.base, "A run that was stopped (ONNX Runtime raises Fail then).");
  types.cancelled = make_type(module, "Cancelled", types.fail, "A run stopped by RunOptions.terminate.");
  types.deadline_exceeded =
      make_type(module, "DeadlineExceeded", types.fail, "A run stopped at RunOptions.timeout_ms.");
}

void throw_status(const Status& status) {
  PyObject* type = types.base;
  switch (status.code()) {
    case StatusCode::ok: break;
    case StatusCode::invalid_argument: type = types.invalid_argument; break;
    case StatusCode::invalid_model: type = types.invalid_graph; break;
    case StatusCode::not_implemented: type = types.not_implemented; break;
    case StatusCode::io_error: type = types.no_such_file; break;
    case StatusCode::runtime_error: type = types.runtime_exception; break;
    case StatusCode::cancelled: type = types.cancelled; break;
    case StatusCode::deadline_exceeded: type = types.deadline_exceeded; break;
  }
  PyErr_SetString(type, status.message().c_str());
  throw py::error_already_set();
}

void throw_invalid_argument(const std::string& message) { throw_status(invalid_argument(message)); }

}  // namespace tessera::python
