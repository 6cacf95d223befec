// Decoders backed by the system image libraries (Debian: libjpeg62-turbo-dev, libpng-dev,
// libtiff-dev, libwebp-dev, libopenjp2-7-dev). Each library is optional at build time
// (TESSERA_HAVE_<LIB>); without it the format reports not_implemented.
//
// libjpeg and libpng report errors by longjmp. Their decode functions therefore keep every
// object with a destructor outside the setjmp scope (in the caller), so a jump skips nothing.
// Library messages never reach stderr: errors become Status values, warnings are dropped.
#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include "providers/cpu/image/codecs.h"

#ifdef TESSERA_HAVE_JPEG
#include <jpeglib.h>
#include <jerror.h>
#endif
#ifdef TESSERA_HAVE_PNG
#include <png.h>
#endif
#ifdef TESSERA_HAVE_TIFF
#include <tiffio.h>
#endif
#ifdef TESSERA_HAVE_WEBP
#include <webp/decode.h>
#endif
#ifdef TESSERA_HAVE_OPENJP2
#include <openjpeg.h>
#endif

namespace tessera::image {
namespace {

[[maybe_unused]] Status bad(const char* format, const std::string& why) {
  return invalid_argument("cannot decode ", format, ": ", why);
}
[[maybe_unused]] Status missing(const char* format, const char* package) {
  return not_implemented(format, " images need ", package, ", which this build of Tessera was compiled without");
}
[[maybe_unused]] bool size_ok(int64_t width, int64_t height) {
  return width > 0 && height > 0 && width <= kMaxPixels / height;
}

// ---- JPEG ------------------------------------------------------------------------------------
#ifdef TESSERA_HAVE_JPEG
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  bool truncated;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

void jpeg_note(j_common_ptr cinfo, int level) {
  // A stream that ends early is decoded with grey filler by libjpeg; treat it as corrupt.
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<JpegError*>(cinfo->err)->truncated = true;
}

// Decodes into `out` as RGB or, for CMYK/YCCK streams, as (Adobe-inverted) CMYK.
bool jpeg_decode(Bytes data, std::vector<uint8_t>& out, int64_t& width, int64_t& height, bool& cmyk, char* message) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_note;
  err.truncated = false;
  if (setjmp(err.jump)) {
    std::memcpy(message, err.message, JMSG_LENGTH_MAX);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data.data(), static_cast<unsigned long>(data.size()));
  jpeg_read_header(&cinfo, TRUE);
  cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  width = cinfo.output_width;
  height = cinfo.output_height;
  if (!size_ok(width, height)) {
    std::snprintf(message, JMSG_LENGTH_MAX, "image size %lldx%lld is out of range", static_cast<long long>(width),
                  static_cast<long long>(height));
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  const size_t stride = static_cast<size_t>(width) * cinfo.output_components;
  out.resize(stride * static_cast<size_t>(height));
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out.data() + cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.truncated) {
    std::snprintf(message, JMSG_LENGTH_MAX, "premature end of the JPEG stream");
    return false;
  }
  return true;
}
#endif

// ---- PNG -------------------------------------------------------------------------------------
#ifdef TESSERA_HAVE_PNG
struct PngSource {
  Bytes data;
  size_t pos = 0;
  char message[256] = {};
};

void png_read_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > src->data.size() - src->pos) png_error(png, "truncated PNG data");
  std::memcpy(out, src->data.data() + src->pos, n);
  src->pos += n;
}

void png_fail(png_structp png, png_const_charp message) {
  auto* src = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(src->message, sizeof(src->message), "%s", message);
  png_longjmp(png, 1);
}

void png_quiet(png_structp, png_const_charp) {}

// Decodes with libpng's transforms to 8-bit RGB: palette and low-depth gray expanded, 16-bit
// samples reduced to their high byte (as Pillow does), alpha dropped.
bool png_decode(PngSource& src, std::vector<uint8_t>& out, std::vector<png_bytep>& rows, int64_t& width, int64_t& height) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_quiet);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &src, png_read_memory);
  png_read_info(png, info);
  width = png_get_image_width(png, info);
  height = png_get_image_height(png, info);
  if (!size_ok(width, height)) png_error(png, "image size is out of range");
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const size_t stride = static_cast<size_t>(width) * 3;
  if (png_get_rowbytes(png, info) != stride) png_error(png, "unexpected row size after conversion to RGB");
  out.resize(stride * static_cast<size_t>(height));
  rows.resize(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[y] = out.data() + y * stride;
  png_read_image(png, rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}
#endif

// ---- TIFF ------------------------------------------------------------------------------------
#ifdef TESSERA_HAVE_TIFF
struct TiffSource {
  Bytes data;
  uint64_t pos = 0;
  std::string message;
};

tmsize_t tiff_read(thandle_t h, void* buf, tmsize_t n) {
  auto* s = static_cast<TiffSource*>(h);
  const uint64_t left = s->pos < s->data.size() ? s->data.size() - s->pos : 0;
  const uint64_t take = std::min<uint64_t>(left, static_cast<uint64_t>(n));
  if (take == 0) return 0;
  std::memcpy(buf, s->data.data() + s->pos, take);
  s->pos += take;
  return static_cast<tmsize_t>(take);
}
tmsize_t tiff_write(thandle_t, void*, tmsize_t) { return -1; }
toff_t tiff_seek(thandle_t h, toff_t off, int whence) {
  auto* s = static_cast<TiffSource*>(h);
  const uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->data.size() : 0;
  s->pos = base + off;
  return s->pos;
}
int tiff_close(thandle_t) { return 0; }
toff_t tiff_size(thandle_t h) { return static_cast<TiffSource*>(h)->data.size(); }
int tiff_map(thandle_t, void**, toff_t*) { return 0; }
void tiff_unmap(thandle_t, void*, toff_t) {}

int tiff_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  char text[512];
  std::vsnprintf(text, sizeof(text), fmt, ap);
  auto* s = static_cast<TiffSource*>(user);
  if (s->message.empty()) s->message = std::string(module ? module : "libtiff") + ": " + text;
  return 1;
}
int tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }
#endif

// ---- JPEG 2000 -------------------------------------------------------------------------------
#ifdef TESSERA_HAVE_OPENJP2
struct Jp2Source {
  Bytes data;
  uint64_t pos = 0;
  std::string message;
};

OPJ_SIZE_T jp2_read(void* buf, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<Jp2Source*>(user);
  if (s->pos >= s->data.size()) return static_cast<OPJ_SIZE_T>(-1);
  const uint64_t take = std::min<uint64_t>(n, s->data.size() - s->pos);
  std::memcpy(buf, s->data.data() + s->pos, take);
  s->pos += take;
  return static_cast<OPJ_SIZE_T>(take);
}
OPJ_OFF_T jp2_skip(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<Jp2Source*>(user);
  s->pos += static_cast<uint64_t>(n);
  return n;
}
OPJ_BOOL jp2_seek(OPJ_OFF_T off, void* user) {
  auto* s = static_cast<Jp2Source*>(user);
  if (off < 0 || static_cast<uint64_t>(off) > s->data.size()) return OPJ_FALSE;
  s->pos = static_cast<uint64_t>(off);
  return OPJ_TRUE;
}
void jp2_error(const char* msg, void* user) {
  auto* s = static_cast<Jp2Source*>(user);
  if (s->message.empty()) s->message = msg;
  while (!s->message.empty() && s->message.back() == '\n') s->message.pop_back();
}
void jp2_quiet(const char*, void*) {}

// One component sample at image pixel (x, y) as 8 bits (components may be subsampled, signed,
// or of another precision).
uint8_t jp2_sample(const opj_image_comp_t& c, int64_t x, int64_t y) {
  const int64_t cx = std::min<int64_t>(x / std::max<OPJ_UINT32>(c.dx, 1), c.w - 1);
  const int64_t cy = std::min<int64_t>(y / std::max<OPJ_UINT32>(c.dy, 1), c.h - 1);
  int64_t v = c.data[cy * c.w + cx];
  if (c.sgnd) v += int64_t{1} << (c.prec - 1);
  if (c.prec > 8) v >>= (c.prec - 8);
  else if (c.prec < 8) v = v * 255 / ((int64_t{1} << c.prec) - 1);
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}
#endif

}  // namespace

Result<RgbImage> decode_jpeg(Bytes data) {
#ifdef TESSERA_HAVE_JPEG
  RgbImage img;
  std::vector<uint8_t> raw;
  bool cmyk = false;
  char message[JMSG_LENGTH_MAX] = {};
  if (!jpeg_decode(data, raw, img.width, img.height, cmyk, message)) return bad("JPEG", message);
  if (!cmyk) {
    img.rgb = std::move(raw);
    return img;
  }
  // libjpeg returns Adobe's inverted CMYK: channel value x stands for ink 255 - x.
  img.rgb.resize(static_cast<size_t>(img.width * img.height * 3));
  for (int64_t i = 0; i < img.width * img.height; ++i)
    for (int ch = 0; ch < 3; ++ch) img.rgb[3 * i + ch] = static_cast<uint8_t>((raw[4 * i + ch] * raw[4 * i + 3] + 127) / 255);
  return img;
#else
  (void)data;
  return missing("JPEG", "libjpeg (Debian libjpeg62-turbo-dev)");
#endif
}

Result<RgbImage> decode_png(Bytes data) {
#ifdef TESSERA_HAVE_PNG
  RgbImage img;
  PngSource src;
  src.data = data;
  std::vector<png_bytep> rows;
  if (!png_decode(src, img.rgb, rows, img.width, img.height)) return bad("PNG", src.message[0] ? src.message : "libpng failed");
  return img;
#else
  (void)data;
  return missing("PNG", "libpng (Debian libpng-dev)");
#endif
}

Result<RgbImage> decode_tiff(Bytes data) {
#ifdef TESSERA_HAVE_TIFF
  TiffSource src;
  src.data = data;
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  if (!opts) return bad("TIFF", "out of memory");
  TIFFOpenOptionsSetErrorHandlerExtR(opts, tiff_error, &src);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, tiff_warning, &src);
  TIFF* tif = TIFFClientOpenExt("<memory>", "rm", &src, tiff_read, tiff_write, tiff_seek, tiff_close, tiff_size,
                                tiff_map, tiff_unmap, opts);
  TIFFOpenOptionsFree(opts);
  if (!tif) return bad("TIFF", src.message.empty() ? "not a TIFF stream" : src.message);
  uint32_t w = 0, h = 0;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
  RgbImage img;
  img.width = w;
  img.height = h;
  if (!size_ok(img.width, img.height)) {
    TIFFClose(tif);
    return bad("TIFF", "image size is out of range");
  }
  // libtiff's RGBA interface handles every photometric, depth and layout; the first page only.
  std::vector<uint32_t> raster(static_cast<size_t>(img.width * img.height));
  const int ok = TIFFReadRGBAImageOriented(tif, w, h, raster.data(), ORIENTATION_TOPLEFT, 1);
  TIFFClose(tif);
  if (!ok) return bad("TIFF", src.message.empty() ? "libtiff could not read the pixels" : src.message);
  img.rgb.resize(raster.size() * 3);
  for (size_t i = 0; i < raster.size(); ++i) {
    img.rgb[3 * i] = static_cast<uint8_t>(TIFFGetR(raster[i]));
    img.rgb[3 * i + 1] = static_cast<uint8_t>(TIFFGetG(raster[i]));
    img.rgb[3 * i + 2] = static_cast<uint8_t>(TIFFGetB(raster[i]));
  }
  return img;
#else
  (void)data;
  return missing("TIFF", "libtiff (Debian libtiff-dev)");
#endif
}

Result<RgbImage> decode_webp(Bytes data) {
#ifdef TESSERA_HAVE_WEBP
  int w = 0, h = 0;
  if (!WebPGetInfo(data.data(), data.size(), &w, &h) || !size_ok(w, h)) return bad("WebP", "malformed header");
  uint8_t* pixels = WebPDecodeRGB(data.data(), data.size(), &w, &h);
  if (!pixels) return bad("WebP", "libwebp could not decode the stream");
  RgbImage img;
  img.width = w;
  img.height = h;
  img.rgb.assign(pixels, pixels + static_cast<size_t>(w) * h * 3);
  WebPFree(pixels);
  return img;
#else
  (void)data;
  return missing("WebP", "libwebp (Debian libwebp-dev)");
#endif
}

Result<RgbImage> decode_jpeg2000(Bytes data) {
#ifdef TESSERA_HAVE_OPENJP2
  Jp2Source src;
  src.data = data;
  const bool codestream = data.size() >= 4 && data[0] == 0xFF && data[1] == 0x4F && data[2] == 0xFF && data[3] == 0x51;
  opj_codec_t* codec = opj_create_decompress(codestream ? OPJ_CODEC_J2K : OPJ_CODEC_JP2);
  opj_stream_t* stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  opj_image_t* image = nullptr;
  auto cleanup = [&] {
    if (image) opj_image_destroy(image);
    if (stream) opj_stream_destroy(stream);
    if (codec) opj_destroy_codec(codec);
  };
  if (!codec || !stream) {
    cleanup();
    return bad("JPEG 2000", "out of memory");
  }
  opj_set_error_handler(codec, jp2_error, &src);
  opj_set_warning_handler(codec, jp2_quiet, nullptr);
  opj_set_info_handler(codec, jp2_quiet, nullptr);
  opj_stream_set_user_data(stream, &src, nullptr);
  opj_stream_set_user_data_length(stream, data.size());
  opj_stream_set_read_function(stream, jp2_read);
  opj_stream_set_skip_function(stream, jp2_skip);
  opj_stream_set_seek_function(stream, jp2_seek);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  const bool ok = opj_setup_decoder(codec, &params) && opj_read_header(stream, codec, &image) && image &&
                  opj_decode(codec, stream, image) && opj_end_decompress(codec, stream);
  if (!ok || !image || image->numcomps < 1) {
    std::string why = src.message.empty() ? "openjpeg could not decode the stream" : src.message;
    cleanup();
    return bad("JPEG 2000", why);
  }
  RgbImage img;
  img.width = static_cast<int64_t>(image->x1) - image->x0;
  img.height = static_cast<int64_t>(image->y1) - image->y0;
  bool comps_ok = size_ok(img.width, img.height);
  for (OPJ_UINT32 c = 0; c < image->numcomps && comps_ok; ++c)
    comps_ok = image->comps[c].data && image->comps[c].w > 0 && image->comps[c].h > 0 && image->comps[c].prec >= 1 &&
               image->comps[c].prec <= 31;
  if (!comps_ok) {
    cleanup();
    return bad("JPEG 2000", "unsupported image geometry");
  }
  img.rgb.resize(static_cast<size_t>(img.width * img.height * 3));
  const bool color = image->numcomps >= 3;
  const bool ycc = color && image->color_space == OPJ_CLRSPC_SYCC;
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x) {
      uint8_t* o = img.rgb.data() + (y * img.width + x) * 3;
      for (int ch = 0; ch < 3; ++ch) o[ch] = jp2_sample(image->comps[color ? ch : 0], x, y);
      if (ycc) {  // full-range BT.601, as JPEG uses
        const double Y = o[0], cb = o[1] - 128.0, cr = o[2] - 128.0;
        o[0] = static_cast<uint8_t>(std::clamp(std::lround(Y + 1.402 * cr), 0L, 255L));
        o[1] = static_cast<uint8_t>(std::clamp(std::lround(Y - 0.344136 * cb - 0.714136 * cr), 0L, 255L));
        o[2] = static_cast<uint8_t>(std::clamp(std::lround(Y + 1.772 * cb), 0L, 255L));
      }
    }
  cleanup();
  return img;
#else
  (void)data;
  return missing("JPEG 2000", "openjpeg (Debian libopenjp2-7-dev)");
#endif
}

}  // namespace tessera::image
