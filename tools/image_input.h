// An image file as a model's image input: decoded (PNG, JPEG, BMP, PNM, TIFF, WebP, JPEG 2000 by
// the CPU EP's decoders), resized to the input's H x W, laid out as NCHW float.
#pragma once

#include <string>
#include <vector>

#include "tessera/session.h"

namespace tessera::cli {

// Whether the file starts with the signature of an image format Tessera decodes.
bool is_image_file(const std::string& path);

// The input must be a float tensor [N, C, H, W] (or [C, H, W]) with C = 1 (luma) or 3 (RGB);
// symbolic N is 1, symbolic H or W take the image's own. Pixels are scaled to [0, 1], then each
// channel c becomes (v - mean[c]) / std[c] (one value applies to every channel). Resizing is
// bilinear with half-pixel centers.
Result<Tensor> read_image_input(const std::string& path, const IoInfo& input, const std::vector<float>& mean,
                                const std::vector<float>& std);

}  // namespace tessera::cli
