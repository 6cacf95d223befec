// The oneDNN EP plugin (plugins/dnnl): the nodes it claims give the CPU EP's numbers, what it
// cannot run falls back with a reason, and no copies are planned (it computes in host memory).
#include <gtest/gtest.h>

#include <cmath>

#include "onnx.pb.h"
#include "tessera/session.h"
#include "tests/unit/test_tensors.h"

#ifdef TESSERA_DNNL_EP

namespace tessera {
namespace {

namespace pb = tessera::onnx;

struct Builder {
  pb::ModelProto model;
  pb::GraphProto* graph;
  Builder() {
    model.set_ir_version(8);
    model.add_opset_import()->set_version(17);
    graph = model.mutable_graph();
    graph->set_name("dnnl");
  }
  pb::NodeProto* node(const std::string& op, std::vector<std::string> in, const std::string& out) {
    auto* n = graph->add_node();
    n->set_name(out);
    n->set_op_type(op);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  void value(bool input, const std::string& name, std::vector<int64_t> dims) {
    auto* info = input ? graph->add_input() : graph->add_output();
    info->set_name(name);
    info->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    for (auto d : dims) info->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void weight(const std::string& name, std::vector<int64_t> dims, uint32_t seed) {
    auto* t = graph->add_initializer();
    t->set_name(name), t->set_data_type(1);
    int64_t n = 1;
    for (auto d : dims) t->add_dims(d), n *= d;
    for (int64_t i = 0; i < n; ++i) t->add_float_data(static_cast<float>((seed = seed * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f);
  }
};

pb::AttributeProto* ints(pb::NodeProto* n, const std::string& name, std::vector<int64_t> values) {
  auto* a = n->add_attribute();
  a->set_name(name), a->set_type(pb::AttributeProto::INTS);
  for (auto v : values) a->add_ints(v);
  return a;
}

std::vector<float> pattern(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>((seed = seed * 22695477u + 1u) >> 8) / 16777216.0f * 4.0f - 2.0f;
  return v;
}

// Runs `bytes` on the CPU EP alone and with the oneDNN EP first; the outputs must agree.
Placement compare(const std::string& bytes, const std::vector<std::pair<std::string, std::vector<int64_t>>>& inputs) {
  Feeds feeds;
  uint32_t seed = 1;
  for (const auto& [name, dims] : inputs) {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    feeds.emplace_back(name, Value(tensor_of<float>(DataType::float32, Shape(dims.begin(), dims.end()), pattern(static_cast<size_t>(n), seed++))));
  }
  SessionOptions cpu_only, dnnl;
  dnnl.providers = {{"dnnl", TESSERA_DNNL_EP}, {"cpu", ""}};
  cpu_only.intra_op_threads = dnnl.intra_op_threads = 2;
  auto a = Session::load_from_bytes(bytes.data(), bytes.size(), cpu_only);
  auto b = Session::load_from_bytes(bytes.data(), bytes.size(), dnnl);
  EXPECT_TRUE(a.is_ok() && b.is_ok()) << (a.is_ok() ? b.status().message() : a.status().message());
  if (!a.is_ok() || !b.is_ok()) return {};
  auto want = a->run(feeds);
  auto got = b->run(feeds);
  EXPECT_TRUE(want.is_ok() && got.is_ok()) << (want.is_ok() ? got.status().message() : want.status().message());
  if (!want.is_ok() || !got.is_ok()) return {};
  for (size_t o = 0; o < want->size(); ++o) {
    const Tensor& w = (*want)[o].tensor();
    const Tensor& g = (*got)[o].tensor();
    EXPECT_EQ(w.shape(), g.shape()) << "output " << o;
    if (w.shape() != g.shape()) continue;
    for (size_t i = 0; i < w.byte_size() / sizeof(float); ++i)
      EXPECT_NEAR(g.data<float>()[i], w.data<float>()[i], 1e-4 + 1e-4 * std::abs(w.data<float>()[i])) << "output " << o << " at " << i;
  }
  return b->placement();
}

size_t nodes_on(const Placement& p, const std::string& provider) {
  for (const auto& e : p.nodes_per_provider)
    if (e.provider == provider) return e.nodes;
  return 0;
}

TEST(DnnlEp, RunsACnnLikeTheCpuEpWithoutCopies) {
  // Conv(pads, strides, bias) -> Relu -> MaxPool -> Conv(groups 2, dilation 2) -> Add(residual) ->
  // GlobalAveragePool -> Flatten (CPU) -> Gemm(transB) -> Softmax
  Builder m;
  auto* conv = m.node("Conv", {"x", "w1", "b1"}, "c1");
  ints(conv, "pads", {1, 1, 1, 1}), ints(conv, "strides", {2, 2});
  m.node("Relu", {"c1"}, "r1");
  auto* pool = m.node("MaxPool", {"r1"}, "p1");
  ints(pool, "kernel_shape", {3, 3}), ints(pool, "pads", {1, 1, 1, 1});
  auto* conv2 = m.node("Conv", {"p1", "w2"}, "c2");
  ints(conv2, "pads", {2, 2, 2, 2}), ints(conv2, "dilations", {2, 2});
  auto* group = conv2->add_attribute();
  group->set_name("group"), group->set_type(pb::AttributeProto::INT), group->set_i(2);
  m.node("Add", {"c2", "p1"}, "s");
  m.node("GlobalAveragePool", {"s"}, "g");
  m.node("Flatten", {"g"}, "f");
  auto* gemm = m.node("Gemm", {"f", "w3", "b3"}, "l");
  auto* trans = gemm->add_attribute();
  trans->set_name("transB"), trans->set_type(pb::AttributeProto::INT), trans->set_i(1);
  m.node("Softmax", {"l"}, "y");
  m.weight("w1", {8, 3, 3, 3}, 1), m.weight("b1", {8}, 2), m.weight("w2", {8, 4, 3, 3}, 3), m.weight("w3", {5, 8}, 4);
  m.weight("b3", {5}, 5);
  m.value(true, "x", {2, 3, 17, 15});
  m.value(false, "y", {2, 5});
  const Placement placed = compare(m.model.SerializeAsString(), {{"x", {2, 3, 17, 15}}});
  EXPECT_TRUE(placed.copies.empty());
  EXPECT_EQ(nodes_on(placed, "CPU"), 1u);  // Flatten
  EXPECT_GE(nodes_on(placed, "dnnl"), 6u);  // the rest, however the optimizer fused them
  ASSERT_EQ(placed.fallbacks.size(), 1u);
  EXPECT_EQ(placed.fallbacks[0].reason, "op not supported: Flatten is not run by the oneDNN EP");
}

TEST(DnnlEp, BroadcastsBinaryOpsAndRunsNormsConcatAndActivations) {
  Builder m;
  m.node("Sub", {"row", "x"}, "d");  // the first operand broadcasts: computed as -(x - row)
  m.node("Mul", {"row", "d"}, "e");
  m.node("Div", {"e", "two"}, "q");
  m.node("Concat", {"q", "x"}, "c")->add_attribute()->set_name("axis");
  m.graph->mutable_node(3)->mutable_attribute(0)->set_type(pb::AttributeProto::INT);
  m.graph->mutable_node(3)->mutable_attribute(0)->set_i(2);
  m.node("LayerNormalization", {"c", "scale", "bias"}, "n");
  m.node("Tanh", {"n"}, "t");
  m.node("MatMul", {"t", "w"}, "mm");
  m.node("Gelu", {"mm"}, "y")->set_domain("com.tessera");
  m.model.add_opset_import()->set_domain("com.tessera"), m.model.mutable_opset_import(1)->set_version(1);
  m.weight("row", {6}, 1), m.weight("two", {1}, 2), m.weight("scale", {12}, 3), m.weight("bias", {12}, 4), m.weight("w", {12, 7}, 5);
  m.value(true, "x", {2, 4, 6});
  m.value(false, "y", {2, 4, 7});
  const Placement placed = compare(m.model.SerializeAsString(), {{"x", {2, 4, 6}}});
  EXPECT_TRUE(placed.copies.empty());
  EXPECT_EQ(nodes_on(placed, "CPU"), 0u);
}

TEST(DnnlEp, DeclinesWhatItCannotRunWithAReason) {
  Builder m;
  m.node("Div", {"x", "big"}, "q");  // x broadcasts: Div's first operand must have the output's shape
  m.node("Sigmoid", {"q"}, "y");
  m.weight("big", {3, 4}, 1);
  m.value(true, "x", {4});
  m.value(false, "y", {3, 4});
  const Placement placed = compare(m.model.SerializeAsString(), {{"x", {4}}});
  ASSERT_EQ(placed.fallbacks.size(), 1u);
  EXPECT_EQ(placed.fallbacks[0].reason, "shape not supported: Div whose first operand may broadcast");
  EXPECT_EQ(placed.copies.size(), 0u);
}

}  // namespace
}  // namespace tessera

#endif  // TESSERA_DNNL_EP
