// Heap allocations per run in steady state, counted by replacing the global operator new in this
// test binary (a relaxed atomic increment: no cost to the other tests). The framework's share is
// pinned exactly on a chain of Relus (a fixed number per run, none per step); the bundled digits
// CNN and a transformer block are held to the same count every run and to that share alone. See the tests, and docs/performance.md for every source, for what
// remains (bench/mallocs_per_run.py counts them by call site).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <new>
#include <vector>

#include "onnx.pb.h"
#include "tessera/session.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
// The nothrow forms too (std::stable_sort's temporary buffer uses them), so every new this binary
// makes is freed by the delete that matches it (ASan reports a mismatch otherwise).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept { return operator new(n, tag); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace tessera {
namespace {

// Allocations per run over `runs` runs, after `warmup` runs.
std::vector<long> allocations_per_run(const Session& s, const Feeds& feeds, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) EXPECT_TRUE(s.run(feeds).is_ok());
  std::vector<long> counts;
  for (int i = 0; i < runs; ++i) {
    const long before = g_allocations.load();
    auto out = s.run(feeds);
    counts.push_back(g_allocations.load() - before);
    EXPECT_TRUE(out.is_ok()) << out.status().message();
  }
  return counts;
}

namespace pb = tessera::onnx;

// x -> Relu -> Relu -> ... (`nodes` of them) -> y, float [batch, 64].
std::string relu_chain(int nodes) {
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("relu_chain");
  for (int i = 0; i < nodes; ++i) {
    auto* relu = graph->add_node();
    relu->set_op_type("Relu");
    relu->add_input(i == 0 ? "x" : "v" + std::to_string(i - 1));
    relu->add_output(i == nodes - 1 ? "y" : "v" + std::to_string(i));
  }
  for (auto [info, name] : {std::pair{graph->add_input(), "x"}, std::pair{graph->add_output(), "y"}}) {
    info->set_name(name);
    auto* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(1);
    type->mutable_shape()->add_dim()->set_dim_param("batch");
    type->mutable_shape()->add_dim()->set_dim_value(64);
  }
  return model.SerializeAsString();
}

// The framework's own allocations: session run, executor, frame, buffer pool. Measured (not
// guessed) on the chain: per run 1, the outputs' vector that run() returns; nothing per step
// (the run's ArenaBudget is an earlier run's that no tensor holds any more). Shapes are inline (Shape holds 6 dims in itself), buffers, their shared handles, the frame
// and the inputs' vector are recycled, and outputs that share no buffer are detached without
// bookkeeping. (Before: 12 per run and 2 per step, then 5 per run and 1 per step, then 4 and 1,
// then 2 and 0.)
TEST(RunAllocations, FrameworkAllocatesNothingPerStepAndAFixedFewPerRun) {
  long per_run[2] = {0, 0};
  const int lengths[2] = {4, 12};
  for (int k = 0; k < 2; ++k) {
    SessionOptions options;
    options.optimization_level = OptimizationLevel::disabled;  // the Relus stay Relus
    options.intra_op_threads = 1;
    const std::string bytes = relu_chain(lengths[k]);
    auto session = Session::load_from_bytes(bytes.data(), bytes.size(), options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    auto x = Tensor::create(DataType::float32, {3, 64});
    ASSERT_TRUE(x.is_ok());
    Feeds feeds{{"x", Value(*x)}};
    std::vector<long> counts = allocations_per_run(*session, feeds, 3, 10);
    for (long c : counts) EXPECT_EQ(c, counts.front()) << lengths[k] << " nodes: allocations vary from run to run";
    per_run[k] = counts.front();
  }
  EXPECT_EQ(per_run[1], per_run[0]) << "allocations per step: none expected";
  EXPECT_LE(per_run[0], 1) << "allocations per run (" << lengths[0] << " nodes)";
  std::cout << "relu chain: " << per_run[0] << " allocations per run for " << lengths[0] << " nodes, " << per_run[1]
            << " for " << lengths[1] << "\n";
}

// SessionOptions::warm_up with the batch fixed by free_dimension_overrides: session creation
// takes and gives back the blocks a run takes, in a frame of the executor's, so the first run
// finds its frame, buffers and their handles made and allocates what a steady run does; without
// it the first run allocates more (the control case, so the comparison can fail).
TEST(RunAllocations, AfterAWarmUpTheFirstRunAllocatesAsASteadyRunDoes) {
  const std::string bytes = relu_chain(6);
  auto x = Tensor::create(DataType::float32, {3, 64});
  ASSERT_TRUE(x.is_ok());
  Feeds feeds{{"x", Value(*x)}};
  for (bool warm_up : {false, true}) {
    SessionOptions options;
    options.optimization_level = OptimizationLevel::disabled;
    options.intra_op_threads = 1;
    options.free_dimension_overrides = {{"batch", 3}};
    options.warm_up = warm_up;
    auto session = Session::load_from_bytes(bytes.data(), bytes.size(), options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    std::vector<long> counts = allocations_per_run(*session, feeds, 0, 4);
    if (warm_up)
      EXPECT_EQ(counts[0], counts[3]) << "first run after a warm-up";
    else
      EXPECT_GT(counts[0], counts[3]) << "first run without a warm-up";
  }
}

// The default warm-up (no overrides) warms the declared shape with the symbolic batch taken as
// 1: a first run at batch 1 allocates what a steady run does. The control (the first run with
// warm_up off allocates more) is the test above.
TEST(RunAllocations, TheDefaultWarmUpTakesASymbolicDimAsOne) {
  const std::string bytes = relu_chain(6);
  auto x = Tensor::create(DataType::float32, {1, 64});
  ASSERT_TRUE(x.is_ok());
  Feeds feeds{{"x", Value(*x)}};
  SessionOptions options;
  options.optimization_level = OptimizationLevel::disabled;
  options.intra_op_threads = 1;
  auto session = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  EXPECT_EQ(session->inputs()[0].shape.at(0), -1) << "the batch stays symbolic";
  std::vector<long> counts = allocations_per_run(*session, feeds, 0, 4);
  EXPECT_EQ(counts[0], counts[3]) << "first run after the default warm-up";
}

TEST(RunAllocations, SteadyStateAllocatesABoundedConstantNumberPerRun) {
  for (int threads : {1, 2}) {
    SessionOptions options;
    options.intra_op_threads = threads;
    auto session = Session::load(TESSERA_SOURCE_DIR "/models/digits/model.onnx", options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    auto image = Tensor::create(DataType::float32, {4, 1, 8, 8});
    ASSERT_TRUE(image.is_ok());
    for (int64_t i = 0; i < image->size(); ++i) image->data<float>()[i] = static_cast<float>(i % 17) / 17.0f;
    Feeds feeds{{"image", Value(*image)}};
    const size_t nodes = session->node_counts().nodes;

    std::vector<long> counts = allocations_per_run(*session, feeds, 5, 20);
    for (long c : counts) EXPECT_EQ(c, counts.front()) << "threads " << threads << ": allocations vary from run to run";
    // The framework's 1 per run (the test above) and nothing from the kernels: shapes are inline
    // (Shape), parallel_for takes a FunctionRef, and the convolutions run Tessera's own kernels.
    // Measured: 1 at 1 and 2 threads (2 while each run made its own ArenaBudget), with TESSERA_ISA avx512, avx2 and portable (109 and 123
    // before Shape went inline, 182 and 196 before the geometry and pool cuts, 249 and 313
    // before the kernels' first cuts, 265 and 329 before the framework's). A kernel that starts
    // allocating per run, per row or per element fails here.
    EXPECT_LE(counts.front(), 1) << "threads " << threads << ", " << nodes << " nodes";
    std::cout << "threads " << threads << ": " << counts.front() << " allocations per run, " << nodes << " nodes\n";
  }
}

// A transformer block's ops on x [batch, 16, 32]: LayerNormalization, a projection (MatMul + Add,
// which the optimizer fuses), Softmax over the last axis, a second projection, and the residual
// Add. The weights are initializers, so LayerNorm keeps its broadcast scale and bias per shape.
std::string transformer_block() {
  // Built with the protobuf API alone: helpers taking std::vector temporaries, inlined next to
  // this file's operator new/delete, trip GCC's -Wmismatched-new-delete.
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* g = model.mutable_graph();
  g->set_name("transformer_block");
  auto weight = [&](const char* name, int64_t rows, int64_t cols, float scale) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(1);
    if (rows > 1) t->add_dims(rows);
    t->add_dims(cols);
    for (int64_t i = 0; i < rows * cols; ++i) t->add_float_data(scale * static_cast<float>((i * 7) % 13 - 6));
  };
  weight("gamma", 1, 32, 0.1f);
  weight("beta", 1, 32, 0.01f);
  weight("w1", 32, 32, 0.02f);
  weight("b1", 1, 32, 0.01f);
  weight("w2", 32, 32, 0.03f);
  auto node = [&](const char* op, std::initializer_list<const char*> inputs, const char* output) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const char* in : inputs) n->add_input(in);
    n->add_output(output);
  };
  node("LayerNormalization", {"x", "gamma", "beta"}, "n");
  node("MatMul", {"n", "w1"}, "p");
  node("Add", {"p", "b1"}, "q");
  node("Softmax", {"q"}, "s");
  node("MatMul", {"s", "w2"}, "o");
  node("Add", {"o", "x"}, "y");
  for (auto [info, name] : {std::pair{g->add_input(), "x"}, std::pair{g->add_output(), "y"}}) {
    info->set_name(name);
    auto* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(1);
    type->mutable_shape()->add_dim()->set_dim_param("batch");
    type->mutable_shape()->add_dim()->set_dim_value(16);
    type->mutable_shape()->add_dim()->set_dim_value(32);
  }
  return model.SerializeAsString();
}

// Measured: 1 per run at 1 and 2 threads, the framework's (2 before the run's ArenaBudget was
// reused, 21 before Shape went inline and parallel_for took a FunctionRef: each kernel's output shape, a std::function per parallel_for
// and the broadcast Add's plan; 63 before LayerNorm kept its broadcast scale and bias and
// MatMul's batch plan went inline). A kernel that starts allocating per row or per run fails it.
TEST(RunAllocations, TransformerBlockAllocatesOnlyTheFrameworksFewPerRun) {
  for (int threads : {1, 2}) {
    SessionOptions options;
    options.intra_op_threads = threads;
    const std::string bytes = transformer_block();
    auto session = Session::load_from_bytes(bytes.data(), bytes.size(), options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    auto x = Tensor::create(DataType::float32, {2, 16, 32});
    ASSERT_TRUE(x.is_ok());
    for (int64_t i = 0; i < x->size(); ++i) x->data<float>()[i] = static_cast<float>(i % 11) / 11.0f;
    Feeds feeds{{"x", Value(*x)}};
    const size_t nodes = session->node_counts().nodes;
    std::vector<long> counts = allocations_per_run(*session, feeds, 3, 10);
    for (long c : counts) EXPECT_EQ(c, counts.front()) << "threads " << threads << ": allocations vary from run to run";
    EXPECT_LE(counts.front(), 1) << "threads " << threads << ", " << nodes << " nodes";
    std::cout << "transformer block, threads " << threads << ": " << counts.front() << " allocations per run, " << nodes
              << " nodes\n";
  }
}

}  // namespace
}  // namespace tessera
