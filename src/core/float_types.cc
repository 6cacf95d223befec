#include "core/float_types.h"

#include <cmath>

namespace tessera {

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do { ++e; mant <<= 1; } while ((mant & 0x400) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | (abs > 0x7f800000u ? 0x7e00 : 0x7c00);  // NaN / inf
  if (abs >= 0x477ff000u) return sign | 0x7c00;  // rounds past the largest half: inf
  if (abs < 0x38800000u) {  // result is subnormal or zero
    if (abs < 0x33000000u) return sign;  // below half the smallest subnormal
    uint32_t mant = (abs & 0x7fffff) | 0x800000;
    int shift = 126 - static_cast<int>(abs >> 23);  // value / 2^-24, the half subnormal unit
    uint32_t half_mant = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_mant & 1))) ++half_mant;
    return sign | static_cast<uint16_t>(half_mant);
  }
  uint32_t rebased = abs - (112u << 23);  // exponent bias 127 -> 15
  uint32_t half = rebased >> 13;
  uint32_t rem = rebased & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;
  return sign | static_cast<uint16_t>(half);
}

uint16_t float_to_bfloat16(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  if (std::isnan(value)) return static_cast<uint16_t>((x >> 16) | 0x40);
  uint32_t rounding = 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

// ---- float8 / float4 -------------------------------------------------------------------------
// Every small format here is described by its exponent/mantissa widths and bias plus how it spells
// NaN and infinity; one encoder and one decoder serve them all.

namespace {

enum class SpecialKind {
  fn,    // no infinity; all-ones exponent and mantissa is NaN (e4m3fn)
  fnuz,  // no infinity, no negative zero; 0x80 is the only NaN
  ieee,  // all-ones exponent is inf (mantissa 0) or NaN (e5m2)
  none,  // no inf, no NaN (float4e2m1)
};

struct MiniFormat {
  int exp_bits;
  int mant_bits;
  int bias;
  SpecialKind kind;
  uint32_t max_code;  // largest finite magnitude code (sign bit clear)
};

constexpr MiniFormat kE4M3FN{4, 3, 7, SpecialKind::fn, 0x7e};
constexpr MiniFormat kE4M3FNUZ{4, 3, 8, SpecialKind::fnuz, 0x7f};
constexpr MiniFormat kE5M2{5, 2, 15, SpecialKind::ieee, 0x7b};
constexpr MiniFormat kE5M2FNUZ{5, 2, 16, SpecialKind::fnuz, 0x7f};
constexpr MiniFormat kE2M1{2, 1, 1, SpecialKind::none, 0x7};

float decode_mini(const MiniFormat& f, uint32_t code) {
  const int total = 1 + f.exp_bits + f.mant_bits;
  const uint32_t sign_bit = 1u << (total - 1);
  const bool negative = (code & sign_bit) != 0;
  const uint32_t mag = code & (sign_bit - 1);
  const uint32_t exp = mag >> f.mant_bits;
  const uint32_t mant = mag & ((1u << f.mant_bits) - 1);
  const uint32_t exp_all_ones = (1u << f.exp_bits) - 1;
  switch (f.kind) {
    case SpecialKind::fn:
      if (mag == (sign_bit - 1)) return negative ? -NAN : NAN;
      break;
    case SpecialKind::fnuz:
      if (code == sign_bit) return NAN;
      break;
    case SpecialKind::ieee:
      if (exp == exp_all_ones) {
        if (mant != 0) return negative ? -NAN : NAN;
        return negative ? -INFINITY : INFINITY;
      }
      break;
    case SpecialKind::none:
      break;
  }
  // Subnormals scale the bare mantissa; normals add the implicit leading bit.
  const float value = exp == 0 ? std::ldexp(static_cast<float>(mant), 1 - f.bias - f.mant_bits)
                               : std::ldexp(static_cast<float>(mant | (1u << f.mant_bits)),
                                            static_cast<int>(exp) - f.bias - f.mant_bits);
  return negative ? -value : value;
}

uint32_t encode_mini(const MiniFormat& f, float value, bool saturate) {
  const int total = 1 + f.exp_bits + f.mant_bits;
  const uint32_t sign_bit = 1u << (total - 1);
  uint32_t x;
  std::memcpy(&x, &value, 4);
  const uint32_t sign = (x >> 31) ? sign_bit : 0;
  const uint32_t abs = x & 0x7fffffffu;

  if (abs > 0x7f800000u) {  // NaN
    switch (f.kind) {
      case SpecialKind::fn: return sign | (sign_bit - 1);
      case SpecialKind::fnuz: return sign_bit;
      case SpecialKind::ieee: return sign | (((1u << f.exp_bits) - 1) << f.mant_bits) | (1u << (f.mant_bits - 1));
      case SpecialKind::none: return sign_bit;  // no NaN code: the reference (ml_dtypes) gives 0x8
    }
  }

  // Round to nearest even on the target grid; an infinite input rounds past max_code below.
  uint32_t code;
  if (abs == 0x7f800000u) {
    code = f.max_code + 1;
  } else {
    const int exp32 = static_cast<int>(abs >> 23);
    if (exp32 == 0) {
      code = 0;  // float32 subnormals are far below the smallest subnormal of every format here
    } else {
      const int exp = exp32 - 127 + f.bias;  // biased exponent in the target format
      const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
      const int shift = exp >= 1 ? 23 - f.mant_bits : 23 - f.mant_bits + 1 - exp;
      if (shift >= 25) {
        code = 0;
      } else {
        uint32_t q = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) ++q;
        // A normal q carries its implicit bit, which adds one to the exponent field.
        code = exp >= 1 ? (static_cast<uint32_t>(exp - 1) << f.mant_bits) + q : q;
      }
    }
  }

  if (code > f.max_code) {
    if (saturate || f.kind == SpecialKind::none) {
      code = f.max_code;
    } else {
      switch (f.kind) {
        case SpecialKind::fn: return sign | (sign_bit - 1);
        case SpecialKind::fnuz: return sign_bit;
        case SpecialKind::ieee: return sign | (((1u << f.exp_bits) - 1) << f.mant_bits);
        case SpecialKind::none: break;
      }
    }
  }
  if (code == 0 && f.kind == SpecialKind::fnuz) return 0;  // no negative zero
  return sign | code;
}

}  // namespace

float float8e4m3fn_to_float(uint8_t bits) { return decode_mini(kE4M3FN, bits); }
float float8e4m3fnuz_to_float(uint8_t bits) { return decode_mini(kE4M3FNUZ, bits); }
float float8e5m2_to_float(uint8_t bits) { return decode_mini(kE5M2, bits); }
float float8e5m2fnuz_to_float(uint8_t bits) { return decode_mini(kE5M2FNUZ, bits); }
float float4e2m1_to_float(uint8_t bits) { return decode_mini(kE2M1, bits & 0xf); }

uint8_t float_to_float8e4m3fn(float value, bool saturate) {
  return static_cast<uint8_t>(encode_mini(kE4M3FN, value, saturate));
}
uint8_t float_to_float8e4m3fnuz(float value, bool saturate) {
  return static_cast<uint8_t>(encode_mini(kE4M3FNUZ, value, saturate));
}
uint8_t float_to_float8e5m2(float value, bool saturate) {
  return static_cast<uint8_t>(encode_mini(kE5M2, value, saturate));
}
uint8_t float_to_float8e5m2fnuz(float value, bool saturate) {
  return static_cast<uint8_t>(encode_mini(kE5M2FNUZ, value, saturate));
}
// float4e2m1 has no infinity or NaN: out-of-range values always saturate.
uint8_t float_to_float4e2m1(float value, bool saturate) {
  return static_cast<uint8_t>(encode_mini(kE2M1, value, saturate));
}

// float8e8m0 is a bare power of two: 2^(bits - 127), 0xff is NaN, no sign, no zero.
float float8e8m0_to_float(uint8_t bits) {
  if (bits == 0xff) return NAN;
  if (bits == 0) return std::ldexp(1.0f, -127);  // a float32 subnormal
  uint32_t u = static_cast<uint32_t>(bits) << 23;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Rounds up (to the next power of two), the Cast default; other round modes live with Cast.
uint8_t float_to_float8e8m0(float value, bool saturate) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  uint32_t exp = (x >> 23) & 0xff;
  const uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return mant != 0 || !saturate ? 0xff : 0xfe;  // NaN, or inf
  if (exp == 0 && mant == 0) return saturate ? 0x00 : 0xff;      // zero is below the smallest value
  exp += mant != 0;
  if (exp > 0xfe) return saturate ? 0xfe : 0xff;
  return static_cast<uint8_t>(exp);
}

}  // namespace tessera
