#include "tools/image_input.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "providers/cpu/image/codecs.h"

namespace tessera::cli {

namespace {

Result<std::vector<uint8_t>> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read '", path, "'");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Channel c of pixel (y, x): RGB, or for one channel ITU-R 601-2 luma in Pillow's fixed-point
// form, as the ImageDecoder kernel's Grayscale.
float channel(const image::RgbImage& img, int64_t y, int64_t x, int64_t c, int64_t channels) {
  const uint8_t* p = &img.rgb[static_cast<size_t>((y * img.width + x) * 3)];
  if (channels == 3) return p[c];
  return static_cast<float>((19595 * p[0] + 38470 * p[1] + 7471 * p[2] + (1 << 15)) >> 16);
}

float per_channel(const std::vector<float>& values, int64_t c, float fallback) {
  if (values.empty()) return fallback;
  return values.size() == 1 ? values[0] : values[static_cast<size_t>(c)];
}

}  // namespace

bool is_image_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> head(16);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return image::decoder_for(head) != nullptr;
}

Result<Tensor> read_image_input(const std::string& path, const IoInfo& input, const std::vector<float>& mean,
                                const std::vector<float>& std) {
  const size_t rank = input.shape.size();
  const auto where = [&] { return str_cat("input '", input.name, "' (", input.type_string, ") from image '", path, "'"); };
  if (input.kind != IoInfo::Kind::tensor || input.dtype != DataType::float32 || !input.has_shape || (rank != 3 && rank != 4))
    return invalid_argument(where(), ": an image feeds a float tensor [N, C, H, W] or [C, H, W]");
  const int64_t channels = input.shape[rank - 3];
  if (channels != 1 && channels != 3) return invalid_argument(where(), ": the channel dimension must be 1 or 3");
  if (rank == 4 && input.shape[0] > 1) return invalid_argument(where(), ": one image feeds a batch of 1, not ", input.shape[0]);
  for (const auto* values : {&mean, &std})
    if (values->size() > 1 && static_cast<int64_t>(values->size()) != channels)
      return invalid_argument(where(), ": --mean and --std take one value or one per channel (", channels, "), got ", values->size());
  for (float s : std)
    if (s == 0) return invalid_argument(where(), ": --std values must not be 0");

  TS_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_bytes(path));
  const image::Decoder decode = image::decoder_for(bytes);
  if (!decode) return invalid_argument(where(), ": not an image Tessera decodes (PNG, JPEG, BMP, PNM, TIFF, WebP, JPEG 2000)");
  auto decoded = decode(bytes);
  if (!decoded.is_ok()) return decoded.status().with_context(where());
  const image::RgbImage& img = *decoded;
  if (img.height < 1 || img.width < 1) return invalid_argument(where(), ": the image is empty");

  const int64_t height = input.shape[rank - 2] > 0 ? input.shape[rank - 2] : img.height;
  const int64_t width = input.shape[rank - 1] > 0 ? input.shape[rank - 1] : img.width;
  Shape shape = rank == 4 ? Shape{1, channels, height, width} : Shape{channels, height, width};
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::create(DataType::float32, shape));
  float* out = t.data<float>();
  // Bilinear with half-pixel centers: output pixel centre (y + 0.5) maps to input y' + 0.5.
  const double scale_y = static_cast<double>(img.height) / static_cast<double>(height);
  const double scale_x = static_cast<double>(img.width) / static_cast<double>(width);
  for (int64_t c = 0; c < channels; ++c) {
    const float m = per_channel(mean, c, 0.f), s = per_channel(std, c, 1.f);
    for (int64_t y = 0; y < height; ++y) {
      const double sy = std::clamp((static_cast<double>(y) + 0.5) * scale_y - 0.5, 0.0, static_cast<double>(img.height - 1));
      const auto y0 = static_cast<int64_t>(sy);
      const int64_t y1 = std::min(y0 + 1, img.height - 1);
      const auto fy = static_cast<float>(sy - static_cast<double>(y0));
      for (int64_t x = 0; x < width; ++x) {
        const double sx = std::clamp((static_cast<double>(x) + 0.5) * scale_x - 0.5, 0.0, static_cast<double>(img.width - 1));
        const auto x0 = static_cast<int64_t>(sx);
        const int64_t x1 = std::min(x0 + 1, img.width - 1);
        const auto fx = static_cast<float>(sx - static_cast<double>(x0));
        const float top = channel(img, y0, x0, c, channels) * (1 - fx) + channel(img, y0, x1, c, channels) * fx;
        const float bottom = channel(img, y1, x0, c, channels) * (1 - fx) + channel(img, y1, x1, c, channels) * fx;
        const float v = (top * (1 - fy) + bottom * fy) / 255.f;
        *out++ = (v - m) / s;
      }
    }
  }
  return t;
}

}  // namespace tessera::cli
