// NumPy's file formats: .npy (one array, format versions 1-3) and .npz (a zip of .npy files, as
// np.savez writes them, stored or deflated as np.savez_compressed writes them). Little-endian
// numeric and bool arrays, and unicode string arrays ('<U'), in C order.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::cli {

// One array from a .npy file. Errors name the file.
Result<Tensor> read_npy_file(const std::string& path);

// Every array of a .npz file with its name (the member's name without ".npy"), in archive order.
Result<std::vector<std::pair<std::string, Tensor>>> read_npz_file(const std::string& path);

// Whether a tensor of this element type can be written as .npy.
bool numpy_can_hold(DataType dtype);

// Writes `tensor` as a version-1 .npy file (strings as '<U' of the longest, in code points).
Status write_npy_file(const std::string& path, const Tensor& tensor);

}  // namespace tessera::cli
