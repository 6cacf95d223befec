// Python objects <-> Values, numpy arrays without copies where the layout allows. Every function
// here needs the GIL.
//
// In: a C-contiguous, aligned, native-endian array is wrapped, not copied: the Tensor holds a
// reference to the array (released under the GIL whenever the last Tensor sharing it goes).
// Other layouts, lists and scalars are copied once into such an array first. String arrays
// (object, str or bytes) are copied into string tensors. Lists feed sequence inputs, dicts map
// inputs, None an empty optional.
// Out: a tensor becomes a numpy array that owns the Tensor's buffer through a capsule (no copy);
// strings become object arrays of str; bfloat16, float8 and float4 (which numpy cannot hold) are
// widened to float32; sequences become lists, maps dicts, empty optionals None.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>

#include "tessera/session.h"
#include "tessera/value.h"

namespace tessera::python {

// `obj` fed for graph input `input`; raises tessera.InvalidArgument naming the input when it
// cannot be converted (an unsupported dtype, a string element that is not str or bytes).
Value value_from_python(pybind11::handle obj, const IoInfo& input);

pybind11::object value_to_python(Value value);

// An owner for a Tensor viewing memory that `obj` keeps alive: it holds a reference to `obj`,
// released under the GIL whenever the Tensor's last holder lets go (maybe on a thread without it).
std::shared_ptr<const void> python_owner(pybind11::object obj);

// Copies `value` (or its items) where it shares a buffer with a feed (an Identity or Reshape of
// an input), so outputs never share memory with the caller's arrays, as with ONNX Runtime.
void detach_from_feeds(Value& value, const Feeds& feeds);

// ONNX Runtime's spelling of a declared type: "tensor(float)", "seq(tensor(int64))",
// "map(string,tensor(float))" (the model's type string without its shapes).
std::string ort_type_string(const IoInfo& info);

}  // namespace tessera::python
