// Loads every model and every .pb value of the ONNX backend test data (../shared/onnx-backend-tests,
// or $TESSERA_BACKEND_TESTS). Skipped when the data is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "model/model_loader.h"
#include "model/tensor_proto.h"
#include "model/value_io.h"
#include "tests/unit/backend_cases.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

// Tensor -> TensorProto -> Tensor must give back the same elements.
bool round_trips(const Tensor& t) {
  onnx::TensorProto proto;
  if (!tensor_to_proto(t, "", &proto).is_ok()) return false;
  auto back = tensor_from_proto(proto, nullptr);
  if (!back.is_ok() || back->dtype() != t.dtype() || back->shape() != t.shape()) return false;
  if (t.dtype() == DataType::string) {
    for (int64_t i = 0; i < t.size(); ++i)
      if (t.data<std::string>()[i] != back->data<std::string>()[i]) return false;
    return true;
  }
  return t.size() == 0 || std::memcmp(t.raw_data(), back->raw_data(), t.byte_size()) == 0;
}

// input_K.pb / output_K.pb -> K, or -1.
int file_index(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() + 3) return -1;
  try {
    return std::stoi(name.substr(prefix.size()));
  } catch (...) {
    return -1;
  }
}

TEST(ConformanceData, EveryModelAndValueLoads) {
  const fs::path root = backend_tests_dir();
  std::error_code ec;
  if (!fs::is_directory(root, ec)) GTEST_SKIP() << "no backend test data at " << root;
  const std::vector<fs::path> cases = backend_test_cases(root);

  int models = 0, values = 0;
  std::vector<std::string> failures;
  for (const auto& dir : cases) {
    auto model = load_model_file((dir / "model.onnx").string());
    if (!model.is_ok()) {
      failures.push_back(model.status().message());
      continue;
    }
    ++models;
    const auto feeds = model->graph.feed_inputs();
    for (const auto& set : fs::directory_iterator(dir)) {
      if (!set.is_directory()) continue;
      for (const auto& f : fs::directory_iterator(set.path())) {
        const std::string name = f.path().filename().string();
        TypeInfo type;
        if (int k = file_index(name, "input_"); k >= 0 && k < static_cast<int>(feeds.size()))
          type = feeds[k]->type;
        else if (int k = file_index(name, "output_"); k >= 0 && k < static_cast<int>(model->graph.outputs.size()))
          type = model->graph.outputs[k].type;
        else if (f.path().extension() != ".pb")
          continue;
        auto value = read_value_file(f.path().string(), type);
        if (!value.is_ok()) {
          failures.push_back(value.status().message());
          continue;
        }
        ++values;
        std::vector<Tensor> tensors;
        for (const Value& item : value->value.items())
          if (item.is_tensor()) tensors.push_back(item.tensor());
        if (value->value.is_tensor()) tensors.push_back(value->value.tensor());
        for (const Tensor& t : tensors)
          if (!round_trips(t)) failures.push_back("round trip changed a tensor of " + f.path().string());
      }
    }
  }
  std::cout << "loaded " << models << " of " << cases.size() << " models and " << values << " value files\n";
  for (const auto& f : failures) ADD_FAILURE() << f;
}

}  // namespace
}  // namespace tessera
