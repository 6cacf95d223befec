// Image decoders behind ImageDecoder. Each takes the whole encoded stream and returns 8-bit RGB
// pixels, row-major, top row first. Alpha is dropped; gray and palette images are expanded to
// RGB (the kernel derives Grayscale from RGB, as Pillow does).
//
// Errors: invalid_argument for a stream the codec cannot decode (corrupt, truncated, a variant
// it does not handle); not_implemented when this build has no library for the format.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tessera/status.h"

namespace tessera::image {

struct RgbImage {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> rgb;  // height * width * 3
};

using Bytes = std::span<const uint8_t>;

// Built in (no library): BMP and the Netpbm formats (PBM, PGM, PPM, plain and binary).
Result<RgbImage> decode_bmp(Bytes data);
Result<RgbImage> decode_pnm(Bytes data);

// Library-backed: libjpeg, libpng, libtiff, libwebp, openjpeg (JP2 and raw J2K codestreams).
Result<RgbImage> decode_jpeg(Bytes data);
Result<RgbImage> decode_png(Bytes data);
Result<RgbImage> decode_tiff(Bytes data);
Result<RgbImage> decode_webp(Bytes data);
Result<RgbImage> decode_jpeg2000(Bytes data);

// The decoder for a stream, recognised by its signature whatever its file name says; nullptr when
// no supported format matches (image_decoder.cc).
using Decoder = Result<RgbImage> (*)(Bytes);
Decoder decoder_for(Bytes data);

// Largest width * height a decoder accepts, so a forged header cannot ask for gigabytes.
constexpr int64_t kMaxPixels = int64_t{1} << 28;

}  // namespace tessera::image
