// Shared pieces of the ai.onnx.ml kernels: the score post-transforms (as ONNX Runtime applies
// them, including its conventions for one-score binary classifiers), attribute readers and
// the numeric type set. The family's registration functions are declared in families.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "framework/kernel.h"
#include "framework/kernel_registry.h"

namespace tessera {

// The numeric types most ai.onnx.ml ops accept.
constexpr TypeSet kMlNumeric = type_bit(DataType::float32) | type_bit(DataType::float64) |
                               type_bit(DataType::int64) | type_bit(DataType::int32);

namespace ml {

inline constexpr const char* kDomain = "ai.onnx.ml";

enum class PostTransform { none, logistic, softmax, softmax_zero, probit };

// From the string attribute of the older ops ("NONE", "SOFTMAX", ...); false when unknown.
inline bool parse_post_transform(const std::string& s, PostTransform* out) {
  if (s == "NONE") *out = PostTransform::none;
  else if (s == "LOGISTIC") *out = PostTransform::logistic;
  else if (s == "SOFTMAX") *out = PostTransform::softmax;
  else if (s == "SOFTMAX_ZERO") *out = PostTransform::softmax_zero;
  else if (s == "PROBIT") *out = PostTransform::probit;
  else return false;
  return true;
}

// Winitzki's approximation of erf^-1, the one ONNX Runtime uses for PROBIT.
inline float erf_inv(float x) {
  const float sgn = x < 0 ? -1.0f : 1.0f;
  x = (1 - x) * (1 + x);
  const float log = std::log(x);
  const float v = 2 / (3.14159265f * 0.147f) + 0.5f * log;
  const float v2 = 1 / 0.147f * log;
  const float v3 = -v + std::sqrt(v * v - v2);
  return sgn * std::sqrt(v3);
}

inline float logistic(float v) {
  const float e = 1 / (1 + std::exp(-std::abs(v)));
  return v < 0 ? 1 - e : e;
}

inline float probit(float v) { return 1.41421356f * erf_inv(2 * v - 1); }

// Softmax in float over n values, in place.
template <class T>
void softmax(T* v, int64_t n) {
  float mx = -std::numeric_limits<float>::max();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<float>(v[i]));
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    v[i] = static_cast<T>(std::exp(static_cast<float>(v[i]) - mx));
    sum += static_cast<float>(v[i]);
  }
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<T>(static_cast<float>(v[i]) / sum);
}

// Softmax that leaves (near-)zero scores at zero-ish: they are scaled by exp(-max), not exp'd.
template <class T>
void softmax_zero(T* v, int64_t n) {
  float mx = -std::numeric_limits<float>::max();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<float>(v[i]));
  const float exp_neg_max = std::exp(-mx);
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float x = static_cast<float>(v[i]);
    if (x > 0.0000001f || x < -0.0000001f) {
      v[i] = static_cast<T>(std::exp(x - mx));
      sum += static_cast<float>(v[i]);
    } else {
      v[i] = static_cast<T>(x * exp_neg_max);
    }
  }
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<T>(static_cast<float>(v[i]) / sum);
}

// Applies the transform to a row of n >= 2 scores in place.
template <class T>
void transform_row(PostTransform pt, T* v, int64_t n) {
  switch (pt) {
    case PostTransform::probit:
      for (int64_t i = 0; i < n; ++i) v[i] = static_cast<T>(probit(static_cast<float>(v[i])));
      break;
    case PostTransform::logistic:
      for (int64_t i = 0; i < n; ++i) v[i] = static_cast<T>(logistic(static_cast<float>(v[i])));
      break;
    case PostTransform::softmax: softmax(v, n); break;
    case PostTransform::softmax_zero: softmax_zero(v, n); break;
    case PostTransform::none: break;
  }
}

// How a classifier that produced one score fills the two score columns, as ONNX Runtime does:
// -1 writes the score alone; 0 and 1 (all weights positive) write [1 - s, s] (s = logistic(s)
// first under LOGISTIC); 2 and 3 (mixed weights) write [-s, s], or [logistic(-s), logistic(s)]
// under LOGISTIC. PROBIT writes probit(s).
template <class T>
void write_one_score(PostTransform pt, float s, int second_class, T* out) {
  if (pt == PostTransform::probit) {
    out[0] = static_cast<T>(probit(s));
    return;
  }
  switch (second_class) {
    case 0:
    case 1:
      if (pt == PostTransform::logistic) s = logistic(s);
      out[0] = static_cast<T>(1 - s);
      out[1] = static_cast<T>(s);
      break;
    case 2:
    case 3:
      if (pt == PostTransform::logistic) {
        out[0] = static_cast<T>(logistic(-s));
        out[1] = static_cast<T>(logistic(s));
      } else {
        out[0] = static_cast<T>(-s);
        out[1] = static_cast<T>(s);
      }
      break;
    default:
      out[0] = static_cast<T>(s);
      break;
  }
}

// A list-of-floats attribute, or its *_as_tensor (double) twin; empty when neither is set.
inline std::vector<double> floats_or_tensor(const KernelInfo& info, const std::string& name) {
  std::vector<double> out;
  if (const Tensor* t = info.attr_tensor(name + "_as_tensor"); t && t->defined()) {
    for (int64_t i = 0; i < t->size(); ++i)
      out.push_back(t->dtype() == DataType::float64 ? t->data<double>()[i] : static_cast<double>(t->data<float>()[i]));
    return out;
  }
  for (float f : info.attr_floats(name)) out.push_back(f);
  return out;
}

// A tensor attribute of float/double values as doubles; false when it is another type.
inline bool tensor_as_doubles(const Tensor& t, std::vector<double>* out) {
  out->clear();
  if (t.dtype() == DataType::float32) {
    for (int64_t i = 0; i < t.size(); ++i) out->push_back(t.data<float>()[i]);
  } else if (t.dtype() == DataType::float64) {
    for (int64_t i = 0; i < t.size(); ++i) out->push_back(t.data<double>()[i]);
  } else {
    return false;
  }
  return true;
}

}  // namespace ml
}  // namespace tessera
