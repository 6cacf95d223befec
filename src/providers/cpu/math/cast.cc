// Cast and CastLike between every ONNX element type: the standard numeric types and bool
// (converted directly, one loop per type pair), string (parsed / formatted the way the reference
// implementation's numpy does), the float8 family, float4e2m1 and float8e8m0 (coded floats,
// decoded through a table and encoded through float), and int4/uint4/int2/uint2 (kept unpacked,
// one byte per element, signed ones sign-extended; casting into them wraps like the reference).
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/elementwise.h"

namespace tessera {
namespace {

using namespace elementwise;

constexpr TypeSet kDirectTypes = kNumericTypes | type_bit(DataType::boolean);

enum class E8M0Round { up, down, nearest };

struct CastOptions {
  bool saturate = true;
  E8M0Round round = E8M0Round::up;
};

bool is_coded_float(DataType t) { return (kCodedFloatTypes & type_bit(t)) != 0; }

bool is_small_int(DataType t) { return (kSubByteIntTypes & type_bit(t)) != 0; }

// Small ints are read exactly like the byte type that stores them.
DataType storage_type(DataType t) {
  if (t == DataType::int4 || t == DataType::int2) return DataType::int8;
  if (t == DataType::uint4 || t == DataType::uint2) return DataType::uint8;
  return t;
}

// Keeps the low bits of v, sign-extended for the signed types (what the reference's ml_dtypes
// gives for out-of-range values).
uint8_t wrap_small_int(DataType t, int64_t v) {
  switch (t) {
    case DataType::int4: return static_cast<uint8_t>(static_cast<int8_t>(((v & 0xf) ^ 0x8) - 0x8));
    case DataType::uint4: return static_cast<uint8_t>(v & 0xf);
    case DataType::int2: return static_cast<uint8_t>(static_cast<int8_t>(((v & 0x3) ^ 0x2) - 0x2));
    default: return static_cast<uint8_t>(v & 0x3);
  }
}

// ---- scalar conversions between the standard types ----

// A double to an integer type: truncation toward zero; NaN and out-of-range values follow what
// the reference (numpy on x86) gives: narrow types go through int32, uint32 through int64,
// and the int32/int64 conversions give the type's minimum.
template <class I>
I checked_trunc(double v) {
  constexpr double lo = static_cast<double>(std::numeric_limits<I>::min());
  if (!(v >= lo && v < -2.0 * lo)) return std::numeric_limits<I>::min();
  return static_cast<I>(v);
}

template <class D>
D float_to_integer(double v) {
  if constexpr (std::is_same_v<D, int64_t> || std::is_same_v<D, int32_t>) {
    return checked_trunc<D>(v);
  } else if constexpr (std::is_same_v<D, uint64_t>) {
    if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) return static_cast<uint64_t>(v);
    return static_cast<uint64_t>(checked_trunc<int64_t>(v));
  } else if constexpr (std::is_same_v<D, uint32_t>) {
    return static_cast<D>(checked_trunc<int64_t>(v));
  } else {
    return static_cast<D>(checked_trunc<int32_t>(v));
  }
}

// A double as a float rounded to odd: exact values stay, inexact ones keep a sticky low bit, so
// rounding that float again to float16/bfloat16 (far fewer bits) gives the correctly rounded
// result, as a direct conversion would.
inline float round_to_odd_float(double v) {
  float f = static_cast<float>(v);
  if (std::isfinite(f) && static_cast<double>(f) != v) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    if (std::fabs(static_cast<double>(f)) > std::fabs(v)) --bits;  // truncate toward zero
    bits |= 1;
    std::memcpy(&f, &bits, sizeof bits);
  }
  return f;
}

template <class D, class S>
D convert_value(const S& s) {
  if constexpr (std::is_same_v<D, S>) {
    return s;
  } else if constexpr (std::is_same_v<S, bool>) {
    return from_computed<D>(s ? 1 : 0);
  } else if constexpr (std::is_same_v<D, bool>) {
    return to_computed(s) != 0;  // NaN is true
  } else if constexpr (is_half_float_v<D> && !std::is_same_v<S, float> && !is_half_float_v<S>) {
    return from_computed<D>(round_to_odd_float(static_cast<double>(s)));  // double, wide ints
  } else if constexpr (is_half_float_v<D> || std::is_floating_point_v<D>) {
    return from_computed<D>(to_computed(s));
  } else if constexpr (is_half_float_v<S> || std::is_floating_point_v<S>) {
    return float_to_integer<D>(static_cast<double>(to_computed(s)));
  } else {
    return static_cast<D>(s);  // integers wrap (two's complement)
  }
}

// ---- coded floats (float8 family, float4e2m1, float8e8m0) ----

// Every code of coded float type T decoded to float, built once per type.
template <class T>
const std::array<float, 256>& decode_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t;
    for (int c = 0; c < 256; ++c) t[c] = to_float(T{static_cast<uint8_t>(c)});
    return t;
  }();
  return table;
}

// float8e8m0 with Cast's round_mode: the power of two at or above (up), at or below (down), or
// nearest to (nearest, ties up) the value. Zero and values below 2^-127 are out of range.
uint8_t encode_e8m0(float value, bool saturate, E8M0Round round) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  uint32_t exp = (x >> 23) & 0xff;
  const uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return mant != 0 || !saturate ? 0xff : 0xfe;
  if (exp == 0 && mant == 0) return saturate ? 0x00 : 0xff;
  switch (round) {
    case E8M0Round::up: exp += mant != 0; break;
    case E8M0Round::down: break;
    case E8M0Round::nearest: exp += mant >= 0x400000; break;
  }
  if (exp > 0xfe) return saturate ? 0xfe : 0xff;
  return static_cast<uint8_t>(exp);
}

uint8_t encode_coded(DataType t, float v, const CastOptions& opt) {
  switch (t) {
    case DataType::float8e4m3fn: return float_to_float8e4m3fn(v, opt.saturate);
    case DataType::float8e4m3fnuz: return float_to_float8e4m3fnuz(v, opt.saturate);
    case DataType::float8e5m2: return float_to_float8e5m2(v, opt.saturate);
    case DataType::float8e5m2fnuz: return float_to_float8e5m2fnuz(v, opt.saturate);
    case DataType::float4e2m1: return float_to_float4e2m1(v, opt.saturate);
    default: return encode_e8m0(v, opt.saturate, opt.round);
  }
}

// ---- numbers to strings, as numpy's astype(str) writes them ----

// Lays out shortest round-trip digits the numpy way: positional for 1e-4 <= |v| < 1e16 ("0.001",
// "100.0"), scientific otherwise ("1e-05", "1.5e+20"). `sci` is "d.ddde±x" from to_chars/printf.
std::string numpy_layout(double v, const std::string& sci) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  size_t e_pos = sci.find_first_of("eE");
  std::string mant = sci.substr(0, e_pos);
  int exp10 = std::atoi(sci.c_str() + e_pos + 1);
  const bool negative = !mant.empty() && mant[0] == '-';
  std::string digits;
  for (char ch : mant)
    if (ch >= '0' && ch <= '9') digits += ch;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const std::string sign = negative ? "-" : "";
  const double a = std::fabs(v);
  if (a == 0) return sign + "0.0";
  if (a >= 1e-4 && a < 1e16) {
    if (exp10 >= 0) {
      const size_t int_len = static_cast<size_t>(exp10) + 1;
      if (digits.size() <= int_len) return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
      return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
    return sign + "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
  }
  std::string out = sign + digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
  return out + exp_buf;
}

template <class F>
std::string shortest_float(F v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  return numpy_layout(static_cast<double>(v), std::string(buf, res.ptr));
}

// Shortest digits of a narrow float (float16, bfloat16, coded floats): the fewest significant
// digits that read back (through float) into the same bits.
template <class Roundtrips>
std::string shortest_narrow(float v, const Roundtrips& same) {
  if (std::isnan(v) || std::isinf(v)) return numpy_layout(v, "0e0");
  char buf[64];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*e", digits - 1, static_cast<double>(v));
    if (same(std::strtof(buf, nullptr))) break;
  }
  return numpy_layout(v, buf);
}

template <class S>
std::string to_string_value(const S& s) {
  if constexpr (std::is_same_v<S, bool>) {
    return s ? "True" : "False";
  } else if constexpr (std::is_same_v<S, float16_t>) {
    return shortest_narrow(to_float(s), [&](float f) { return float_to_half(f) == s.bits; });
  } else if constexpr (std::is_same_v<S, bfloat16_t>) {
    return shortest_narrow(to_float(s), [&](float f) { return float_to_bfloat16(f) == s.bits; });
  } else if constexpr (std::is_floating_point_v<S>) {
    return shortest_float(s);
  } else {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof(buf), s);
    return std::string(buf, res.ptr);
  }
}

// ---- strings to numbers ----

bool iequals(const std::string& a, const char* b) {
  if (a.size() != std::strlen(b)) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

bool parse_double(const std::string& s, double* out) {
  const char* begin = s.c_str();
  char* end = nullptr;
  *out = std::strtod(begin, &end);
  if (end == begin) return false;
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') ++end;
  return *end == '\0';
}

template <class D>
bool parse_value(const std::string& s, D* out) {
  if constexpr (std::is_same_v<D, bool>) {
    if (iequals(s, "true")) return *out = true, true;
    if (iequals(s, "false")) return *out = false, true;
  }
  if constexpr (std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    // Exact integer text first (keeps all 64 bits); "100.5" falls back to the float path.
    const char* b = s.data();
    const char* e = s.data() + s.size();
    if (b != e && *b == '+') ++b;
    D v{};
    auto res = std::from_chars(b, e, v);
    if (res.ec == std::errc() && res.ptr == e) return *out = v, true;
  }
  double d;
  if (!parse_double(s, &d)) return false;
  *out = convert_value<D>(d);
  return true;
}

// ---- the kernel ----

class CastKernel final : public OpKernel {
 public:
  CastKernel(DataType to, bool like, CastOptions opt, std::string where)
      : to_(to), like_(like), opt_(opt), where_(std::move(where)) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info, bool like) {
    CastOptions opt;
    opt.saturate = info.attr_int("saturate", 1) != 0;
    const std::string round = info.attr_string("round_mode", "up");
    if (round == "up") opt.round = E8M0Round::up;
    else if (round == "down") opt.round = E8M0Round::down;
    else if (round == "nearest") opt.round = E8M0Round::nearest;
    else return info.error("attribute 'round_mode' must be 'up', 'down' or 'nearest', got '", round, "'");
    DataType to = DataType::undefined;
    if (!like) {
      const Attribute* a = info.node().attribute("to");
      if (!a) return info.error("required attribute 'to' is missing");
      if (a->type == Attribute::Type::string_) {
        // Cast-1 names the type ("FLOAT", "INT64", ...).
        for (int32_t v = 1; v <= kMaxDataTypeValue; ++v) {
          std::string name(dtype_name(static_cast<DataType>(v)));
          for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          if (name == a->s) to = static_cast<DataType>(v);
        }
      } else if (is_known_dtype(static_cast<int32_t>(a->i))) {
        to = static_cast<DataType>(a->i);
      }
      if (to == DataType::undefined || to == DataType::complex64 || to == DataType::complex128) {
        const std::string given = a->type == Attribute::Type::string_ ? a->s : std::to_string(a->i);
        return info.error("attribute 'to' (", given, ") is not a type Cast can produce");
      }
    }
    return std::unique_ptr<OpKernel>(new CastKernel(to, like, opt, info.node().describe()));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    DataType to = to_;
    if (like_) {
      TS_ASSIGN_OR_RETURN(const Tensor* target, ctx.required_input(1));
      to = target->dtype();
    }
    const DataType from = x->dtype();
    if (from == to) {
      ctx.set_output(0, Value(*x));
      return Status::ok();
    }
    auto is_complex = [](DataType t) { return t == DataType::complex64 || t == DataType::complex128; };
    if (is_complex(from) || is_complex(to))
      return ctx.error("casting from ", dtype_name(from), " to ", dtype_name(to), " is not supported");
    Tensor& y = ctx.allocate_output(0, to, x->shape());
    if (from == DataType::string) return from_string(ctx, *x, y);
    if (to == DataType::string) return to_string(*x, y);
    if (is_coded_float(from)) return from_coded(ctx, *x, y);
    if (is_coded_float(to)) return to_coded(ctx, *x, y);
    if (is_small_int(to)) return to_small_int(*x, y);
    return direct(ctx, *x, y);
  }

 private:
  // Standard (or small int) source to a standard destination: one loop per type pair.
  Status direct(KernelContext& ctx, const Tensor& x, Tensor& y) const {
    return dispatch<kDirectTypes>(
        storage_type(x.dtype()),
        [&]<class S>() -> Status {
          return dispatch<kDirectTypes>(
              y.dtype(),
              [&]<class D>() -> Status {
                const S* in = x.data<S>();
                D* out = y.data<D>();
                parallel_elements(ctx.thread_pool(), x.size(), kCheapChunk, [&](int64_t b, int64_t e) {
                  // float <-> float16/bfloat16, the common casts, go 8 lanes at a time.
                  if constexpr (std::is_same_v<S, float> && is_half_float_v<D>) {
                    simd::with_best_isa([&]<int N>() TS_SIMD_BODY { narrow<N>(in + b, out + b, e - b); });
                  } else if constexpr (is_half_float_v<S> && std::is_same_v<D, float>) {
                    simd::with_best_isa([&]<int N>() TS_SIMD_BODY { widen<N>(in + b, out + b, e - b); });
                  } else {
                    for (int64_t i = b; i < e; ++i) out[i] = convert_value<D>(in[i]);
                  }
                });
                return Status::ok();
              },
              where_);
        },
        where_);
  }

  Status to_small_int(const Tensor& x, Tensor& y) const {
    const DataType to = y.dtype();
    uint8_t* out = static_cast<uint8_t*>(y.raw_data());
    return dispatch<kDirectTypes>(
        storage_type(x.dtype()),
        [&]<class S>() -> Status {
          const S* in = x.data<S>();
          for (int64_t i = 0; i < x.size(); ++i) out[i] = wrap_small_int(to, convert_value<int64_t>(in[i]));
          return Status::ok();
        },
        where_);
  }

  Status to_coded(KernelContext& ctx, const Tensor& x, Tensor& y) const {
    const DataType to = y.dtype();
    uint8_t* out = static_cast<uint8_t*>(y.raw_data());
    return dispatch<kDirectTypes>(
        storage_type(x.dtype()),
        [&]<class S>() -> Status {
          const S* in = x.data<S>();
          parallel_elements(ctx.thread_pool(), x.size(), kCostlyChunk, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) out[i] = encode_coded(to, convert_value<float>(in[i]), opt_);
          });
          return Status::ok();
        },
        where_);
  }

  // Coded float source: table lookup to float, then float to the destination.
  Status from_coded(KernelContext& ctx, const Tensor& x, Tensor& y) const {
    return dispatch<kCodedFloatTypes>(x.dtype(), [&]<class S>() { return from_coded_as<S>(ctx, x, y); }, where_);
  }

  template <class S>
  Status from_coded_as(KernelContext& ctx, const Tensor& x, Tensor& y) const {
    const std::array<float, 256>& table = decode_table<S>();
    const uint8_t* in = static_cast<const uint8_t*>(x.raw_data());
    const int64_t n = x.size();
    const DataType to = y.dtype();
    if (to == DataType::string) {
      std::string* out = y.data<std::string>();
      for (int64_t i = 0; i < n; ++i) {
        const DataType from = x.dtype();
        const uint8_t code = in[i];
        out[i] = shortest_narrow(table[code], [&](float f) { return encode_coded(from, f, CastOptions{}) == code; });
      }
      return Status::ok();
    }
    if (is_coded_float(to)) {
      uint8_t* out = static_cast<uint8_t*>(y.raw_data());
      for (int64_t i = 0; i < n; ++i) out[i] = encode_coded(to, table[in[i]], opt_);
      return Status::ok();
    }
    if (is_small_int(to)) {
      uint8_t* out = static_cast<uint8_t*>(y.raw_data());
      for (int64_t i = 0; i < n; ++i) out[i] = wrap_small_int(to, convert_value<int64_t>(table[in[i]]));
      return Status::ok();
    }
    return dispatch<kDirectTypes>(
        to,
        [&]<class D>() -> Status {
          D* out = y.data<D>();
          parallel_elements(ctx.thread_pool(), n, kCheapChunk, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) out[i] = convert_value<D>(table[in[i]]);
          });
          return Status::ok();
        },
        where_);
  }

  Status to_string(const Tensor& x, Tensor& y) const {
    std::string* out = y.data<std::string>();
    return dispatch<kDirectTypes>(
        storage_type(x.dtype()),
        [&]<class S>() -> Status {
          const S* in = x.data<S>();
          for (int64_t i = 0; i < x.size(); ++i) out[i] = to_string_value(in[i]);
          return Status::ok();
        },
        where_);
  }

  Status from_string(KernelContext& ctx, const Tensor& x, Tensor& y) const {
    const std::string* in = x.data<std::string>();
    const int64_t n = x.size();
    const DataType to = y.dtype();
    if (is_coded_float(to) || is_small_int(to)) {
      uint8_t* out = static_cast<uint8_t*>(y.raw_data());
      for (int64_t i = 0; i < n; ++i) {
        double d;
        if (!parse_double(in[i], &d)) return ctx.error("cannot parse '", in[i], "' as a number");
        out[i] = is_small_int(to) ? wrap_small_int(to, convert_value<int64_t>(d))
                                  : encode_coded(to, static_cast<float>(d), opt_);
      }
      return Status::ok();
    }
    return dispatch<kDirectTypes>(
        to,
        [&]<class D>() -> Status {
          D* out = y.data<D>();
          for (int64_t i = 0; i < n; ++i)
            if (!parse_value(in[i], &out[i])) return ctx.error("cannot parse '", in[i], "' as ", dtype_name(to));
          return Status::ok();
        },
        where_);
  }

  DataType to_;
  bool like_;
  CastOptions opt_;
  std::string where_;  // the node, for messages
};

}  // namespace

void register_cast(KernelRegistry& r) {
  // saturate (19) and round_mode (24) default to the older behavior, so one kernel serves all.
  r.add({"", "Cast", 1, kLatestOnnxOpset, [](const KernelInfo& info) { return CastKernel::create(info, false); }});
  r.add({"", "CastLike", 15, kLatestOnnxOpset, [](const KernelInfo& info) { return CastKernel::create(info, true); }});
}

}  // namespace tessera
