// Resize / Upsample on small odd shapes. Expected values come from the ONNX reference
// implementation (reference/ops/op_resize.py) run on the same inputs.
#include <numeric>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

std::vector<float> iota_values(int n, float start) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

const std::optional<Tensor> kNone = std::nullopt;

Tensor resize19(const Tensor& x, std::optional<Tensor> roi, std::optional<Tensor> scales, std::optional<Tensor> sizes,
                std::vector<Attribute> attrs) {
  return run1({"Resize", 19, {x, roi, scales, sizes}, std::move(attrs)});
}

TEST(Resize, LinearHalfPixelScales) {
  Tensor x = tf({1, 1, 3, 5}, iota_values(15, 1));
  Tensor y = resize19(x, kNone, tf({4}, {1, 1, 1.7f, 0.6f}), kNone, {attr_s("mode", "linear")});
  expect_near(y, {1, 1, 5, 3},
              {1.33333325, 3, 4.66666651, 3.24509788, 4.91176462, 6.57843113, 6.18627405, 7.85294104, 9.51960754,
               9.12745094, 10.794117, 12.460784, 11.333333, 13, 14.666666});
}

TEST(Resize, CubicAlignCornersSizes) {
  Tensor x = tf({1, 1, 3, 5}, iota_values(15, 1));
  Tensor y = resize19(x, kNone, kNone, ti64({4}, {1, 1, 4, 7}),
                      {attr_s("mode", "cubic"), attr_s("coordinate_transformation_mode", "align_corners")});
  expect_near(y, {1, 1, 4, 7},
              {1,          1.57407403, 2.37037039, 3,          3.62962961, 4.42592573, 5,
               3.87037039, 4.44444466, 5.24074078, 5.87037039, 6.5,        7.29629612, 7.87037039,
               8.12963009, 8.70370388, 9.5,        10.1296301, 10.7592592, 11.5555553, 12.1296301,
               11,         11.5740738, 12.3703699, 13,         13.6296301, 14.4259262, 15});
}

TEST(Resize, CubicExcludeOutsideA) {
  Tensor x = tf({1, 1, 3, 5}, iota_values(15, 1));
  Tensor y = resize19(x, kNone, tf({4}, {1, 1, 2, 2}), kNone,
                      {attr_s("mode", "cubic"), attr_f("cubic_coeff_a", -0.5f), attr_i("exclude_outside", 1)});
  const std::vector<double> first_row = {0.470588237, 0.726706743, 1.26874721, 1.80882359, 2.30882359,
                                         2.80882359,  3.30882359,  3.84889984, 4.39094019, 4.64705896};
  const std::vector<double> last_row = {11.3529415, 11.6090593, 12.1511002, 12.6911764, 13.1911764,
                                        13.6911764, 14.1911764, 14.7312527, 15.2732935, 15.5294113};
  ASSERT_EQ(shape_to_string(y.shape()), "[1,1,6,10]");
  for (int i = 0; i < 10; ++i) {
    EXPECT_NEAR(value_at(y, i), first_row[static_cast<size_t>(i)], 1e-4);
    EXPECT_NEAR(value_at(y, 50 + i), last_row[static_cast<size_t>(i)], 1e-4);
  }
}

TEST(Resize, NearestModes) {
  Tensor x = tf({1, 1, 2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = resize19(x, kNone, kNone, ti64({4}, {1, 1, 5, 4}),
                      {attr_s("mode", "nearest"), attr_s("coordinate_transformation_mode", "asymmetric"),
                       attr_s("nearest_mode", "round_prefer_ceil")});
  expect_near(y, {1, 1, 5, 4}, {1, 2, 3, 3, 1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6, 4, 5, 6, 6});
  y = resize19(x, kNone, kNone, ti64({4}, {1, 1, 5, 4}), {attr_s("nearest_mode", "floor")});
  expect_near(y, {1, 1, 5, 4}, {1, 1, 2, 3, 1, 1, 2, 3, 1, 1, 2, 3, 1, 1, 2, 3, 4, 4, 5, 6});
}

TEST(Resize, NearestWorksOnAnyType) {
  Tensor x = tensor_of<bool>(DataType::boolean, {1, 3}, {true, false, true});
  Tensor y = resize19(x, kNone, tf({2}, {2, 2}), kNone, {attr_s("coordinate_transformation_mode", "asymmetric")});
  expect_near(y, {2, 6}, {1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1});
}

const std::vector<float> kX57 = {
    0.55079788f,  0.708147824f, 0.290904731f, 0.510827601f, 0.892946959f, 0.896293104f, 0.125585318f,
    0.207242876f, 0.0514672026f, 0.440809846f, 0.0298762117f, 0.456833214f, 0.649144053f, 0.278487295f,
    0.676254928f, 0.590862811f, 0.0239818823f, 0.558854103f, 0.259252459f, 0.4151012f, 0.283525079f,
    0.693137944f, 0.440453708f, 0.156867743f, 0.544649005f, 0.780314744f, 0.306363523f, 0.221957877f,
    0.387971252f, 0.936383665f, 0.975995421f, 0.672383666f, 0.902834117f, 0.845750868f, 0.377994031f};

TEST(Resize, AntialiasLinearAndCubic) {
  Tensor x = tf({1, 1, 5, 7}, kX57);
  Tensor y = resize19(x, kNone, tf({4}, {1, 1, 0.45f, 0.45f}), kNone, {attr_s("mode", "linear"), attr_i("antialias", 1)});
  expect_near(y, {1, 1, 2, 3}, {0.418647945, 0.401034981, 0.528382719, 0.531256437, 0.500303686, 0.458140731});
  y = resize19(x, kNone, kNone, ti64({2}, {3, 4}),
               {attr_s("mode", "cubic"), attr_i("antialias", 1), attr_ints("axes", {2, 3})});
  expect_near(y, {1, 1, 3, 4},
              {0.416829944, 0.330370188, 0.651040256, 0.475769013, 0.480487317, 0.206524357, 0.397073388,
               0.316238701, 0.627847731, 0.674063027, 0.78564471, 0.450769037});
}

TEST(Resize, TfCropAndResizeExtrapolates) {
  Tensor x = tf({1, 1, 4, 5}, iota_values(20, 0));
  Tensor roi = tf({8}, {0, 0, 0.2f, -0.1f, 1, 1, 1.3f, 0.9f});
  Tensor y = resize19(x, roi, kNone, ti64({4}, {1, 1, 3, 4}),
                      {attr_s("mode", "linear"), attr_s("coordinate_transformation_mode", "tf_crop_and_resize"),
                       attr_f("extrapolation_value", -7)});
  expect_near(y, {1, 1, 3, 4}, {-7, 3.9333334, 5.26666689, 6.5999999, -7, 12.1833324, 13.5166664, 14.8499994, -7, -7, -7, -7});
}

TEST(Resize, HalfPixelSymmetric) {
  Tensor x = tf({1, 1, 3, 4}, iota_values(12, 0));
  Tensor y = resize19(x, kNone, tf({4}, {1, 1, 1.3f, 0.7f}), kNone,
                      {attr_s("mode", "linear"), attr_s("coordinate_transformation_mode", "half_pixel_symmetric")});
  expect_near(y, {1, 1, 3, 2}, {1.70879114, 3.13736248, 4.78571415, 6.21428585, 7.86263752, 9.29120922});
}

TEST(Resize, KeepAspectRatioPolicies) {
  Tensor x = tf({1, 1, 2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = resize19(x, kNone, kNone, ti64({2}, {7, 7}),
                      {attr_ints("axes", {2, 3}), attr_s("keep_aspect_ratio_policy", "not_larger")});
  expect_near(y, {1, 1, 5, 7}, {1, 1, 2, 2, 2, 3, 3, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 4, 4, 5, 5, 5, 6, 6, 4, 4, 5, 5, 5, 6, 6});
  y = resize19(x, kNone, kNone, ti64({2}, {5, 5}),
               {attr_ints("axes", {3, 2}), attr_s("mode", "linear"), attr_s("keep_aspect_ratio_policy", "not_smaller")});
  ASSERT_EQ(shape_to_string(y.shape()), "[1,1,5,8]");
  EXPECT_NEAR(value_at(y, 1), 1.1, 1e-5);
  EXPECT_NEAR(value_at(y, 12), 2.6, 1e-5);
  EXPECT_NEAR(value_at(y, 39), 6, 1e-5);
}

TEST(Resize, TrilinearPytorchHalfPixel) {
  Tensor x = tf({2, 3, 4}, iota_values(24, 0));
  Tensor y = resize19(x, kNone, tf({3}, {1.5f, 0.5f, 2}), kNone,
                      {attr_s("mode", "linear"), attr_s("coordinate_transformation_mode", "pytorch_half_pixel")});
  expect_near(y, {3, 1, 8}, {2, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5, 8, 8.25, 8.75, 9.25, 9.75, 10.25, 10.75, 11,
                             14, 14.25, 14.75, 15.25, 15.75, 16.25, 16.75, 17});
}

TEST(Resize, Uint8LinearRounds) {
  Tensor x = tensor_of<uint8_t>(DataType::uint8, {1, 2}, {0, 255});
  Tensor y = resize19(x, kNone, tf({2}, {1, 3}), kNone, {attr_s("mode", "linear"), attr_s("coordinate_transformation_mode", "align_corners")});
  ASSERT_EQ(y.dtype(), DataType::uint8);
  expect_near(y, {1, 6}, {0, 51, 102, 153, 204, 255});
}

TEST(Resize, OldOpsetsAreAsymmetric) {
  Tensor x = tf({1, 1, 2, 2}, {1, 2, 3, 4});
  // Upsample-9 and Resize-10 take scales as input 1; Upsample-7 as an attribute.
  Tensor y = run1({"Upsample", 9, {x, tf({4}, {1, 1, 2, 3})}, {attr_s("mode", "nearest")}});
  expect_near(y, {1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
  y = run1({"Upsample", 7, {x}, {attr_s("mode", "linear"), attr_floats("scales", {1, 1, 2, 2})}});
  expect_near(y, {1, 1, 4, 4}, {1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4});
  y = run1({"Resize", 10, {x, tf({4}, {1, 1, 0.5f, 0.5f})}, {attr_s("mode", "nearest")}});
  expect_near(y, {1, 1, 1, 1}, {1});
}

TEST(Resize, Errors) {
  Tensor x = tf({1, 1, 2, 2}, {1, 2, 3, 4});
  EXPECT_FALSE(run_op({"Resize", 19, {x, kNone, tf({4}, {1, 1, 2, 2}), ti64({4}, {1, 1, 4, 4})}}).is_ok());
  EXPECT_FALSE(run_op({"Resize", 19, {x, kNone, tf({3}, {1, 2, 2})}}).is_ok());
  EXPECT_FALSE(run_op({"Resize", 19, {x, kNone, tf({4}, {1, 1, 2, 2})}, {attr_s("mode", "bicubic")}}).is_ok());
  EXPECT_FALSE(run_op({"Resize", 19, {x, kNone, tf({4}, {1, 1, 0.5f, 0.5f})}, {attr_i("antialias", 1)}}).is_ok());
  // Sizes past int64 converted from double were undefined behaviour: now errors.
  expect_error({"Resize", 19, {x, kNone, tf({4}, {1, 1, 1e30f, 1})}}, "larger than 2^62");
  expect_error({"Resize", 19, {x, kNone, kNone, ti64({4}, {1, 1, INT64_MAX, 2})}}, "sizes must be in");
}

TEST(Resize, ParallelMatchesSerial) {
  std::vector<float> v(3 * 37 * 41);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 7919) % 113) / 7.0f;
  Tensor x = tf({1, 3, 37, 41}, v);
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    OpCall call{"Resize", 19, {x, kNone, tf({4}, {1, 1, 2.3f, 1.7f})}, {attr_s("mode", mode)}};
    Tensor a = run1(call);
    call.threads = 3;
    Tensor b = run1(call);
    ASSERT_EQ(a.size(), b.size());
    for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(value_at(a, i), value_at(b, i)) << mode << " element " << i;
  }
}

}  // namespace
}  // namespace tessera::kernel_test
