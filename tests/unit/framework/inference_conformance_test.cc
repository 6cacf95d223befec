// Runs every case of the ONNX backend test data (../shared/onnx-backend-tests, or
// $TESSERA_BACKEND_TESTS), unoptimized and at opt-level all, and checks that each node's inferred output type (shape_inference.h)
// agrees with what its kernel produced: same element type, same rank, same fixed dims, and one
// value per symbolic dim within a run. The declared value_infos and output types are dropped
// first, so what is checked (and counted as fully known) comes from the rules alone. It prints how
// many outputs are fully known and, per op, how many are not; TESSERA_INFER_GAPS=1 also prints
// the first few such outputs of each op, to find the rules worth writing next. Cases that do not load or run are the conformance run's
// business and are skipped here. Skipped when the data is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "framework/session.h"
#include "graph/shape_inference.h"
#include "model/model_loader.h"
#include "model/value_io.h"
#include "providers/cpu/cpu_provider.h"
#include "tests/unit/backend_cases.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k) s += (k ? "," : "") + std::to_string(shape[k]);
  return s + "]";
}

struct Tally {
  int nodes = 0, outputs = 0, fully_known = 0, cases = 0, compared = 0;
  std::map<std::string, std::vector<std::string>> mismatches;  // op -> first few
  std::map<std::string, int> mismatch_counts;
  std::map<std::string, int> not_known;  // op -> outputs whose type is not fully known
};

// Empty when `value` fits `inferred`, else what differs. `symbols` binds symbolic dims in a run.
std::string compare(const TypeInfo& inferred, const Value& value, std::map<std::string, int64_t>& symbols) {
  if (inferred.kind == TypeInfo::Kind::unknown || value.is_absent()) return "";
  if (!value.is_tensor()) {
    if (inferred.kind == TypeInfo::Kind::tensor) return "inferred a tensor, the kernel produced another kind of value";
    return "";
  }
  if (inferred.kind != TypeInfo::Kind::tensor) return "inferred " + inferred.to_string() + ", the kernel produced a tensor";
  const Tensor& t = value.tensor();
  if (inferred.elem_type != DataType::undefined && inferred.elem_type != t.dtype())
    return "inferred " + inferred.to_string() + ", got " + std::string(dtype_name(t.dtype())) + shape_string(t.shape());
  if (!inferred.shape) return "";
  const auto& dims = *inferred.shape;
  bool bad = dims.size() != t.rank();
  for (size_t k = 0; !bad && k < dims.size(); ++k) {
    if (dims[k].is_fixed()) bad = dims[k].value != t.dim(k);
    else if (!dims[k].param.empty()) {
      auto [it, inserted] = symbols.emplace(dims[k].param, t.dim(k));
      bad = !inserted && it->second != t.dim(k);
    }
  }
  return bad ? "inferred " + inferred.to_string() + ", got " + shape_string(t.shape()) : "";
}

bool fully_known(const TypeInfo& t) {
  if (t.kind != TypeInfo::Kind::tensor || t.elem_type == DataType::undefined || !t.shape) return false;
  return std::all_of(t.shape->begin(), t.shape->end(), [](const Dim& d) { return d.is_fixed(); });
}

void check_case(const fs::path& dir, OptimizationLevel level, Tally& tally) {
  auto model = load_model_file((dir / "model.onnx").string());
  if (!model.is_ok()) return;
  std::vector<std::unique_ptr<ExecutionProvider>> providers;
  providers.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.intra_op_threads = 1;
  options.optimization_level = level;
  auto state = SessionState::create(std::move(model).value(), std::move(providers), options);
  if (!state.is_ok()) return;
  const Graph& graph = (*state)->model().graph;
  // Inference alone, without the declared value_infos and output types that would fill its gaps.
  Graph bare = graph;
  bare.value_infos.clear();
  for (auto& out : bare.outputs) out.type = TypeInfo{};
  auto types = infer_types(bare, (*state)->model(), {});
  if (!types.is_ok()) {
    ADD_FAILURE() << dir.filename().string() << ": " << types.status().message();
    return;
  }
  ++tally.cases;
  for (const auto& node : graph.nodes) {
    ++tally.nodes;
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;
      ++tally.outputs;
      auto it = types->find(out);
      if (it != types->end() && fully_known(it->second)) ++tally.fully_known;
      else if (++tally.not_known[node.domain.empty() ? node.op_type : node.domain + "." + node.op_type] <= 3 && std::getenv("TESSERA_INFER_GAPS"))
        std::cout << "DBG " << dir.filename().string() << " " << node.describe() << " " << (it == types->end() ? "none" : it->second.to_string()) << "\n";
    }
  }

  std::vector<fs::path> data_sets;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) data_sets.push_back(entry.path());
  std::sort(data_sets.begin(), data_sets.end());
  const auto feeds_declared = graph.feed_inputs();
  for (const auto& set : data_sets) {
    Feeds feeds;
    for (size_t k = 0; k < feeds_declared.size(); ++k) {
      fs::path file = set / ("input_" + std::to_string(k) + ".pb");
      if (!fs::exists(file)) continue;
      auto value = read_value_file(file.string(), feeds_declared[k]->type);
      if (!value.is_ok()) return;
      feeds.emplace_back(feeds_declared[k]->name, std::move(value->value));
    }
    std::map<std::string, int64_t> symbols;
    auto check_outputs = [&](const Node& node, const std::vector<const Value*>& outputs) {
      for (size_t j = 0; j < outputs.size(); ++j) {
        if (!outputs[j]) continue;
        auto it = types->find(node.outputs[j]);
        if (it == types->end()) continue;
        ++tally.compared;
        std::string diff = compare(it->second, *outputs[j], symbols);
        if (diff.empty()) continue;
        const std::string op = node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
        if (++tally.mismatch_counts[op] <= 3)
          tally.mismatches[op].push_back(dir.filename().string() + ": " + node.describe() + " output " + std::to_string(j) + ": " + diff);
      }
    };
    struct OutputChecker final : StepObserver {
      explicit OutputChecker(decltype(check_outputs)& check) : check(check) {}
      void after_step(const Node& node, const std::string&, const std::vector<const Value*>&,
                      const std::vector<const Value*>& outputs) override {
        check(node, outputs);
      }
      decltype(check_outputs)& check;
    } observer(check_outputs);
    auto run = (*state)->run(feeds, {}, &observer);
    (void)run;  // a failing run is the conformance run's business
  }
}

TEST(InferenceConformance, InferredTypesMatchKernelOutputs) {
  const fs::path root = backend_tests_dir();
  std::error_code ec;
  if (!fs::is_directory(root, ec)) GTEST_SKIP() << "no backend test data at " << root;
  const std::vector<fs::path> cases = backend_test_cases(root);
  // As written, then as optimized (fused ops have rules too).
  for (OptimizationLevel level : {OptimizationLevel::disabled, OptimizationLevel::all}) {
    Tally tally;
    for (const auto& dir : cases) check_case(dir, level, tally);
    std::cout << "opt-level " << optimization_level_name(level) << ": checked " << tally.cases << " cases, " << tally.nodes
              << " nodes; " << tally.fully_known << " of " << tally.outputs
              << " node outputs have a fully known inferred type and shape; " << tally.compared
              << " kernel outputs compared with their inferred types\n";
    EXPECT_GT(tally.compared, 10000);  // the observer saw the runs
    std::vector<std::pair<int, std::string>> gaps;
    for (const auto& [op, n] : tally.not_known) gaps.emplace_back(-n, op);
    std::sort(gaps.begin(), gaps.end());
    std::cout << "outputs not fully known, by op:";
    for (size_t k = 0; k < gaps.size() && k < 40; ++k) std::cout << " " << gaps[k].second << "=" << -gaps[k].first;
    std::cout << "\n";
    for (const auto& [op, messages] : tally.mismatches) {
      std::string all;
      for (const auto& m : messages) all += "\n  " + m;
      ADD_FAILURE() << "opt-level " << optimization_level_name(level) << ": " << op << ": " << tally.mismatch_counts[op]
                    << " mismatching outputs" << all;
    }
  }
}

}  // namespace
}  // namespace tessera
