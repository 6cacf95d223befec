// Reading any numeric or bool tensor into a buffer of the type a kernel computes in.
#pragma once

#include <cstdint>
#include <string>

#include "core/dispatch.h"
#include "core/float_types.h"
#include "tessera/tensor.h"

namespace tessera::widen {

// Any numeric or bool tensor, converted element by element into out[0..t.size()). `where` is
// as for dispatch: pass the node, so it is described only on error.
template <class C, class Where>
Status widen_tensor(const Tensor& t, C* out, const Where& where) {
  return dispatch<kNumericTypes | type_bit(DataType::boolean)>(t.dtype(), [&]<class T>() -> Status {
    widen_span(t.data<T>(), out, t.size());
    return Status::ok();
  }, where);
}

}  // namespace tessera::widen
