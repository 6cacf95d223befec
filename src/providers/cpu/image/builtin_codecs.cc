// BMP and Netpbm decoders: simple enough formats that a library would add more than it saves.
// Scaling of non-8-bit samples follows Pillow (the ONNX reference decoder): BMP bit fields scale
// by v * 255 / max with truncation, Netpbm samples by round(v / maxval * 255).
#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>

#include "providers/cpu/image/codecs.h"

namespace tessera::image {
namespace {

uint32_t le16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

Status bad(const char* format, const std::string& why) { return invalid_argument("cannot decode ", format, ": ", why); }

Status check_size(const char* format, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0 || width > kMaxPixels / height)
    return bad(format, "image size " + std::to_string(width) + "x" + std::to_string(height) + " is out of range");
  return Status::ok();
}

// One colour channel of a BMP bit-field pixel, scaled to 8 bits.
struct BitField {
  uint32_t mask = 0;
  int shift = 0;
  uint32_t max = 0;
  explicit BitField(uint32_t m) : mask(m) {
    if (m == 0) return;
    shift = std::countr_zero(m);
    max = m >> shift;
  }
  uint8_t get(uint32_t px) const { return max == 0 ? 0 : static_cast<uint8_t>(((px & mask) >> shift) * 255u / max); }
};

// Expands RLE8 / RLE4 data into one palette index per pixel, rows in file order (bottom-up).
bool decode_bmp_rle(Bytes src, bool rle4, int64_t width, int64_t height, std::vector<uint8_t>& idx) {
  idx.assign(static_cast<size_t>(width * height), 0);
  int64_t x = 0, y = 0;
  size_t p = 0;
  auto put = [&](uint8_t v) {
    if (x < width && y < height) idx[static_cast<size_t>(y * width + x)] = v;
    ++x;
  };
  while (p + 1 < src.size() && y < height) {
    const uint8_t count = src[p], value = src[p + 1];
    p += 2;
    if (count > 0) {  // a run of `count` pixels
      for (int i = 0; i < count; ++i) put(rle4 ? ((i % 2 == 0) ? value >> 4 : value & 0x0F) : value);
      continue;
    }
    if (value == 0) {  // end of line
      x = 0;
      ++y;
    } else if (value == 1) {  // end of bitmap
      return true;
    } else if (value == 2) {  // delta
      if (p + 1 >= src.size()) return false;
      x += src[p];
      y += src[p + 1];
      p += 2;
    } else {  // `value` literal pixels, padded to a 16-bit boundary
      const size_t bytes = rle4 ? (value + 1) / 2 : value;
      if (p + bytes > src.size()) return false;
      for (int i = 0; i < value; ++i) put(rle4 ? ((i % 2 == 0) ? src[p + i / 2] >> 4 : src[p + i / 2] & 0x0F) : src[p + i]);
      p += bytes + (bytes % 2);
    }
  }
  return true;
}

// Skips whitespace and '#' comments, then reads an unsigned decimal number.
bool pnm_number(Bytes d, size_t& p, int64_t& out) {
  while (p < d.size()) {
    if (d[p] == '#') {
      while (p < d.size() && d[p] != '\n' && d[p] != '\r') ++p;
    } else if (std::isspace(d[p])) {
      ++p;
    } else {
      break;
    }
  }
  if (p >= d.size() || !std::isdigit(d[p])) return false;
  out = 0;
  while (p < d.size() && std::isdigit(d[p])) {
    out = out * 10 + (d[p++] - '0');
    if (out > (int64_t{1} << 31)) return false;
  }
  return true;
}

}  // namespace

Result<RgbImage> decode_bmp(Bytes d) {
  if (d.size() < 26 || d[0] != 'B' || d[1] != 'M') return bad("BMP", "missing 'BM' header");
  const uint32_t pixel_offset = le32(&d[10]);
  const uint32_t header_size = le32(&d[14]);
  if (14 + static_cast<size_t>(header_size) > d.size()) return bad("BMP", "truncated header");
  const uint8_t* h = &d[18];  // the info header after its size field
  int64_t width, height;
  uint32_t bits, compression = 0, colors = 0;
  bool top_down = false;
  size_t palette_entry = 4;
  if (header_size == 12) {  // OS/2 v1 core header
    width = le16(h);
    height = le16(h + 2);
    bits = le16(h + 6);
    palette_entry = 3;
  } else if (header_size >= 40) {
    width = static_cast<int32_t>(le32(h));
    height = static_cast<int32_t>(le32(h + 4));
    bits = le16(h + 10);
    compression = le32(h + 12);
    colors = le32(h + 28);
    if (height < 0) {
      top_down = true;
      height = -height;
    }
  } else {
    return bad("BMP", "unsupported info header size " + std::to_string(header_size));
  }
  TS_RETURN_IF_ERROR(check_size("BMP", width, height));

  // Bit-field masks live in the V4/V5 header, or right after a 40-byte one.
  uint32_t masks[3] = {0x00FF0000u, 0x0000FF00u, 0x000000FFu};
  size_t after_header = 14 + header_size;
  if (bits == 16) masks[0] = 0x7C00, masks[1] = 0x03E0, masks[2] = 0x001F;
  if (compression == 3 || compression == 6) {
    const size_t at = header_size >= 52 ? 14 + 40 : after_header;
    if (at + 12 > d.size()) return bad("BMP", "truncated bit-field masks");
    for (int i = 0; i < 3; ++i) masks[i] = le32(&d[at + 4 * i]);
    if (header_size < 52) after_header += compression == 6 ? 16 : 12;
  } else if (compression != 0 && !(compression == 1 && bits == 8) && !(compression == 2 && bits == 4)) {
    return bad("BMP", "unsupported compression " + std::to_string(compression) + " at " + std::to_string(bits) + " bits");
  }

  std::vector<uint8_t> palette;  // RGB triples
  if (bits <= 8) {
    if (bits != 1 && bits != 2 && bits != 4 && bits != 8) return bad("BMP", "unsupported bit depth " + std::to_string(bits));
    const size_t n = colors ? colors : (size_t{1} << bits);
    if (n > 256 || after_header + n * palette_entry > d.size()) return bad("BMP", "bad palette");
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* e = &d[after_header + i * palette_entry];
      palette.insert(palette.end(), {e[2], e[1], e[0]});
    }
    palette.resize(256 * 3, 0);  // out-of-range indices read black
  } else if (bits != 16 && bits != 24 && bits != 32) {
    return bad("BMP", "unsupported bit depth " + std::to_string(bits));
  }
  const size_t data_at = pixel_offset ? pixel_offset : after_header + palette.size();
  if (data_at > d.size()) return bad("BMP", "pixel data offset beyond the end of the stream");
  const Bytes pixels = d.subspan(data_at);

  RgbImage img;
  img.width = width;
  img.height = height;
  img.rgb.resize(static_cast<size_t>(width * height * 3));
  auto out_row = [&](int64_t file_row) { return img.rgb.data() + (top_down ? file_row : height - 1 - file_row) * width * 3; };

  if (compression == 1 || compression == 2) {
    std::vector<uint8_t> idx;
    if (!decode_bmp_rle(pixels, compression == 2, width, height, idx)) return bad("BMP", "truncated RLE data");
    for (int64_t r = 0; r < height; ++r) {
      uint8_t* o = out_row(r);
      for (int64_t x = 0; x < width; ++x) std::memcpy(o + 3 * x, &palette[idx[r * width + x] * 3], 3);
    }
    return img;
  }

  const size_t stride = ((static_cast<size_t>(width) * bits + 31) / 32) * 4;
  if (pixels.size() < stride * static_cast<size_t>(height - 1) + (static_cast<size_t>(width) * bits + 7) / 8)
    return bad("BMP", "truncated pixel data");
  const BitField r_field(masks[0]), g_field(masks[1]), b_field(masks[2]);
  for (int64_t r = 0; r < height; ++r) {
    const uint8_t* s = pixels.data() + r * stride;
    uint8_t* o = out_row(r);
    for (int64_t x = 0; x < width; ++x, o += 3) {
      if (bits <= 8) {
        const size_t bit = static_cast<size_t>(x) * bits;
        const uint32_t index = (s[bit / 8] >> (8 - bits - bit % 8)) & ((1u << bits) - 1);
        std::memcpy(o, &palette[index * 3], 3);
      } else if (bits == 24 && compression == 0) {
        o[0] = s[3 * x + 2], o[1] = s[3 * x + 1], o[2] = s[3 * x];
      } else {
        const uint8_t* q = s + x * (bits / 8);
        const uint32_t px = bits == 16 ? le16(q) : bits == 24 ? (q[0] | (q[1] << 8) | (q[2] << 16)) : le32(q);
        o[0] = r_field.get(px), o[1] = g_field.get(px), o[2] = b_field.get(px);
      }
    }
  }
  return img;
}

Result<RgbImage> decode_pnm(Bytes d) {
  if (d.size() < 3 || d[0] != 'P' || d[1] < '1' || d[1] > '6') return bad("PNM", "missing P1..P6 magic number");
  const int kind = d[1] - '0';
  const bool ascii = kind <= 3, bitmap = kind == 1 || kind == 4, color = kind == 3 || kind == 6;
  size_t p = 2;
  int64_t width, height, maxval = 1;
  if (!pnm_number(d, p, width) || !pnm_number(d, p, height) || (!bitmap && !pnm_number(d, p, maxval)))
    return bad("PNM", "malformed header");
  if (maxval < 1 || maxval > 65535) return bad("PNM", "maxval must be in 1..65535");
  TS_RETURN_IF_ERROR(check_size("PNM", width, height));
  if (!ascii) {  // exactly one whitespace byte separates the header from binary data
    if (p >= d.size() || !std::isspace(d[p])) return bad("PNM", "malformed header");
    ++p;
  }

  const int64_t channels = color ? 3 : 1, samples = width * height * channels;
  std::vector<uint8_t> v(static_cast<size_t>(samples));
  auto scale = [&](int64_t s) -> uint8_t {
    if (maxval == 255) return static_cast<uint8_t>(std::min<int64_t>(s, 255));
    return static_cast<uint8_t>(std::min(255.0, std::nearbyint(static_cast<double>(std::min(s, maxval)) / maxval * 255.0)));
  };
  if (kind == 4) {  // packed bits, rows padded to whole bytes, 1 is black
    const size_t row_bytes = static_cast<size_t>((width + 7) / 8);
    if (d.size() - p < row_bytes * static_cast<size_t>(height)) return bad("PNM", "truncated pixel data");
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x)
        v[y * width + x] = (d[p + y * row_bytes + x / 8] >> (7 - x % 8)) & 1 ? 0 : 255;
  } else if (kind == 1) {  // '0'/'1' characters, whitespace optional
    for (int64_t i = 0; i < samples; ++i) {
      while (p < d.size() && (std::isspace(d[p]) || d[p] == '#')) {
        if (d[p] == '#')
          while (p < d.size() && d[p] != '\n') ++p;
        else
          ++p;
      }
      if (p >= d.size() || (d[p] != '0' && d[p] != '1')) return bad("PNM", "truncated pixel data");
      v[i] = d[p++] == '1' ? 0 : 255;
    }
  } else if (ascii) {
    for (int64_t i = 0; i < samples; ++i) {
      int64_t s;
      if (!pnm_number(d, p, s)) return bad("PNM", "truncated pixel data");
      v[i] = scale(s);
    }
  } else {
    const size_t bytes = maxval < 256 ? 1 : 2;
    if (d.size() - p < static_cast<size_t>(samples) * bytes) return bad("PNM", "truncated pixel data");
    for (int64_t i = 0; i < samples; ++i)
      v[i] = scale(bytes == 1 ? d[p + i] : (d[p + 2 * i] << 8) | d[p + 2 * i + 1]);
  }

  RgbImage img;
  img.width = width;
  img.height = height;
  if (color) {
    img.rgb = std::move(v);
  } else {
    img.rgb.resize(static_cast<size_t>(width * height * 3));
    for (int64_t i = 0; i < width * height; ++i) img.rgb[3 * i] = img.rgb[3 * i + 1] = img.rgb[3 * i + 2] = v[i];
  }
  return img;
}

}  // namespace tessera::image
