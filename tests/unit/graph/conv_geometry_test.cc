#include "graph/conv_geometry.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

using Ints = std::vector<int64_t>;

Node node_with(std::vector<Attribute> attrs) {
  Node n;
  n.name = "n";
  n.op_type = "Conv";
  for (Attribute& a : attrs) n.attributes[a.name] = std::move(a);
  return n;
}




ConvAttributes parse(std::vector<Attribute> attrs) {
  auto r = parse_conv_attributes(node_with(std::move(attrs)));
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.value();
}

TEST(ConvGeometry, ParsesAttributesAndDefaults) {
  ConvAttributes a = parse({});
  EXPECT_EQ(a.auto_pad, AutoPad::notset);
  EXPECT_EQ(a.group, 1);
  EXPECT_FALSE(a.ceil_mode);
  a = parse({string_attr("auto_pad", "SAME_LOWER"), int_attr("group", 4), int_attr("ceil_mode", 1),
             ints_attr("strides", {2, 3})});
  EXPECT_EQ(a.auto_pad, AutoPad::same_lower);
  EXPECT_EQ(a.group, 4);
  EXPECT_TRUE(a.ceil_mode);
  EXPECT_EQ(a.strides, (Ints{2, 3}));

  auto bad = parse_conv_attributes(node_with({string_attr("auto_pad", "SAME")}));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::invalid_model);
  EXPECT_EQ(bad.status().message(), "node 'n' (Conv): unknown auto_pad 'SAME'");
  EXPECT_FALSE(parse_conv_attributes(node_with({int_attr("group", 0)})).is_ok());
  EXPECT_FALSE(parse_conv_attributes(node_with({ints_attr("strides", {1, 0})})).is_ok());
  EXPECT_FALSE(parse_conv_attributes(node_with({ints_attr("dilations", {0})})).is_ok());
}

TEST(ConvGeometry, ExplicitPadsStridesAndDilations) {
  // in 7x9, kernel 3x3, pads (1,2)/(0,1), stride 2x3: out = floor((7+1+0-3)/2)+1 = 3,
  // floor((9+2+1-3)/3)+1 = 4.
  ConvAttributes a = parse({ints_attr("pads", {1, 2, 0, 1}), ints_attr("strides", {2, 3})});
  auto g = window_geometry(a, {7, 9}, {3, 3});
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  EXPECT_EQ(g->output, (Ints{3, 4}));
  EXPECT_EQ(g->pad_begin, (Ints{1, 2}));
  EXPECT_EQ(g->pad_end, (Ints{0, 1}));
  EXPECT_EQ(g->stride, (Ints{2, 3}));
  EXPECT_EQ(g->dilation, (Ints{1, 1}));

  // Dilation 2 makes a 3-tap kernel span 5: in 10 -> 6.
  g = window_geometry(parse({ints_attr("dilations", {2})}), {10}, {3});
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->output, (Ints{6}));
  EXPECT_EQ(g->kernel, (Ints{3}));
}

TEST(ConvGeometry, AutoPad) {
  // in 6, kernel 3, stride 2: out 3, total pad (3-1)*2+3-6 = 1.
  auto upper = window_geometry(parse({string_attr("auto_pad", "SAME_UPPER"), ints_attr("strides", {2})}), {6}, {3});
  ASSERT_TRUE(upper.is_ok());
  EXPECT_EQ(upper->output, (Ints{3}));
  EXPECT_EQ(upper->pad_begin, (Ints{0}));
  EXPECT_EQ(upper->pad_end, (Ints{1}));
  auto lower = window_geometry(parse({string_attr("auto_pad", "SAME_LOWER"), ints_attr("strides", {2})}), {6}, {3});
  ASSERT_TRUE(lower.is_ok());
  EXPECT_EQ(lower->output, (Ints{3}));
  EXPECT_EQ(lower->pad_begin, (Ints{1}));
  EXPECT_EQ(lower->pad_end, (Ints{0}));
  // VALID ignores explicit pads: in 7, kernel 3, stride 2 -> 3.
  auto valid = window_geometry(parse({string_attr("auto_pad", "VALID"), ints_attr("pads", {5, 5}), ints_attr("strides", {2})}),
                               {7}, {3});
  ASSERT_TRUE(valid.is_ok());
  EXPECT_EQ(valid->output, (Ints{3}));
  EXPECT_EQ(valid->pad_begin, (Ints{0}));
  EXPECT_EQ(valid->pad_end, (Ints{0}));
}

TEST(ConvGeometry, CeilModeAndPools) {
  // Pools pass no weights: the kernel comes from kernel_shape. in 6, kernel 3, stride 2:
  // floor(3/2)+1 = 2, ceil -> 3.
  auto floor_g = window_geometry(parse({ints_attr("kernel_shape", {3}), ints_attr("strides", {2})}), {6});
  ASSERT_TRUE(floor_g.is_ok());
  EXPECT_EQ(floor_g->output, (Ints{2}));
  auto ceil_g = window_geometry(parse({ints_attr("kernel_shape", {3}), ints_attr("strides", {2}), int_attr("ceil_mode", 1)}),
                                {6});
  ASSERT_TRUE(ceil_g.is_ok());
  EXPECT_EQ(ceil_g->output, (Ints{3}));
  // A ceil window that would start in the end padding is dropped: in 5, kernel 2, stride 2,
  // pads (0, 1): ceil((5+1-2)/2)+1 = 3 windows start at 0, 2, 4 (< 5, kept); with in 4 and
  // pads (0, 2): ceil((4+2-2)/2)+1 = 3, the third would start at 4 >= in + pad_begin -> 2.
  auto kept = window_geometry(
      parse({ints_attr("kernel_shape", {2}), ints_attr("strides", {2}), ints_attr("pads", {0, 1}), int_attr("ceil_mode", 1)}), {5});
  ASSERT_TRUE(kept.is_ok());
  EXPECT_EQ(kept->output, (Ints{3}));
  auto dropped = window_geometry(
      parse({ints_attr("kernel_shape", {2}), ints_attr("strides", {2}), ints_attr("pads", {0, 2}), int_attr("ceil_mode", 1)}), {4});
  ASSERT_TRUE(dropped.is_ok());
  EXPECT_EQ(dropped->output, (Ints{2}));
}

TEST(ConvGeometry, Errors) {
  auto big = window_geometry(parse({}), {2, 2}, {3, 3});
  ASSERT_FALSE(big.is_ok());
  EXPECT_EQ(big.status().message(), "kernel (effective size 3) is larger than the padded input [2,2]");
  // An empty input gives an empty output rather than an error.
  auto empty = window_geometry(parse({}), {0}, {3});
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->output, (Ints{0}));
  auto pads = window_geometry(parse({ints_attr("pads", {1, 1})}), {4, 4}, {1, 1});
  ASSERT_FALSE(pads.is_ok());
  EXPECT_EQ(pads.status().message(), "pads has 2 values, expected 4");
  auto mismatch = window_geometry(parse({ints_attr("kernel_shape", {2, 2})}), {4, 4}, {3, 3});
  ASSERT_FALSE(mismatch.is_ok());
  EXPECT_EQ(mismatch.status().message(), "kernel_shape [2,2] does not match the weights' kernel [3,3]");
  EXPECT_FALSE(window_geometry(parse({}), {4}).is_ok());  // no kernel at all
}

TEST(ConvGeometry, TransposeOutputPaddingAndPads) {
  // in 3, stride 2, kernel 3, output_padding 1: 2*(3-1)+1+3 = 8; pads (1, 2) -> 5.
  auto g = transpose_geometry(parse({ints_attr("strides", {2}), ints_attr("output_padding", {1})}), {3}, {3});
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->output, (Ints{8}));
  g = transpose_geometry(parse({ints_attr("strides", {2}), ints_attr("output_padding", {1}), ints_attr("pads", {1, 2})}), {3},
                         {3});
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->output, (Ints{5}));
  EXPECT_EQ(g->pad_begin, (Ints{1}));
  EXPECT_EQ(g->pad_end, (Ints{2}));
  // Dilation 2: effective kernel 5, in 3 stride 1 -> 7.
  g = transpose_geometry(parse({ints_attr("dilations", {2})}), {3}, {3});
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->output, (Ints{7}));
}

TEST(ConvGeometry, TransposeOutputShape) {
  // in 3x3, stride 3, kernel 3: full size 9; output_shape 10x8 gives totals -1 and 1.
  // Default (NOTSET) puts an odd total's extra pixel at the beginning: floor(-1/2) = -1 ->
  // pads (0, -1) and (1, 0).
  auto g = transpose_geometry(parse({ints_attr("strides", {3, 3}), ints_attr("output_shape", {10, 8})}), {3, 3}, {3, 3});
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  EXPECT_EQ(g->output, (Ints{10, 8}));
  EXPECT_EQ(g->pad_begin, (Ints{0, 1}));
  EXPECT_EQ(g->pad_end, (Ints{-1, 0}));
  // The N, C-prefixed form names the same spatial sizes.
  g = transpose_geometry(parse({ints_attr("strides", {3, 3}), ints_attr("output_shape", {1, 2, 10, 8})}), {3, 3}, {3, 3});
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->output, (Ints{10, 8}));
  // SAME_UPPER: output in * stride = 6 for in 3 stride 2 kernel 3 (full 7): total 1 at the end.
  g = transpose_geometry(parse({string_attr("auto_pad", "SAME_UPPER"), ints_attr("strides", {2})}), {3}, {3});
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->output, (Ints{6}));
  EXPECT_EQ(g->pad_begin, (Ints{0}));
  EXPECT_EQ(g->pad_end, (Ints{1}));
  g = transpose_geometry(parse({string_attr("auto_pad", "SAME_LOWER"), ints_attr("strides", {2})}), {3}, {3});
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->pad_begin, (Ints{1}));
  EXPECT_EQ(g->pad_end, (Ints{0}));
  auto bad = transpose_geometry(parse({ints_attr("output_shape", {1, 2, 3})}), {3, 3}, {3, 3});
  EXPECT_FALSE(bad.is_ok());
}

}  // namespace
}  // namespace tessera
