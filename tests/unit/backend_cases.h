// The ONNX backend test data (conformance cases) that sits next to the project root, for the
// tests that walk every case. $TESSERA_BACKEND_TESTS points elsewhere.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

namespace tessera {

inline std::filesystem::path backend_tests_dir() {
  if (const char* env = std::getenv("TESSERA_BACKEND_TESTS")) return env;
  // This file is tests/unit/; the data is ../shared/onnx-backend-tests beside the checkout.
  return std::filesystem::path(__FILE__).parent_path() / "../../../shared/onnx-backend-tests";
}

// Every case folder (SUITE/CASE with a model.onnx) under `root`, sorted; empty when absent.
inline std::vector<std::filesystem::path> backend_test_cases(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> cases;
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return cases;
  for (const auto& suite : std::filesystem::directory_iterator(root))
    if (suite.is_directory())
      for (const auto& c : std::filesystem::directory_iterator(suite.path()))
        if (std::filesystem::exists(c.path() / "model.onnx")) cases.push_back(c.path());
  std::sort(cases.begin(), cases.end());
  return cases;
}

}  // namespace tessera
