// Convolution and pooling geometry: the spatial attributes of Conv, ConvTranspose, ConvInteger,
// QLinearConv, the windowed pools and MaxUnpool, parsed once, and the output sizes and pads they
// give for an input. Independent of any execution provider so that shape inference and every EP
// compute the same numbers. Geometry errors carry no node context (callers prepend it).
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/inline_vector.h"
#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

enum class AutoPad { notset, same_upper, same_lower, valid };

// The attributes as the node states them; empty lists mean the spec's defaults (kernel from the
// weights, strides and dilations 1, pads 0).
struct ConvAttributes {
  AutoPad auto_pad = AutoPad::notset;
  int64_t group = 1;
  bool ceil_mode = false;
  std::vector<int64_t> kernel_shape, strides, dilations, pads;
  std::vector<int64_t> output_padding, output_shape;  // ConvTranspose
};

// Reads and checks the attributes (auto_pad value, group >= 1, kernel/strides/dilations >= 1).
// Fails with an invalid_model status naming the node.
Result<ConvAttributes> parse_conv_attributes(const Node& node);

// Per spatial axis: the kernel and how windows step over the padded input. Shape, inline up
// to 6 dims, so that a kernel working out its geometry per run allocates nothing.
struct WindowGeometry {
  Shape input, kernel, stride, dilation, pad_begin, pad_end, output;
  size_t rank() const { return input.size(); }
};

// Conv and the pools: `input` are the input's spatial dims, `kernel` the weights' spatial dims
// (empty for pools: kernel_shape is used). Output size per axis, for explicit pads:
//   floor((in + pads - effective_kernel) / stride) + 1  (ceil with ceil_mode; a window may not
//   start in the end padding), SAME_*: ceil(in / stride), VALID: no pads.
// Fails (invalid_argument) when the lists do not fit the rank or a kernel is larger than its
// padded, non-empty input.
Result<WindowGeometry> window_geometry(const ConvAttributes& a, const Shape& input, const Shape& kernel = {});

// ConvTranspose (and MaxUnpool): `input` are the input's spatial dims, `output` of the result the
// transposed output's. Output size per axis: stride * (in - 1) + output_padding +
// effective_kernel - pads, or output_shape when given (pads then follow from it; odd totals put
// the extra pixel at the end for SAME_UPPER, at the beginning otherwise). output_shape may hold
// the spatial dims only or N and C too.
Result<WindowGeometry> transpose_geometry(const ConvAttributes& a, const Shape& input, const Shape& kernel = {});

}  // namespace tessera
