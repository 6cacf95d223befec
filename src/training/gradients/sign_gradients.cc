// Gradients of ops whose derivative is a sign: Abs (the L1 and BCE-with-logits losses of
// generate_artifacts use it). dx = g * Sign(x); at x = 0 the subgradient 0, as PyTorch.
#include "training/gradient_context.h"
#include "training/gradients/families.h"

namespace tessera {
namespace {

Status abs_grad(GradientContext& ctx) {
  if (ctx.wants(0)) ctx.set_input_grad(0, ctx.add("Mul", {ctx.output_grad(0), ctx.add("Sign", {ctx.input(0)})}));
  return Status::ok();
}

const GradientEntry kEntries[] = {
    {"", "Abs", abs_grad},
};

}  // namespace

bool register_sign_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
