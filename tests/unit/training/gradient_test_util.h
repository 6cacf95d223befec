// Running gradient graphs in tests: small models built as IR, run in sessions with the CPU EP.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "framework/session.h"
#include "providers/cpu/cpu_provider.h"
#include "training/training_session.h"

namespace tessera {

inline Model model_with(Graph graph, int64_t opset) {
  Model m;
  m.ir_version = 8;
  m.opset_imports[""] = opset;
  m.source = graph.name;
  m.graph = std::move(graph);
  return m;
}

// A session with the CPU EP, optimizer off: the graph runs as the builders wrote it.
inline Result<std::unique_ptr<SessionState>> cpu_session(Model model) {
  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.intra_op_threads = 1;
  options.optimization_level = OptimizationLevel::disabled;
  return SessionState::create(std::move(model), std::move(eps), options);
}

// Deterministic values in [-scale, scale).
inline std::vector<float> values(size_t count, uint32_t seed, float scale = 1.0f) {
  std::vector<float> v(count);
  uint32_t s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(s >> 8) / static_cast<float>(1u << 23) - 1.0f);
  }
  return v;
}

// Element i of a float or double tensor, as double.
inline double element(const Tensor& t, int64_t i) {
  return t.dtype() == DataType::float64 ? t.data<double>()[i] : static_cast<double>(t.data<float>()[i]);
}

// The losses of `steps` optimizer steps of `ts`, step k on batch_of(first_batch + k), each
// with freshly reset gradients.
template <class BatchOf>
std::vector<float> train_steps(TrainingSession& ts, int steps, uint32_t first_batch, const BatchOf& batch_of) {
  std::vector<float> losses;
  for (int k = 0; k < steps; ++k) {
    ts.lazy_reset_grad();
    auto loss = ts.train_step(batch_of(first_batch + static_cast<uint32_t>(k)));
    EXPECT_TRUE(loss.is_ok()) << loss.status().message();
    if (!loss.is_ok()) break;
    losses.push_back(*loss);
    EXPECT_TRUE(ts.optimizer_step().is_ok());
  }
  return losses;
}

}  // namespace tessera
