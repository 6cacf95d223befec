// What the C API's files share (c_api.cc: sessions and tensors; c_api_training.cc: training):
// the handle structs they both read and the one way a C++ Status or exception becomes a
// TesseraStatus*. Internal: not installed.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "tessera/status.h"
#include "tessera/tensor.h"
#include "tessera/tessera_c.h"

struct TesseraStatus {
  TesseraStatusCode code;
  std::string message;
};

struct TesseraTensor {
  tessera::Tensor tensor;
};

namespace tessera::c_api {

// Returned when even a status cannot be allocated; tessera_release_status leaves it alone.
inline TesseraStatus out_of_memory_status{TESSERA_RUNTIME_ERROR, "out of memory"};

inline TesseraStatus* make_status(TesseraStatusCode code, const std::string& message) noexcept {
  try {
    return new TesseraStatus{code, message};
  } catch (...) {
    return &out_of_memory_status;
  }
}

inline TesseraStatus* to_c(const tessera::Status& status) noexcept {
  if (status.is_ok()) return nullptr;
  return make_status(static_cast<TesseraStatusCode>(status.code()), status.message());
}

template <class... Args>
TesseraStatus* invalid(const Args&... args) noexcept {
  try {
    return make_status(TESSERA_INVALID_ARGUMENT, tessera::str_cat(args...));
  } catch (...) {
    return &out_of_memory_status;
  }
}

// Runs an entry point's body; an exception (an allocation failing) becomes a status.
template <class Body>
TesseraStatus* guarded(const Body& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return &out_of_memory_status;
  } catch (const std::exception& e) {
    return make_status(TESSERA_RUNTIME_ERROR, std::string("internal error: ") + e.what());
  } catch (...) {
    return make_status(TESSERA_RUNTIME_ERROR, "internal error");
  }
}

}  // namespace tessera::c_api
