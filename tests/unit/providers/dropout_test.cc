// Dropout: inference forwards the input with an all-true mask; training with a seed matches the
// ONNX reference's numpy RandomState draws.
#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

TEST(Dropout, InferenceIsIdentity) {
  Tensor x = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  auto r = run_op({"Dropout", 13, {x, tf({}, {0.9f})}, {}, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(r.value()[0].tensor().shares_buffer_with(x));
  ASSERT_EQ(r.value()[1].tensor().dtype(), DataType::boolean);
  expect_near(r.value()[1].tensor(), {2, 3}, {1, 1, 1, 1, 1, 1});
  // Before opset 10 the mask has the data's type.
  r = run_op({"Dropout", 7, {x}, {attr_f("ratio", 0.3f)}, 2});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value()[1].tensor().dtype(), DataType::float32);
}

TEST(Dropout, TrainingWithSeedIsReproducible) {
  std::vector<float> v(40, 1.0f);
  Tensor x = tf({40}, v);
  Tensor t = tensor_of<bool>(DataType::boolean, {}, {true});
  OpCall call{"Dropout", 13, {x, tf({}, {0.5f}), t}, {attr_i("seed", 0)}, 2};
  auto a = run_op(call), b = run_op(call);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  int kept = 0;
  for (int64_t i = 0; i < 40; ++i) {
    const double y = value_at(a.value()[0].tensor(), i);
    const bool m = a.value()[1].tensor().data<bool>()[i];
    EXPECT_EQ(y, m ? 2.0 : 0.0);
    EXPECT_EQ(y, value_at(b.value()[0].tensor(), i));
    kept += m;
  }
  // numpy.random.RandomState(0).uniform(size=4) = [0.5488, 0.7152, 0.6028, 0.5449]: all kept.
  for (int64_t i = 0; i < 4; ++i) EXPECT_TRUE(a.value()[1].tensor().data<bool>()[i]);
  EXPECT_GT(kept, 5);
  EXPECT_LT(kept, 35);
}

TEST(Dropout, OldIsTestAttribute) {
  Tensor x = tf({3}, {1, 2, 3});
  Tensor y = run1({"Dropout", 6, {x}, {attr_i("is_test", 1)}});
  expect_near(y, {3}, {1, 2, 3});
  EXPECT_FALSE(run_op({"Dropout", 13, {x, tf({2}, {0.1f, 0.2f})}}).is_ok());
}

}  // namespace
}  // namespace tessera::kernel_test
