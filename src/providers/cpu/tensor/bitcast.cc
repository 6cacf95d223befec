// BitCast: reinterpret a tensor's bits as another type of the same width (reinterpretation, no
// arithmetic).
#include <cstring>
#include <memory>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "core/float_types.h"

namespace tessera {
namespace {

int bit_width(DataType t) {
  if (is_subbyte_dtype(t)) return subbyte_bits(t);
  if (t == DataType::boolean) return 8;
  return static_cast<int>(dtype_size(t)) * 8;
}

class BitCastKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(int64_t to, info.required_int("to"));
    if (!is_known_dtype(static_cast<int32_t>(to)) || to == static_cast<int64_t>(DataType::string) ||
        to == static_cast<int64_t>(DataType::undefined))
      return info.error("'to' must be a non-string tensor type, got ", to);
    return std::unique_ptr<OpKernel>(new BitCastKernel(static_cast<DataType>(to)));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const DataType from = x->dtype();
    if (from == DataType::string) return ctx.error("BitCast from string is not supported");
    if (bit_width(from) != bit_width(to_))
      return ctx.error("cannot bitcast ", dtype_name(from), " (", bit_width(from), " bits) to ", dtype_name(to_), " (",
                       bit_width(to_), " bits)");
    Tensor& y = ctx.allocate_output(0, to_, x->shape());
    const int64_t n = x->size();
    const uint8_t* src = static_cast<const uint8_t*>(x->raw_data());
    uint8_t* dst = static_cast<uint8_t*>(y.raw_data());
    if (is_subbyte_dtype(to_)) {
      // One element per byte in memory; int4/int2 are kept sign-extended.
      const int bits = subbyte_bits(to_);
      const uint8_t mask = static_cast<uint8_t>((1u << bits) - 1);
      const bool sign_extend = is_signed_dtype(to_) && is_integer_dtype(to_);
      for (int64_t i = 0; i < n; ++i) {
        uint8_t v = src[i] & mask;
        if (sign_extend && (v >> (bits - 1)) != 0) v = static_cast<uint8_t>(v | ~mask);
        dst[i] = v;
      }
    } else if (to_ == DataType::boolean) {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i] != 0 ? 1 : 0;  // a C++ bool holds 0 or 1
    } else if (n > 0) {
      std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(to_));
    }
    return Status::ok();
  }

 private:
  explicit BitCastKernel(DataType to) : to_(to) {}
  DataType to_;
};

}  // namespace

void register_bitcast(KernelRegistry& r) {
  r.add({"", "BitCast", 26, kLatestOnnxOpset, BitCastKernel::create});
}

}  // namespace tessera
