// SessionOptions::deterministic: outputs bit for bit the same across runs, intra-op thread counts
// (1, 2, 4) and a row's position in the batch (alone, or anywhere among other rows), on a small
// ResNet-like CNN and a BERT-like encoder (tests/data/determinism).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tessera/session.h"
#include "tests/unit/api/model_inputs.h"
#include "tests/unit/onnx_builder.h"

namespace tessera {
namespace {

using namespace tessera::test_util;

Session deterministic_session(const std::string& path, int threads) {
  SessionOptions options;
  options.intra_op_threads = threads;
  options.deterministic = true;
  auto session = Session::load(path, options);
  EXPECT_TRUE(session.is_ok()) << session.status().message();
  return std::move(session).value();
}

// Feeds holding rows `order` of `feeds` (dim 0), in that order.
Feeds pick_rows(const Feeds& feeds, const std::vector<int64_t>& order) {
  const Tensor& t = feeds[0].second.tensor();
  Shape shape = t.shape();
  shape[0] = static_cast<int64_t>(order.size());
  Tensor picked = zeros(t.dtype(), shape);
  const size_t row = t.byte_size() / static_cast<size_t>(t.dim(0));
  for (size_t i = 0; i < order.size(); ++i)
    std::memcpy(static_cast<char*>(picked.raw_data()) + i * row, static_cast<const char*>(t.raw_data()) + order[i] * row, row);
  return {{feeds[0].first, Value(picked)}};
}

// Every output of `feeds` is the same bit for bit with 1, 2 and 4 threads, on repeated runs,
// and each row's output is the same whatever rows surround it.
void expect_deterministic(const std::string& path, const Feeds& feeds) {
  const int64_t batch = feeds[0].second.tensor().dim(0);
  Session reference_session = deterministic_session(path, 1);
  const std::vector<Value> reference = run_ok(reference_session, feeds);
  ASSERT_FALSE(reference.empty());
  for (int threads : {1, 2, 4}) {
    Session session = deterministic_session(path, threads);
    for (int repeat = 0; repeat < 3; ++repeat) {
      std::vector<Value> out = run_ok(session, feeds);
      ASSERT_EQ(out.size(), reference.size());
      for (size_t o = 0; o < out.size(); ++o)
        EXPECT_TRUE(bitwise_equal(out[o].tensor(), reference[o].tensor())) << threads << " threads, output " << o;
    }
    // Each row alone, and the batch reversed.
    std::vector<int64_t> reversed;
    for (int64_t r = batch - 1; r >= 0; --r) reversed.push_back(r);
    std::vector<Value> flipped = run_ok(session, pick_rows(feeds, reversed));
    for (int64_t r = 0; r < batch; ++r) {
      std::vector<Value> alone = run_ok(session, pick_rows(feeds, {r}));
      for (size_t o = 0; o < reference.size(); ++o) {
        const std::string want = row_bytes(reference[o].tensor(), r);
        EXPECT_EQ(row_bytes(alone[o].tensor(), 0), want) << threads << " threads, row " << r << " alone, output " << o;
        EXPECT_EQ(row_bytes(flipped[o].tensor(), batch - 1 - r), want)
            << threads << " threads, row " << r << " at position " << batch - 1 - r << ", output " << o;
      }
    }
  }
}

TEST(Determinism, ResnetLikeAcrossThreadsRunsAndBatchPositions) {
  expect_deterministic(kResnetLike, resnet_feeds(5, 1));
}

TEST(Determinism, BertLikeAcrossThreadsRunsAndBatchPositions) {
  expect_deterministic(kBertLike, bert_feeds(3, 24, 2));
}

// Few long sums (one per row of 100,000 floats): the kind a reduction would otherwise split into
// partial sums by the thread count.
TEST(Determinism, LongReduceSumAcrossThreadsRunsAndBatchPositions) {
  pb::ModelProto m = model_proto("long_sum", 11);
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "x", kFloat, {-1, 100000});
  set_type(g->add_output(), "y", kFloat, {-1, 1});
  auto* sum = add_node(g, "sum", "ReduceSum", {"x"}, {"y"});
  auto* axes = sum->add_attribute();
  axes->set_name("axes");
  axes->set_type(pb::AttributeProto::INTS);
  axes->add_ints(1);
  const std::string path = ::testing::TempDir() + "/long_sum.onnx";
  {
    std::ofstream file(path, std::ios::binary);
    file << m.SerializeAsString();
  }
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> data(3 * 100000);
  for (float& v : data) v = value(rng);
  expect_deterministic(path, {{"x", Value(tensor_of(DataType::float32, {3, 100000}, data))}});
}

}  // namespace
}  // namespace tessera
