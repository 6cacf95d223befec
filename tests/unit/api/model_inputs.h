// Inputs for the small models in tests/data/determinism (make_models.py there): images for
// resnet_like.onnx, token ids for bert_like.onnx, reproducible from a seed; and a bitwise
// comparison of outputs.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tessera/session.h"
#include "tests/unit/test_tensors.h"

namespace tessera::test_util {

inline const std::string kResnetLike = TESSERA_SOURCE_DIR "/tests/data/determinism/resnet_like.onnx";
inline const std::string kBertLike = TESSERA_SOURCE_DIR "/tests/data/determinism/bert_like.onnx";

// `batch` images [batch, 3, 16, 16] of values in [-1, 1).
inline Feeds resnet_feeds(int64_t batch, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> data(static_cast<size_t>(batch * 3 * 16 * 16));
  for (float& v : data) v = value(rng);
  return {{"image", Value(tensor_of(DataType::float32, {batch, 3, 16, 16}, data))}};
}

// `batch` rows of `seq` token ids in [0, 100).
inline Feeds bert_feeds(int64_t batch, int64_t seq, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> id(0, 99);
  std::vector<int64_t> ids(static_cast<size_t>(batch * seq));
  for (int64_t& v : ids) v = id(rng);
  return {{"input_ids", Value(tensor_of(DataType::int64, {batch, seq}, ids))}};
}

// Row `row` (along dim 0) of a tensor, as bytes.
inline std::string row_bytes(const Tensor& t, int64_t row) {
  const size_t row_size = t.byte_size() / static_cast<size_t>(t.dim(0));
  return std::string(static_cast<const char*>(t.raw_data()) + row * row_size, row_size);
}

inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.byte_size()) == 0;
}

// What runs of one session from many threads gave (run_from_threads).
struct SharedRuns {
  int failures = 0;    // runs that returned an error
  int mismatches = 0;  // outputs not bit for bit the expected ones
};

// Runs `session` from `threads` threads, `runs` times each, thread t's run i on input
// (t * 7 + i * 3) % inputs.size(), and compares each output with `expected` for that input.
inline SharedRuns run_from_threads(const Session& session, const std::vector<Feeds>& inputs,
                                   const std::vector<std::vector<Value>>& expected, int threads, int runs) {
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < runs; ++i) {
        const size_t k = static_cast<size_t>(t * 7 + i * 3) % inputs.size();
        auto out = session.run(inputs[k]);
        if (!out.is_ok()) {
          ++failures;
          continue;
        }
        for (size_t o = 0; o < out->size(); ++o)
          if (!bitwise_equal((*out)[o].tensor(), expected[k][o].tensor())) ++mismatches;
      }
    });
  for (auto& thread : pool) thread.join();
  return {failures.load(), mismatches.load()};
}

inline std::vector<Value> run_ok(const Session& session, const Feeds& feeds) {
  auto out = session.run(feeds);
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.is_ok() ? std::move(out).value() : std::vector<Value>{};
}

}  // namespace tessera::test_util
