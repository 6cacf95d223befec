// Vision family: NonMaxSuppression, RoiAlign, GridSample, AffineGrid, Col2Im, CenterCropPad,
// DeformConv. Expected values are either worked by hand or follow from
// identities (an identity grid reproduces the image, zero offsets make DeformConv a Conv).
#include <cmath>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

TEST(Vision, NonMaxSuppressionSuppressesByIou) {
  Tensor boxes = tf({1, 6, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, -0.1f, 1, 0.9f, 0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100, 1, 101});
  Tensor scores = tf({1, 1, 6}, {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f});
  Tensor y = run1({"NonMaxSuppression", 11, {boxes, scores, ti64({1}, {3}), tf({1}, {0.5f}), tf({1}, {0.0f})}});
  ASSERT_EQ(shape_to_string(y.shape()), "[3,3]");
  EXPECT_EQ(values_of<int64_t>(y), (std::vector<int64_t>{0, 0, 3, 0, 0, 0, 0, 0, 5}));
  // No max_output_boxes_per_class: nothing is selected.
  Tensor none = run1({"NonMaxSuppression", 11, {boxes, scores}});
  EXPECT_EQ(shape_to_string(none.shape()), "[0,3]");
}

TEST(Vision, NonMaxSuppressionCenterFormatAndTies) {
  // Two identical boxes with equal scores: the lower index wins.
  Tensor boxes = tf({1, 3, 4}, {0.5f, 0.5f, 1, 1, 0.5f, 0.5f, 1, 1, 5, 5, 1, 1});
  Tensor scores = tf({1, 1, 3}, {0.7f, 0.7f, 0.2f});
  Tensor y = run1({"NonMaxSuppression", 11, {boxes, scores, ti64({1}, {10}), tf({1}, {0.5f})}, {attr_i("center_point_box", 1)}});
  EXPECT_EQ(values_of<int64_t>(y), (std::vector<int64_t>{0, 0, 0, 0, 0, 2}));
}

TEST(Vision, RoiAlignOfConstantImage) {
  Tensor x = zeros(DataType::float32, {1, 2, 6, 6});
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = i < 36 ? 3.0f : -1.0f;
  Tensor rois = tf({1, 4}, {1, 1, 4, 4});
  for (const char* mode : {"half_pixel", "output_half_pixel"}) {
    Tensor y = run1({"RoiAlign", 16, {x, rois, ti64({1}, {0})},
                     {attr_i("output_height", 2), attr_i("output_width", 3), attr_s("coordinate_transformation_mode", mode)}});
    expect_f_close(y, {1, 2, 2, 3}, {3, 3, 3, 3, 3, 3, -1, -1, -1, -1, -1, -1});
  }
}

TEST(Vision, RoiAlignErrors) {
  Tensor x = random_f({1, 1, 4, 4}, 1);
  expect_error(OpCall("RoiAlign", 16, {x, tf({1, 4}, {0, 0, 1, 1}), ti64({1}, {2})}), "batch_indices[0] = 2");
  expect_error(OpCall("RoiAlign", 16, {x, tf({1, 4}, {0, 0, 1, 1}), ti64({1}, {0})}, {attr_s("mode", "median")}), "mode");
}

// A grid whose points are the pixel centres (align_corners=1) samples the image exactly.
Tensor identity_grid(int64_t h, int64_t w) {
  Tensor g = zeros(DataType::float32, {1, h, w, 2});
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      g.data<float>()[(i * w + j) * 2] = w == 1 ? 0.0f : -1.0f + 2.0f * static_cast<float>(j) / static_cast<float>(w - 1);
      g.data<float>()[(i * w + j) * 2 + 1] = h == 1 ? 0.0f : -1.0f + 2.0f * static_cast<float>(i) / static_cast<float>(h - 1);
    }
  return g;
}

TEST(Vision, GridSampleIdentityGridReproducesImage) {
  Tensor x = random_f({1, 2, 4, 5}, 3);
  for (const char* mode : {"linear", "nearest", "cubic"})
    for (const char* pad : {"zeros", "border", "reflection"}) {
      Tensor y = run1({"GridSample", 20, {x, identity_grid(4, 5)},
                       {attr_s("mode", mode), attr_s("padding_mode", pad), attr_i("align_corners", 1)}});
      expect_f_close(y, {1, 2, 4, 5}, values_of<float>(x));
    }
}

TEST(Vision, GridSamplePaddingModes) {
  // 1-D-like image [1, 2, 3] (H = 1) sampled left of the image at x = -1.5 (pixel -1.25 with align_corners=0).
  Tensor x = tf({1, 1, 1, 3}, {1, 2, 3});
  Tensor grid = tf({1, 1, 2, 2}, {-1.5f, 0, 1.0f, 0});
  auto run = [&](const char* pad) {
    return run1({"GridSample", 20, {x, grid}, {attr_s("mode", "linear"), attr_s("padding_mode", pad)}});
  };
  // zeros: between pixel -2 (0) and -1 (0) -> 0; right edge x = 2.5 -> half of pixel 2.
  expect_f_close(run("zeros"), {1, 1, 1, 2}, {0.0f, 1.5f});
  // border: clamped to pixel 0 / pixel 2.
  expect_f_close(run("border"), {1, 1, 1, 2}, {1.0f, 3.0f});
  // reflection about -0.5: -1.25 -> 0.25, between 1 and 2.
  expect_f_close(run("reflection"), {1, 1, 1, 2}, {1.25f, 3.0f});
  // Opset 16 spells linear as bilinear.
  Tensor y16 = run1({"GridSample", 16, {x, grid}, {attr_s("mode", "bilinear"), attr_s("padding_mode", "border")}});
  expect_f_close(y16, {1, 1, 1, 2}, {1.0f, 3.0f});
}

TEST(Vision, GridSampleVolumetricNearest) {
  Tensor x = random_f({1, 1, 2, 3, 4}, 5);
  Tensor g = zeros(DataType::float32, {1, 2, 3, 4, 3});
  for (int64_t d = 0; d < 2; ++d)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t w = 0; w < 4; ++w) {
        float* p = g.data<float>() + ((d * 3 + h) * 4 + w) * 3;
        p[0] = -1.0f + 2.0f * static_cast<float>(w) / 3.0f;
        p[1] = -1.0f + 2.0f * static_cast<float>(h) / 2.0f;
        p[2] = -1.0f + 2.0f * static_cast<float>(d);
      }
  Tensor y = run1({"GridSample", 20, {x, g}, {attr_s("mode", "nearest"), attr_i("align_corners", 1)}});
  expect_f_close(y, {1, 1, 2, 3, 4}, values_of<float>(x), 1e-4, 0);
}

TEST(Vision, AffineGridIdentityThenGridSample) {
  Tensor theta = tf({1, 2, 3}, {1, 0, 0, 0, 1, 0});
  Tensor grid = run1({"AffineGrid", 20, {theta, ti64({4}, {1, 1, 3, 4})}});
  ASSERT_EQ(shape_to_string(grid.shape()), "[1,3,4,2]");
  // align_corners=0: x runs over pixel centres -1 + (2j+1)/4.
  EXPECT_NEAR(grid.data<float>()[0], -0.75f, 1e-6);
  EXPECT_NEAR(grid.data<float>()[1], -2.0f / 3.0f, 1e-6);
  Tensor x = random_f({1, 1, 3, 4}, 9);
  Tensor y = run1({"GridSample", 20, {x, grid}});
  expect_f_close(y, {1, 1, 3, 4}, values_of<float>(x));
  // 3-D with align_corners=1 and a translation along z.
  Tensor theta3 = tf({1, 3, 4}, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0.5f});
  Tensor g3 = run1({"AffineGrid", 20, {theta3, ti64({5}, {1, 1, 2, 2, 2})}, {attr_i("align_corners", 1)}});
  ASSERT_EQ(shape_to_string(g3.shape()), "[1,2,2,2,3]");
  expect_f_close(g3, {1, 2, 2, 2, 3}, {-1, -1, -0.5f, 1, -1, -0.5f, -1, 1, -0.5f, 1, 1, -0.5f,
                                       -1, -1, 1.5f, 1, -1, 1.5f, -1, 1, 1.5f, 1, 1, 1.5f});
}

TEST(Vision, Col2ImSumsOverlappingBlocks) {
  // 3x3 image, 2x2 blocks, stride 1: 4 blocks of ones sum to the overlap counts.
  Tensor cols = zeros(DataType::float32, {1, 4, 4});
  for (float& v : cols.span<float>()) v = 1;
  Tensor y = run1({"Col2Im", 18, {cols, ti64({2}, {3, 3}), ti64({2}, {2, 2})}});
  expect_f_close(y, {1, 1, 3, 3}, {1, 2, 1, 2, 4, 2, 1, 2, 1}, 1e-4, 0);
  // Padding 1 on every side and stride 2: the padded 5x5 holds 2x2 blocks of 2x2.
  Tensor cols2 = tf({1, 4, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  Tensor y2 = run1({"Col2Im", 18, {cols2, ti64({2}, {3, 3}), ti64({2}, {2, 2})},
                    {attr_ints("pads", {1, 1, 1, 1}), attr_ints("strides", {2, 2})}});
  // Kernel offset (kh, kw) of block (bh, bw) lands on image (2bh - 1 + kh, 2bw - 1 + kw).
  expect_f_close(y2, {1, 1, 3, 3}, {13, 10, 14, 7, 4, 8, 15, 12, 16}, 1e-4, 0);
}

TEST(Vision, CenterCropPad) {
  Tensor x = tf({3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  // Rows 3 -> 2 (crop the end), columns 4 -> 7 (pad 1 before, 2 after).
  Tensor y = run1({"CenterCropPad", 18, {x, ti64({2}, {2, 7})}});
  expect_f_close(y, {2, 7}, {0, 1, 2, 3, 4, 0, 0, 0, 5, 6, 7, 8, 0, 0}, 1e-4, 0);
  Tensor z = run1({"CenterCropPad", 18, {x, ti64({1}, {2})}, {attr_ints("axes", {-1})}});
  expect_f_close(z, {3, 2}, {2, 3, 6, 7, 10, 11}, 1e-4, 0);
}

TEST(Vision, DeformConvWithZeroOffsetsIsConv) {
  const int64_t N = 2, C = 4, H = 5, W = 6, OC = 6, G = 2, KH = 3, KW = 2;
  Tensor x = random_f({N, C, H, W}, 11), w = random_f({OC, C / G, KH, KW}, 12), b = random_f({OC}, 13);
  const int64_t OH = (H + 2 - KH) / 1 + 1, OW = (W + 0 - KW) / 1 + 1;
  Tensor offset = zeros(DataType::float32, {N, 2 * KH * KW, OH, OW});
  Tensor y = run1({"DeformConv", 19, {x, w, offset, b}, {attr_i("group", G), attr_ints("pads", {1, 0, 1, 0})}});
  std::vector<float> want;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < OC; ++oc)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = b.data<float>()[oc];
          const int64_t g = oc / (OC / G);
          for (int64_t ic = 0; ic < C / G; ++ic)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh - 1 + kh, iw = ow + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += x.data<float>()[((n * C + g * (C / G) + ic) * H + ih) * W + iw] *
                     w.data<float>()[((oc * (C / G) + ic) * KH + kh) * KW + kw];
              }
          want.push_back(static_cast<float>(s));
        }
  expect_f_close(y, {N, OC, OH, OW}, want);
}

TEST(Vision, DeformConvHalfPixelOffsetAveragesNeighbours) {
  // 1x1 kernel shifted by half a pixel to the right: mean of two horizontal neighbours.
  Tensor x = tf({1, 1, 1, 3}, {2, 4, 8});
  Tensor w = tf({1, 1, 1, 1}, {1});
  Tensor offset = tf({1, 2, 1, 3}, {0, 0, 0, 0.5f, 0.5f, 0.5f});
  Tensor y = run1({"DeformConv", 19, {x, w, offset}});
  expect_f_close(y, {1, 1, 1, 3}, {3, 6, 4});  // the last one reads half of a zero pad
}

}  // namespace
}  // namespace tessera::kernel_test
