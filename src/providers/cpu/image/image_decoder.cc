// ImageDecoder (opset 20): decodes an encoded image (a 1-D uint8 tensor) into an (H, W, C)
// uint8 tensor, C = 3 for RGB/BGR and 1 for Grayscale.
//
// The format is recognised by its signature, whatever the container claims. Every decoder
// returns RGB; BGR swaps channels and Grayscale applies ITU-R 601-2 luma in Pillow's fixed-point
// form (L = (19595 R + 38470 G + 7471 B + 2^15) >> 16), so outputs match the reference, which
// decodes with Pillow. A stream that cannot be decoded yields an empty (0, 0, C) tensor, as the
// spec requires; a format whose library this build lacks is a not_implemented error.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <initializer_list>
#include <string>

#include "providers/cpu/families.h"
#include "providers/cpu/image/codecs.h"

namespace tessera {
namespace image {
namespace {

bool starts_with(Bytes d, std::initializer_list<uint8_t> sig, size_t at = 0) {
  if (d.size() < at + sig.size()) return false;
  return std::equal(sig.begin(), sig.end(), d.begin() + static_cast<std::ptrdiff_t>(at));
}

}  // namespace

Decoder decoder_for(Bytes d) {
  if (starts_with(d, {0xFF, 0xD8, 0xFF})) return decode_jpeg;
  if (starts_with(d, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})) return decode_png;
  if (starts_with(d, {'B', 'M'})) return decode_bmp;
  if (starts_with(d, {'I', 'I', 42, 0}) || starts_with(d, {'M', 'M', 0, 42})) return decode_tiff;
  if (starts_with(d, {'R', 'I', 'F', 'F'}) && starts_with(d, {'W', 'E', 'B', 'P'}, 8)) return decode_webp;
  if (starts_with(d, {0, 0, 0, 12, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'}) || starts_with(d, {0xFF, 0x4F, 0xFF, 0x51}))
    return decode_jpeg2000;
  if (d.size() >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' && std::isspace(d[2])) return decode_pnm;
  return nullptr;
}

}  // namespace image

namespace {

enum class PixelFormat { rgb, bgr, grayscale };

using image::Bytes;
using image::Decoder;
using image::RgbImage;

class ImageDecoderKernel final : public OpKernel {
 public:
  explicit ImageDecoderKernel(PixelFormat format) : format_(format) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::string f = info.attr_string("pixel_format");
    PixelFormat format;
    if (f == "RGB") format = PixelFormat::rgb;
    else if (f == "BGR") format = PixelFormat::bgr;
    else if (f == "Grayscale") format = PixelFormat::grayscale;
    else return info.error("pixel_format must be 'RGB', 'BGR' or 'Grayscale', got '", f, "'");
    return std::unique_ptr<OpKernel>(new ImageDecoderKernel(format));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* in, ctx.required_input(0));
    if (in->dtype() != DataType::uint8 || in->rank() != 1)
      return ctx.error("encoded_stream must be a 1-D uint8 tensor, got ", dtype_name(in->dtype()), shape_to_string(in->shape()));
    const int64_t channels = format_ == PixelFormat::grayscale ? 1 : 3;
    const Bytes data(in->data<uint8_t>(), static_cast<size_t>(in->size()));

    const Decoder decode = image::decoder_for(data);
    if (!decode) {
      ctx.allocate_output(0, DataType::uint8, {0, 0, channels});
      return Status::ok();
    }
    Result<RgbImage> decoded = decode(data);
    if (!decoded.is_ok()) {
      if (decoded.status().code() == StatusCode::not_implemented) return decoded.status().with_context(ctx.node().describe());
      ctx.allocate_output(0, DataType::uint8, {0, 0, channels});  // undecodable: empty, per the spec
      return Status::ok();
    }
    const RgbImage& img = decoded.value();
    Tensor& out = ctx.allocate_output(0, DataType::uint8, {img.height, img.width, channels});
    uint8_t* o = out.data<uint8_t>();
    const uint8_t* p = img.rgb.data();
    const int64_t n = img.height * img.width;
    switch (format_) {
      case PixelFormat::rgb: std::memcpy(o, p, static_cast<size_t>(n * 3)); break;
      case PixelFormat::bgr:
        for (int64_t i = 0; i < n; ++i) o[3 * i] = p[3 * i + 2], o[3 * i + 1] = p[3 * i + 1], o[3 * i + 2] = p[3 * i];
        break;
      case PixelFormat::grayscale:
        for (int64_t i = 0; i < n; ++i)
          o[i] = static_cast<uint8_t>((p[3 * i] * 19595u + p[3 * i + 1] * 38470u + p[3 * i + 2] * 7471u + 0x8000u) >> 16);
        break;
    }
    return Status::ok();
  }

 private:
  PixelFormat format_;
};

}  // namespace

void register_image_decoder(KernelRegistry& r) {
  r.add({"", "ImageDecoder", 20, kLatestOnnxOpset, ImageDecoderKernel::create});
}

}  // namespace tessera
