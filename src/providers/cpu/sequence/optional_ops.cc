// Optional, OptionalHasElement, OptionalGetElement. An empty optional is
// Value::empty_optional(); an optional that holds a tensor or a sequence is that value itself,
// so wrapping and unwrapping forward the value without copying.
#include "providers/cpu/families.h"

namespace tessera {
namespace {

class OptionalKernel final : public OpKernel {
 public:
  explicit OptionalKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    const Value* v = ctx.input_value(0);
    ctx.set_output(0, v ? *v : Value::empty_optional());
    return Status::ok();
  }
};

// Opset 15 takes only optionals; 18 also plain tensors and sequences (always "has an element")
// and an omitted input (never has one).
class OptionalHasElementKernel final : public OpKernel {
 public:
  explicit OptionalHasElementKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    const Value* v = ctx.input_value(0);
    ctx.allocate_output(0, DataType::boolean, {}).data<bool>()[0] = v && !v->is_empty_optional();
    return Status::ok();
  }
};

class OptionalGetElementKernel final : public OpKernel {
 public:
  explicit OptionalGetElementKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    const Value* v = ctx.input_value(0);
    if (!v || v->is_empty_optional()) return ctx.error("the optional input is empty");
    ctx.set_output(0, *v);
    return Status::ok();
  }
};

}  // namespace

void register_optional(KernelRegistry& r) {
  static const KernelDef defs[] = {
      {"", "Optional", 15, kLatestOnnxOpset, make_factory<OptionalKernel>()},
      {"", "OptionalHasElement", 15, kLatestOnnxOpset, make_factory<OptionalHasElementKernel>()},
      {"", "OptionalGetElement", 15, kLatestOnnxOpset, make_factory<OptionalGetElementKernel>()},
  };
  for (const auto& def : defs) r.add(def);
}

}  // namespace tessera
