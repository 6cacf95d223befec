// reusable_input (framework/reusable_input.h, executor.cc): a kernel may write its output over an input that
// only its step reads and that nothing else holds. BlockedConv does so with its residual Z: the
// output must then share Z's buffer and still hold conv(x) + bias + Z, for the direct (3x3,
// padded) and the pointwise (1x1) kernels, sequential and parallel runs alike; a Z that is a
// graph output, a graph input or read by another node keeps its own buffer and its values.
// BlockedSqueezeExcite writes over its input the same way: the same numbers either way.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "framework/session.h"
#include "providers/cpu/cpu_provider.h"
#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

constexpr int64_t kH = 5, kW = 6;

// How Z reaches the convolution.
enum class ZSource {
  made_here,      // Relu(z_in): made by a step, read by the convolution alone
  graph_output,   // the same, and also a graph output
  second_reader,  // the same, and also read by an Add after the convolution
  graph_input,    // z_in itself
};

std::vector<float> ramp(int64_t n, float scale, float offset) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>((i * 7) % 23) * scale + offset;
  return v;
}

// Two input blocks: a 1x1 of one block stays on oneDNN (conv.cc), which never writes over Z.
Model residual_model(int64_t B, int64_t k, ZSource source) {
  Model m;
  m.source = "residual";
  m.opset_imports[""] = 17;
  m.opset_imports["com.tessera"] = 1;
  Graph& g = m.graph;
  const std::vector<int64_t> image{1, 1, kH, kW, B};
  g.inputs = {tensor_value("x", DataType::float32, {1, 2, kH, kW, B}), tensor_value("z_in", DataType::float32, image)};
  g.outputs = {tensor_value("y", DataType::float32, image)};
  g.initializers["w"] = tensor_of<float>(DataType::float32, {B, 2 * B, k, k}, ramp(2 * B * B * k * k, 0.01f, -0.1f));
  g.initializers["b"] = tensor_of<float>(DataType::float32, {B}, ramp(B, 0.05f, -0.5f));
  const std::string z = source == ZSource::graph_input ? "z_in" : "z";
  if (source != ZSource::graph_input) g.nodes.push_back(node("relu", "Relu", {"z_in"}, {"z"}));
  Node conv = node("conv", "BlockedConv", {"x", "w", "b", z}, {"y"});
  conv.domain = "com.tessera";
  conv.attributes["block"] = int_attr("block", B);
  conv.attributes["pads"] = ints_attr("pads", std::vector<int64_t>(4, k / 2));
  g.nodes.push_back(conv);
  if (source == ZSource::graph_output) g.outputs.push_back(tensor_value("z", DataType::float32, image));
  if (source == ZSource::second_reader) {
    g.nodes.push_back(node("add", "Add", {"y", "z"}, {"sum"}));
    g.outputs.push_back(tensor_value("sum", DataType::float32, image));
  }
  return m;
}

// Whether the convolution's output took over Z's buffer, seen after its step.
struct SharesZ final : StepObserver {
  void after_step(const Node& node, const std::string&, const std::vector<const Value*>& inputs,
                  const std::vector<const Value*>& outputs) override {
    if (node.name != "conv") return;
    seen = true;
    shared = inputs[3] && outputs[0] && inputs[3]->tensor().shares_buffer_with(outputs[0]->tensor());
  }
  bool seen = false, shared = false;
};

// The model as written (level disabled) on the CPU EP, 2 intra-op threads, no warm-up run.
auto cpu_session(const Model& model, ExecutionMode mode) {
  std::vector<std::unique_ptr<ExecutionProvider>> providers;
  providers.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.optimization_level = OptimizationLevel::disabled;
  options.warm_up = false;
  options.intra_op_threads = 2;
  options.execution_mode = mode;
  return SessionState::create(model, std::move(providers), options);
}

void check(int64_t k, ZSource source, ExecutionMode mode, bool expect_shared) {
  const int64_t B = kernels::depthwise_block_channels();
  const Model model = residual_model(B, k, source);
  const std::vector<float> x = ramp(2 * kH * kW * B, 0.1f, -1.0f), z_in = ramp(kH * kW * B, 0.2f, -2.0f);
  const std::vector<float> w = ramp(2 * B * B * k * k, 0.01f, -0.1f), b = ramp(B, 0.05f, -0.5f);
  // conv(x) + b + Relu(z_in) (or z_in itself), channel m of pixel (h, c) at (h * kW + c) * B + m.
  std::vector<float> want(z_in.size());
  for (int64_t h = 0; h < kH; ++h)
    for (int64_t c = 0; c < kW; ++c)
      for (int64_t m = 0; m < B; ++m) {
        double acc = b[static_cast<size_t>(m)];
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < k; ++j) {
            const int64_t ih = h + i - k / 2, iw = c + j - k / 2;
            if (ih < 0 || ih >= kH || iw < 0 || iw >= kW) continue;
            for (int64_t ch = 0; ch < 2 * B; ++ch)  // block ch / B, lane ch % B
              acc += static_cast<double>(w[static_cast<size_t>(((m * 2 * B + ch) * k + i) * k + j)]) *
                     x[static_cast<size_t>(((ch / B * kH + ih) * kW + iw) * B + ch % B)];
          }
        const float zv = z_in[static_cast<size_t>((h * kW + c) * B + m)];
        want[static_cast<size_t>((h * kW + c) * B + m)] =
            static_cast<float>(acc + (source == ZSource::graph_input ? zv : std::max(zv, 0.0f)));
      }
  auto state = cpu_session(model, mode);
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  const Shape image{1, 1, kH, kW, B};
  const Tensor z_feed = tensor_of<float>(DataType::float32, image, z_in);
  for (int run = 0; run < 2; ++run) {  // the second run reuses the first one's buffers
    SCOPED_TRACE(testing::Message() << "kernel " << k << " source " << static_cast<int>(source) << " run " << run);
    SharesZ observer;
    auto out = (*state)->run({{"x", Value(tensor_of<float>(DataType::float32, {1, 2, kH, kW, B}, x))}, {"z_in", Value(z_feed)}}, {},
                             &observer);
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    ASSERT_TRUE(observer.seen);
    EXPECT_EQ(observer.shared, expect_shared);
    const Tensor& y = (*out)[0].tensor();
    ASSERT_EQ(y.size(), static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(y.data<float>()[i], want[i], 1e-4f + 1e-5f * std::abs(want[i])) << i;
    if (source == ZSource::graph_output) {  // Z itself unchanged
      const Tensor& z = (*out)[1].tensor();
      for (size_t i = 0; i < z_in.size(); ++i) ASSERT_EQ(z.data<float>()[i], std::max(z_in[i], 0.0f)) << i;
    }
    if (source == ZSource::second_reader) {  // y + Z, with Z unchanged
      const Tensor& sum = (*out)[1].tensor();
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(sum.data<float>()[i], want[i] + std::max(z_in[i], 0.0f), 1e-4f + 1e-5f * std::abs(want[i])) << i;
    }
    for (size_t i = 0; i < z_in.size(); ++i) ASSERT_EQ(z_feed.data<float>()[i], z_in[i]) << "the caller's feed changed";
  }
}

// x_in -> Relu -> x -> BlockedSqueezeExcite -> y, x also a graph output when `x_is_output`.
Model squeeze_excite_model(int64_t B, bool x_is_output) {
  Model m;
  m.source = "squeeze_excite";
  m.opset_imports[""] = 17;
  m.opset_imports["com.tessera"] = 1;
  Graph& g = m.graph;
  const int64_t C = 2 * B - 3, R = 4;  // the last block part empty
  const std::vector<int64_t> image{2, 2, kH, kW, B};
  g.inputs = {tensor_value("x_in", DataType::float32, image)};
  g.outputs = {tensor_value("y", DataType::float32, image)};
  g.initializers["w1"] = tensor_of<float>(DataType::float32, {R, C, 1, 1}, ramp(R * C, 0.02f, -0.2f));
  g.initializers["b1"] = tensor_of<float>(DataType::float32, {R}, ramp(R, 0.1f, -0.1f));
  g.initializers["w2"] = tensor_of<float>(DataType::float32, {C, R, 1, 1}, ramp(C * R, 0.03f, -0.3f));
  g.initializers["b2"] = tensor_of<float>(DataType::float32, {C}, ramp(C, 0.05f, -0.4f));
  g.nodes.push_back(node("relu", "Relu", {"x_in"}, {"x"}));
  Node se = node("conv", "BlockedSqueezeExcite", {"x", "w1", "b1", "w2", "b2"}, {"y"});
  se.domain = "com.tessera";
  se.attributes["activation"] = string_attr("activation", "Relu");
  g.nodes.push_back(se);
  if (x_is_output) g.outputs.push_back(tensor_value("x", DataType::float32, image));
  return m;
}

// Whether the node named "conv" wrote over input `i`.
struct SharesInput final : StepObserver {
  explicit SharesInput(size_t i) : i(i) {}
  void after_step(const Node& node, const std::string&, const std::vector<const Value*>& inputs,
                  const std::vector<const Value*>& outputs) override {
    if (node.name == "conv") shared = inputs[i]->tensor().shares_buffer_with(outputs[0]->tensor());
  }
  size_t i;
  bool shared = false;
};

TEST(ReusableInput, SqueezeExciteWritesOverAnInputOnlyItReads) {
  const int64_t B = kernels::depthwise_block_channels();
  if (B != 8 && B != 16) GTEST_SKIP() << "no blocked kernels for blocks of " << B;
  const Shape image{2, 2, kH, kW, B};
  const Tensor x_in = tensor_of<float>(DataType::float32, image, ramp(2 * 2 * kH * kW * B, 0.1f, -1.0f));
  std::vector<float> results[2];
  for (bool x_is_output : {false, true}) {
    auto state = cpu_session(squeeze_excite_model(B, x_is_output), ExecutionMode::sequential);
    ASSERT_TRUE(state.is_ok()) << state.status().message();
    SharesInput observer(0);
    auto out = (*state)->run({{"x_in", Value(x_in)}}, {}, &observer);
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    EXPECT_EQ(observer.shared, !x_is_output);
    const Tensor& y = (*out)[0].tensor();
    results[x_is_output].assign(y.data<float>(), y.data<float>() + y.size());
    if (x_is_output) {  // x itself unchanged: Relu(x_in)
      const Tensor& x = (*out)[1].tensor();
      for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(x.data<float>()[i], std::max(x_in.data<float>()[i], 0.0f)) << i;
    }
  }
  EXPECT_EQ(results[0], results[1]);
  const auto nonzero = std::count_if(results[0].begin(), results[0].end(), [](float v) { return v != 0.0f; });
  EXPECT_GT(nonzero, static_cast<std::ptrdiff_t>(results[0].size() / 4));  // the gates let most values through
}

TEST(ReusableInput, BlockedConvWritesOverAResidualOnlyItReads) {
  const int64_t B = kernels::depthwise_block_channels();
  if (B != 8 && B != 16) GTEST_SKIP() << "no blocked kernels for blocks of " << B;
  for (ExecutionMode mode : {ExecutionMode::sequential, ExecutionMode::parallel})
    for (int64_t k : {1, 3}) {
      check(k, ZSource::made_here, mode, true);
      check(k, ZSource::graph_output, mode, false);
      check(k, ZSource::second_reader, mode, false);
      check(k, ZSource::graph_input, mode, false);
    }
}

}  // namespace
}  // namespace tessera
