// Running small IR models through a session at a chosen optimization level, for the optimizer's
// tests: each test checks both the rewritten graph and that the numbers did not change.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "framework/session.h"
#include "providers/cpu/cpu_provider.h"
#include "tests/unit/graph/graph_builders.h"

namespace tessera {

// Deterministic values in [-1, 1) of the given shape.
inline Tensor float_tensor(std::vector<int64_t> shape, uint32_t seed) {
  Tensor t = Tensor::create(DataType::float32, shape).value();
  uint32_t s = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < t.size(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(s >> 8) / static_cast<float>(1u << 23) - 1.0f;
  }
  return t;
}

inline std::unique_ptr<SessionState> session_at(Model model, OptimizationLevel level) {
  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.intra_op_threads = 1;
  options.optimization_level = level;
  auto state = SessionState::create(std::move(model), std::move(eps), options);
  EXPECT_TRUE(state.is_ok()) << state.status().message();
  return state.is_ok() ? std::move(state).value() : nullptr;
}

inline std::map<std::string, int> op_counts(const Graph& graph) {
  std::map<std::string, int> counts;
  for (const Node& n : graph.nodes) ++counts[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type];
  return counts;
}

// Runs `model` at `level` and at disabled on `feeds`, expects the same outputs (rtol/atol
// `tolerance`), and returns the optimized graph's op counts.
inline std::map<std::string, int> expect_same_outputs(const Model& model, OptimizationLevel level, const Feeds& feeds,
                                                      double tolerance = 1e-5) {
  auto reference = session_at(model, OptimizationLevel::disabled);
  auto optimized = session_at(model, level);
  if (!reference || !optimized) return {};
  auto want = reference->run(feeds, {});
  auto got = optimized->run(feeds, {});
  EXPECT_TRUE(want.is_ok()) << want.status().message();
  EXPECT_TRUE(got.is_ok()) << got.status().message();
  if (!want.is_ok() || !got.is_ok()) return {};
  EXPECT_EQ(want->size(), got->size());
  for (size_t k = 0; k < want->size() && k < got->size(); ++k) {
    const Tensor& a = (*want)[k].tensor();
    const Tensor& b = (*got)[k].tensor();
    EXPECT_EQ(a.shape(), b.shape());
    if (a.shape() != b.shape() || a.dtype() != DataType::float32) continue;
    for (int64_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(a.data<float>()[i], b.data<float>()[i], tolerance * (1 + std::abs(a.data<float>()[i])))
          << "output " << k << " at " << i;
  }
  return op_counts(optimized->model().graph);
}

}  // namespace tessera
