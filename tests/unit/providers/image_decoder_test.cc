// ImageDecoder: hand-built BMP and Netpbm streams (every layout the built-in decoders handle),
// tiny lossless PNG/WebP/TIFF files made with Pillow, pixel formats, and undecodable input.
#include <iostream>
#include <string>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

using Bytes = std::vector<uint8_t>;

Tensor stream(const Bytes& b) { return tensor_of<uint8_t>(DataType::uint8, {static_cast<int64_t>(b.size())}, b); }
Tensor stream(const std::string& s) { return stream(Bytes(s.begin(), s.end())); }

Result<std::vector<Value>> decode(const Tensor& data, const std::string& format = "RGB") {
  return run_op({"ImageDecoder", 20, {data}, {attr_s("pixel_format", format)}});
}

void expect_image(const Tensor& data, const std::string& format, const Shape& shape, const Bytes& want) {
  auto r = decode(data, format);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const Tensor& t = r.value()[0].tensor();
  ASSERT_EQ(t.dtype(), DataType::uint8);
  ASSERT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(int(t.data<uint8_t>()[i]), int(want[i])) << "byte " << i;
}

void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A BMP with a 40-byte info header, then `extra` (masks or palette), then the pixel data.
Bytes bmp(int32_t width, int32_t height, uint16_t bits, uint32_t compression, const Bytes& extra, const Bytes& pixels,
          uint32_t colors = 0) {
  Bytes b(54, 0);
  b[0] = 'B', b[1] = 'M';
  put32(b, 2, static_cast<uint32_t>(54 + extra.size() + pixels.size()));
  put32(b, 10, static_cast<uint32_t>(54 + extra.size()));
  put32(b, 14, 40);
  put32(b, 18, static_cast<uint32_t>(width));
  put32(b, 22, static_cast<uint32_t>(height));
  b[26] = 1;
  b[28] = static_cast<uint8_t>(bits);
  put32(b, 30, compression);
  put32(b, 46, colors);
  b.insert(b.end(), extra.begin(), extra.end());
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

// Palette entries are B, G, R, 0.
const Bytes kPalette = {0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 0};  // red, green, blue
const Bytes kRedGreenBlue = {255, 0, 0, 0, 255, 0, 0, 0, 255};

TEST(ImageDecoder, Bmp24BottomUpAndPixelFormats) {
  // Top row red, green; bottom row blue, white. Rows are stored bottom first, padded to 4 bytes.
  const Tensor data = stream(bmp(2, 2, 24, 0, {}, {255, 0, 0, 255, 255, 255, 0, 0, 0, 0, 255, 0, 255, 0, 0, 0}));
  expect_image(data, "RGB", {2, 2, 3}, {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255});
  expect_image(data, "BGR", {2, 2, 3}, {0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255});
  // Pillow's luma: (19595 R + 38470 G + 7471 B + 32768) >> 16.
  expect_image(data, "Grayscale", {2, 2, 1}, {76, 150, 29, 255});
}

TEST(ImageDecoder, BmpPaletteBitFieldsAndRle) {
  // 8-bit palette, top-down (negative height), indices 2 0 1.
  expect_image(stream(bmp(3, -1, 8, 0, kPalette, {2, 0, 1, 0}, 3)), "RGB", {1, 3, 3},
               {0, 0, 255, 255, 0, 0, 0, 255, 0});
  // 1-bit palette: bits 1 0 1 pick green, red, green.
  expect_image(stream(bmp(3, 1, 1, 0, Bytes(kPalette.begin(), kPalette.begin() + 8), {0xA0, 0, 0, 0}, 2)), "RGB", {1, 3, 3},
               {0, 255, 0, 255, 0, 0, 0, 255, 0});
  // 16-bit 5-6-5 bit fields (masks after the header): red, green, blue.
  const Bytes masks = {0x00, 0xF8, 0, 0, 0xE0, 0x07, 0, 0, 0x1F, 0, 0, 0};
  expect_image(stream(bmp(3, 1, 16, 3, masks, {0x00, 0xF8, 0xE0, 0x07, 0x1F, 0x00, 0, 0})), "RGB", {1, 3, 3}, kRedGreenBlue);
  // Default 16-bit is 5-5-5 with truncating scale: 0x7FFF is white, 0x4210 is (131, 131, 131).
  expect_image(stream(bmp(2, 1, 16, 0, {}, {0xFF, 0x7F, 0x10, 0x42})), "RGB", {1, 2, 3}, {255, 255, 255, 131, 131, 131});
  // RLE8, bottom-up: bottom row "2 x blue", end of line, top row red then green, end of bitmap.
  expect_image(stream(bmp(2, 2, 8, 1, kPalette, {2, 2, 0, 0, 1, 0, 1, 1, 0, 1}, 3)), "RGB", {2, 2, 3},
               {255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255});
}

TEST(ImageDecoder, Netpbm) {
  expect_image(stream(std::string("P6\n3 1\n255\n") + std::string("\xff\0\0\0\xff\0\0\0\xff", 9)), "RGB", {1, 3, 3},
               kRedGreenBlue);
  // maxval 15 scales by round(v / 15 * 255); comments may sit anywhere in the header.
  expect_image(stream(std::string("P5 # gray\n2 1 15\n") + std::string("\x0f\x07", 2)), "Grayscale", {1, 2, 1}, {255, 119});
  expect_image(stream(std::string("P3\n# ascii\n1 1\n100\n100 50 0\n")), "RGB", {1, 1, 3}, {255, 128, 0});
  // Bitmaps: 1 is black.
  expect_image(stream(std::string("P1\n3 1\n1 0 1\n")), "Grayscale", {1, 3, 1}, {0, 255, 0});
  expect_image(stream(std::string("P4\n3 1\n") + std::string("\x40", 1)), "Grayscale", {1, 3, 1}, {255, 0, 255});
}

// 3x2 images with rows (red, green, blue) and ((10,20,30), (200,100,50), (7,7,7)), saved by Pillow.
const Bytes kPixels3x2 = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 100, 50, 7, 7, 7};
const Bytes kPng = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1, 0x4d, 0x00, 0x00, 0x00, 0x17, 0x49, 0x44, 0x41,
    0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0xc0, 0xc0, 0x00, 0xc1, 0x5c, 0x22, 0x72, 0x27, 0x52, 0x8c, 0xd8, 0xd9, 0xd9, 0x01,
    0x36, 0x49, 0x04, 0xad, 0x13, 0xa7, 0xef, 0xa6, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
const Bytes kWebpLossless = {
    0x52, 0x49, 0x46, 0x46, 0x46, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c, 0x3a, 0x00, 0x00, 0x00,
    0x2f, 0x02, 0x40, 0x00, 0x00, 0x2f, 0x40, 0x24, 0x40, 0x02, 0xc9, 0xe4, 0x37, 0xff, 0x9f, 0xf1, 0x86, 0x82, 0xb6, 0x6d,
    0x98, 0xbe, 0x1d, 0xfe, 0x80, 0x46, 0x6d, 0x6a, 0x02, 0x10, 0x60, 0xb8, 0x14, 0x58, 0xfd, 0x93, 0x9a, 0xff, 0x00, 0x7f,
    0x90, 0x0f, 0x59, 0xa9, 0x67, 0x67, 0x20, 0x10, 0xa0, 0x8c, 0x15, 0x0f, 0x6c, 0x13, 0xd1, 0xff, 0x18, 0x2f};
const Bytes kTiff = {
    0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x00, 0x01, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x01, 0x03, 0x00, 0x03, 0x00,
    0x00, 0x00, 0x86, 0x00, 0x00, 0x00, 0x03, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01,
    0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x11, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x8c, 0x00,
    0x00, 0x00, 0x15, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x16, 0x01, 0x04, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x17, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x1c, 0x01,
    0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x08, 0x00, 0x08, 0x00,
    0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x0a, 0x14, 0x1e, 0xc8, 0x64, 0x32, 0x07, 0x07, 0x07};

TEST(ImageDecoder, LibraryFormats) {
  for (const auto& [name, bytes] : {std::pair{"PNG", &kPng}, std::pair{"WebP", &kWebpLossless}, std::pair{"TIFF", &kTiff}}) {
    SCOPED_TRACE(name);
    auto r = decode(stream(*bytes));
    if (!r.is_ok() && r.status().code() == StatusCode::not_implemented) {
      std::cout << "skipping " << name << ": " << r.status().message() << "\n";
      continue;
    }
    expect_image(stream(*bytes), "RGB", {2, 3, 3}, kPixels3x2);
  }
}

TEST(ImageDecoder, UndecodableStreamsGiveEmptyImages) {
  const Bytes truncated_png(kPng.begin(), kPng.begin() + 50);
  const Bytes truncated_bmp = [] {
    Bytes b = bmp(2, 2, 24, 0, {}, {1, 2, 3, 4, 5, 6, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0});
    b.resize(b.size() - 6);
    return b;
  }();
  for (const Bytes& b : {Bytes{1, 2, 3, 4, 5}, Bytes{}, truncated_png, truncated_bmp, Bytes{'P', '6', '\n', '9'}}) {
    expect_image(stream(b), "RGB", {0, 0, 3}, {});
    expect_image(stream(b), "Grayscale", {0, 0, 1}, {});
  }
}

TEST(ImageDecoder, RejectsBadAttributesAndInputs) {
  expect_error({"ImageDecoder", 20, {stream(Bytes{1})}, {attr_s("pixel_format", "RGBA")}}, "pixel_format must be");
  expect_error({"ImageDecoder", 20, {tf({1}, {1})}, {}}, "1-D uint8 tensor");
}

}  // namespace
}  // namespace tessera::kernel_test
