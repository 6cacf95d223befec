// ai.onnx.ml kernels, across the family's files: the small transforms (numeric_transforms.cc,
// feature_assembly.cc, category_mapping.cc), LabelEncoder in its three generations, the tree
// ensembles and the linear/SVM models, on hand-worked cases (scores and labels follow ONNX
// Runtime's conventions for binary classifiers).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

OpCall ml(const std::string& op, int64_t opset, std::vector<std::optional<Value>> in, std::vector<Attribute> attrs = {},
          int outputs = 1) {
  OpCall c(op, opset, std::move(in), std::move(attrs), outputs);
  c.domain = "ai.onnx.ml";
  return c;
}

const float kNan = std::numeric_limits<float>::quiet_NaN();

TEST(MlOps, SmallTransforms) {
  expect_f_close(run1(ml("Binarizer", 1, {tf({4}, {-1, 0.5f, 1, 2})}, {attr_f("threshold", 0.5f)})), {4}, {0, 0, 1, 1}, 1e-4, 0);
  Tensor afe = run1(ml("ArrayFeatureExtractor", 1, {tf({4}, {10, 11, 12, 13}), ti64({2}, {3, 0})}));
  expect_f_close(afe, {1, 2}, {13, 10}, 1e-4, 0);
  expect_f_close(run1(ml("Normalizer", 1, {tf({2, 2}, {3, 4, 0, 0})}, {attr_s("norm", "L2")})), {2, 2}, {0.6f, 0.8f, 0, 0});
  expect_f_close(run1(ml("Normalizer", 1, {tf({1, 3}, {1, -3, 2})}, {attr_s("norm", "L1")})), {1, 3}, {1 / 6.0f, -0.5f, 1 / 3.0f});
  expect_f_close(run1(ml("Scaler", 1, {ti64({2, 2}, {1, 2, 3, 4})}, {attr_floats("offset", {1, 2}), attr_floats("scale", {2})})), {2, 2},
                 {0, 0, 4, 4}, 1e-4, 0);
  expect_f_close(run1(ml("Imputer", 1, {tf({2, 2}, {kNan, 1, 2, kNan})},
                         {attr_floats("imputed_value_floats", {7, 8}), attr_f("replaced_value_float", kNan)})),
                 {2, 2}, {7, 1, 2, 8}, 1e-4, 0);
  Tensor ohe = run1(ml("OneHotEncoder", 1, {ts({3}, {"b", "x", "a"})}, {attr_strings("cats_strings", {"a", "b"})}));
  expect_f_close(ohe, {3, 2}, {0, 1, 0, 0, 1, 0}, 1e-4, 0);
  expect_error(ml("OneHotEncoder", 1, {ti64({1}, {9})}, {attr_ints("cats_int64s", {1}), attr_i("zeros", 0)}), "unknown category");
  Tensor fv = run1(ml("FeatureVectorizer", 1, {tf({2, 3}, {1, 2, 3, 4, 5, 6}), ti64({2, 1}, {7, 8})}, {attr_ints("inputdimensions", {2, 2})}));
  expect_f_close(fv, {2, 4}, {1, 2, 7, 0, 4, 5, 8, 0}, 1e-4, 0);
}

TEST(MlOps, CategoryMapperAndDictVectorizer) {
  std::vector<Attribute> cats = {attr_strings("cats_strings", {"a", "b"}), attr_ints("cats_int64s", {5, 6})};
  EXPECT_EQ(values_of<int64_t>(run1(ml("CategoryMapper", 1, {ts({3}, {"b", "q", "a"})}, cats))), (std::vector<int64_t>{6, -1, 5}));
  EXPECT_EQ(values_of<std::string>(run1(ml("CategoryMapper", 1, {ti64({2}, {5, 9})}, cats))), (std::vector<std::string>{"a", "_Unused"}));
  Value map = Value::map(ts({3}, {"y", "z", "x"}), tf({3}, {2, 3, 1}));
  Tensor dv = run1(ml("DictVectorizer", 1, {map}, {attr_strings("string_vocabulary", {"x", "y", "w"})}));
  expect_f_close(dv, {1, 3}, {1, 2, 0}, 1e-4, 0);
}

TEST(MlOps, LabelEncoderGenerations) {
  // Opset 1: strings to indices and back.
  std::vector<Attribute> v1 = {attr_strings("classes_strings", {"a", "b"})};
  EXPECT_EQ(values_of<int64_t>(run1(ml("LabelEncoder", 1, {ts({3}, {"b", "z", "a"})}, v1))), (std::vector<int64_t>{1, -1, 0}));
  EXPECT_EQ(values_of<std::string>(run1(ml("LabelEncoder", 1, {ti64({2}, {1, 4})}, v1))), (std::vector<std::string>{"b", "_Unused"}));
  // Opset 2: float keys, any NaN matches a NaN key; a repeated key takes the last value.
  Tensor y = run1(ml("LabelEncoder", 2, {tf({4}, {1.5f, kNan, 2, 9})},
                     {attr_floats("keys_floats", {1.5f, kNan, 2, 2}), attr_strings("values_strings", {"x", "n", "y", "w"})}));
  EXPECT_EQ(values_of<std::string>(y), (std::vector<std::string>{"x", "n", "w", "_Unused"}));
  // Opset 4: tensors for keys, values and default.
  Tensor z = run1(ml("LabelEncoder", 4, {ti32({3}, {3, 1, 2})},
                     {attr_t("keys_tensor", ti32({2}, {1, 2})), attr_t("values_tensor", td({2}, {0.5, 0.25})),
                      attr_t("default_tensor", td({1}, {-9}))}));
  ASSERT_EQ(z.dtype(), DataType::float64);
  EXPECT_EQ(values_of<double>(z), (std::vector<double>{-9, 0.5, 0.25}));
  expect_error(ml("LabelEncoder", 2, {tf({1}, {1})}, {attr_strings("keys_strings", {"a"}), attr_ints("values_int64s", {1})}),
               "does not match");
}

TEST(MlOps, TreeEnsembleV5WithMembership) {
  // Tree 0: x0 in {1, 3} ? leaf 0 (target 0, +1) : (x1 <= 0.5 ? leaf 1 (target 1, +2) : leaf 2 (target 1, +4)).
  // Tree 1: a single leaf (target 0, +10).
  std::vector<Attribute> attrs = {
      attr_i("n_targets", 2), attr_ints("tree_roots", {0, 2}), attr_ints("nodes_featureids", {0, 1, 0}),
      attr_t("nodes_modes", tensor_of<uint8_t>(DataType::uint8, {3}, {6, 0, 0})),
      attr_t("nodes_splits", tf({3}, {kNan, 0.5f, 0})), attr_t("membership_values", tf({3}, {1, 3, kNan})),
      attr_ints("nodes_truenodeids", {0, 1, 3}), attr_ints("nodes_trueleafs", {1, 1, 1}),
      attr_ints("nodes_falsenodeids", {1, 2, 3}), attr_ints("nodes_falseleafs", {0, 1, 1}),
      attr_ints("leaf_targetids", {0, 1, 1, 0}), attr_t("leaf_weights", tf({4}, {1, 2, 4, 10}))};
  Tensor x = tf({3, 2}, {3, 0, 2, 0, 2, 1});
  expect_f_close(run1(ml("TreeEnsemble", 5, {x}, attrs)), {3, 2}, {11, 0, 10, 2, 10, 4}, 1e-4, 0);
  attrs.push_back(attr_i("aggregate_function", 0));  // average over the 2 trees
  expect_f_close(run1(ml("TreeEnsemble", 5, {x}, attrs)), {3, 2}, {5.5f, 0, 5, 1, 5, 2}, 1e-4, 0);
}

// Stump: x0 <= 0 ? leaf 1 : leaf 2, in the v1/v3 attribute layout.
std::vector<Attribute> stump(const std::string& prefix, std::vector<int64_t> ids, std::vector<float> weights) {
  return {attr_ints("nodes_treeids", {0, 0, 0}),    attr_ints("nodes_nodeids", {0, 1, 2}),
          attr_ints("nodes_featureids", {0, 0, 0}), attr_strings("nodes_modes", {"BRANCH_LEQ", "LEAF", "LEAF"}),
          attr_floats("nodes_values", {0, 0, 0}),   attr_ints("nodes_truenodeids", {1, 0, 0}),
          attr_ints("nodes_falsenodeids", {2, 0, 0}), attr_ints(prefix + "_treeids", std::vector<int64_t>(ids.size(), 0)),
          attr_ints(prefix + "_nodeids", {1, 2}),   attr_ints(prefix + "_ids", ids),
          attr_floats(prefix + "_weights", weights)};
}

TEST(MlOps, TreeEnsembleRegressorAndClassifier) {
  std::vector<Attribute> reg = stump("target", {0, 0}, {-1, 3});
  reg.push_back(attr_floats("base_values", {0.5f}));
  expect_f_close(run1(ml("TreeEnsembleRegressor", 3, {tf({2, 1}, {-1, 1})}, reg)), {2, 1}, {-0.5f, 3.5f}, 1e-4, 0);
  // Binary classifier voting for class 1 only, positive weights: scores [1 - s, s], label by s > 0.5.
  std::vector<Attribute> cls = stump("class", {1, 1}, {0.3f, 0.8f});
  cls.push_back(attr_ints("classlabels_int64s", {4, 7}));
  auto r = run_op(ml("TreeEnsembleClassifier", 3, {tf({2, 1}, {-1, 1})}, cls, 2));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<int64_t>(r.value()[0].tensor()), (std::vector<int64_t>{4, 7}));
  expect_f_close(r.value()[1].tensor(), {2, 2}, {0, 0.3f, 0, 0.8f}, 1e-4, 1e-6);
}

TEST(MlOps, LinearAndSvm) {
  // One score, two labels: label by sign, scores [1 - s, s].
  auto r = run_op(ml("LinearClassifier", 1, {tf({2, 2}, {1, 1, -1, 0})},
                     {attr_floats("coefficients", {0.5f, 0.25f}), attr_floats("intercepts", {0.1f}), attr_ints("classlabels_ints", {3, 8})},
                     2));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<int64_t>(r.value()[0].tensor()), (std::vector<int64_t>{8, 3}));
  expect_f_close(r.value()[1].tensor(), {2, 2}, {1 - 0.85f, 0.85f, 1.4f, -0.4f});
  Tensor lr = run1(ml("LinearRegressor", 1, {tf({1, 2}, {1, 2})},
                      {attr_floats("coefficients", {1, 1, 2, -1}), attr_floats("intercepts", {0, 1}), attr_i("targets", 2)}));
  expect_f_close(lr, {1, 2}, {3, 1});
  Tensor svr = run1(ml("SVMRegressor", 1, {tf({2, 2}, {1, 0, 0, 1})},
                       {attr_s("kernel_type", "RBF"), attr_floats("kernel_params", {0.5f, 0, 0}), attr_i("n_supports", 1),
                        attr_floats("support_vectors", {1, 0}), attr_floats("coefficients", {2}), attr_floats("rho", {0.1f})}));
  expect_f_close(svr, {2, 1}, {2.1f, 2 * std::exp(-0.5f * 2) + 0.1f});
}

}  // namespace
}  // namespace tessera::kernel_test
