#include "providers/cpu/nn/conv_dnnl.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/cpu_isa.h"

namespace tessera {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DT = memory::data_type;

// The one CPU engine of the process.
const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A stream per thread (a CPU stream only orders the calls made through it).
dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

// Per-shape plans kept per convolution; past this many (a model fed many image sizes), the
// oldest are dropped.
constexpr size_t kMaxPlans = 8;

// FusedConv's activation as a oneDNN post-op, or false when it has none that matches.
bool append_activation(const ConvActivation& act, dnnl::post_ops& ops) {
  using Kind = ConvActivation::Kind;
  using dnnl::algorithm;
  switch (act.kind) {
    case Kind::none: return true;
    case Kind::relu: ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f); return true;
    case Kind::leaky_relu: ops.append_eltwise(1.0f, algorithm::eltwise_relu, act.a, 0.0f); return true;
    case Kind::clip: ops.append_eltwise(1.0f, algorithm::eltwise_clip_v2, act.a, act.b); return true;
    case Kind::sigmoid: ops.append_eltwise(1.0f, algorithm::eltwise_logistic, 0.0f, 0.0f); return true;
    case Kind::tanh: ops.append_eltwise(1.0f, algorithm::eltwise_tanh, 0.0f, 0.0f); return true;
    case Kind::silu: ops.append_eltwise(1.0f, algorithm::eltwise_swish, 1.0f, 0.0f); return true;
    case Kind::gelu: ops.append_eltwise(1.0f, algorithm::eltwise_gelu_erf, 0.0f, 0.0f); return true;
    case Kind::hard_swish: ops.append_eltwise(1.0f, algorithm::eltwise_hardswish, 0.0f, 0.0f); return true;
    default: return false;
  }
}

memory::format_tag blocked_tag(int64_t block) { return block == 8 ? Tag::nChw8c : Tag::nChw16c; }

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

}  // namespace

int dnnl_blocked_channels() {
  if (cpu_isa() != cpu_isa_supported()) return 0;
  switch (cpu_isa()) {
    case CpuIsa::avx512: return 16;
    case CpuIsa::avx2: return 8;
    default: return 0;
  }
}

// One slice of the output channels, [m0, m0 + channels): its primitive and its weights.
struct Part {
  int64_t m0 = 0, channels = 0;
  int64_t src_channel0 = 0;  // the first input channel it reads: m0 when depthwise, else 0
  memory::desc src;          // what a depthwise part reads (its own channels); else the plan's
  dnnl::convolution_forward conv;
  memory::desc dst, user_dst, scratchpad;
  memory weights;
  bool dst_reordered = false;
  dnnl::reorder to_user, from_user;  // dst -> ONNX's layout, and Z into dst (when reordered)
};

// One image geometry: the input layout every part reads, and the parts. oneDNN runs
// single-threaded here; the parts are what Tessera's thread pool spreads over its threads
// (OpenMP's own threads would spin for milliseconds after each call, taking the cores from the
// pool's next op).
struct Plan {
  memory::desc src, user_src;
  bool src_reordered = false;
  dnnl::reorder src_reorder;  // the image into src, when reordered
  std::vector<Part> parts;
};

struct DnnlConv::Impl {
  memory::dims weight_dims;  // ONNX's [M, C / group, kH, kW]
  int64_t group = 1;         // 1, or M (depthwise: one input and one output channel per group)
  DnnlLayout layout;
  ConvActivation act;
  memory weights;            // all output channels, in the layout oneDNN prefers for them
  mutable std::mutex mutex;  // guards plans
  mutable std::map<std::tuple<int64_t, int64_t, int, bool, bool>, std::shared_ptr<const Plan>> plans;

  std::shared_ptr<const Plan> plan(const kernels::ConvGeometry& g, int parts, bool has_bias, bool has_z) const;
  // The weights of output channels [m0, m0 + channels) in `desc`: a view into `weights` when that
  // is the same layout, else a copy.
  memory weights_slice(int64_t m0, int64_t channels, const memory::desc& desc) const;
  // All the weights back in ONNX's [M, C, kH, kW] layout.
  void to_oihw(float* out) const;

  bool depthwise() const { return group > 1; }
  int64_t input_channels() const { return weight_dims[1] * group; }
  // oneDNN's weight dims for output channels [m0, m0 + channels): [channels, C, kH, kW], or
  // [channels, 1, 1, kH, kW] per group when depthwise; and the tag of ONNX's layout for them.
  memory::dims weight_slice_dims(int64_t channels) const {
    if (!depthwise()) return {channels, weight_dims[1], weight_dims[2], weight_dims[3]};
    return {channels, 1, 1, weight_dims[2], weight_dims[3]};
  }
  Tag onnx_weight_tag() const { return depthwise() ? Tag::goihw : Tag::oihw; }
  // The tags of the input and output as the caller holds them.
  Tag user_src_tag() const { return layout.src_blocked ? blocked_tag(layout.block) : Tag::nchw; }
  Tag user_dst_tag() const { return layout.dst_blocked ? blocked_tag(layout.block) : Tag::nchw; }
  // Floats per image of the input and output planes' channels as the caller holds them (blocked
  // tensors pad the channels to whole blocks).
  int64_t src_channel_stride() const {
    return layout.src_blocked ? round_up(input_channels(), layout.block) : input_channels();
  }
  int64_t dst_channel_stride() const {
    return layout.dst_blocked ? round_up(weight_dims[0], layout.block) : weight_dims[0];
  }
};

memory DnnlConv::Impl::weights_slice(int64_t m0, int64_t channels, const memory::desc& desc) const {
  const memory::dims dims = weight_slice_dims(channels);
  memory::desc view = weights.get_desc();
  if (channels != weight_dims[0]) {
    memory::dims offsets(dims.size(), 0);
    offsets[0] = m0;
    try {
      view = view.submemory_desc(dims, offsets);
    } catch (const dnnl::error&) {
      view = memory::desc();
    }
  }
  const int64_t offset = view.data.ndims > 0 ? view.data.offset0 : 0;
  memory::desc unshifted = view;
  if (unshifted.data.ndims > 0) unshifted.data.offset0 = 0;
  float* base = static_cast<float*>(weights.get_data_handle());
  if (unshifted.data.ndims > 0 && unshifted == desc) return memory(desc, cpu_engine(), base + offset);
  // Another layout: through ONNX's, once per plan.
  std::vector<float> oihw(static_cast<size_t>(weight_dims[0] * weight_dims[1] * weight_dims[2] * weight_dims[3]));
  to_oihw(oihw.data());
  dnnl::stream stream(cpu_engine());
  memory slice(memory::desc(dims, DT::f32, onnx_weight_tag()), cpu_engine(),
               oihw.data() + m0 * weight_dims[1] * weight_dims[2] * weight_dims[3]);
  memory out(desc, cpu_engine());
  dnnl::reorder(slice, out).execute(stream, slice, out);
  stream.wait();
  return out;
}

std::shared_ptr<const Plan> DnnlConv::Impl::plan(const kernels::ConvGeometry& g, int parts, bool has_bias,
                                                 bool has_z) const {
  const auto key = std::make_tuple(g.in[0], g.in[1], parts, has_bias, has_z);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = plans.find(key); it != plans.end()) return it->second;

  // oneDNN wants the padding on each side; the end padding is what the output size implies, at
  // least 0 (a window that does not reach the end leaves inputs unread, as ONNX's floor does).
  memory::dims strides(2), dilations(2), pad_l(2), pad_r(2);
  for (int d = 0; d < 2; ++d) {
    strides[d] = g.stride[d];
    dilations[d] = g.dilation[d] - 1;  // oneDNN counts the gaps
    pad_l[d] = g.pad_begin[d];
    pad_r[d] = std::max<int64_t>(
        0, (g.out[d] - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1 - g.in[d] - g.pad_begin[d]);
  }
  const int64_t M = weight_dims[0], C = input_channels();
  const bool blocked = layout.block > 0;
  auto plan = std::make_shared<Plan>();
  plan->user_src = memory::desc({1, C, g.in[0], g.in[1]}, DT::f32, user_src_tag());
  dnnl::post_ops ops;
  if (has_z) ops.append_sum(1.0f);
  if (!append_activation(act, ops)) return nullptr;
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // from the run's pool, not a malloc per call
  // Parts of whole channel blocks, as even as the blocks allow.
  const int64_t block = blocked ? layout.block : 16;
  const int64_t blocks = (M + block - 1) / block;
  const int64_t count = std::max<int64_t>(1, std::min<int64_t>(parts, blocks));
  try {
    // In a blocked chain the input and output layouts are the caller's; otherwise oneDNN picks
    // and the image is reordered into its choice (every part reads the layout the first chose).
    memory::desc src = blocked ? plan->user_src : memory::desc({1, C, g.in[0], g.in[1]}, DT::f32, Tag::any);
    for (int64_t p = 0; p < count; ++p) {
      Part part;
      part.m0 = std::min(M, p * blocks / count * block);
      part.channels = std::min(M, (p + 1) * blocks / count * block) - part.m0;
      const memory::dims dst_dims{1, part.channels, g.out[0], g.out[1]};
      part.user_dst = memory::desc(dst_dims, DT::f32, user_dst_tag());
      const memory::desc part_dst = blocked ? part.user_dst : memory::desc(dst_dims, DT::f32, Tag::any);
      // A depthwise part convolves only its own channels of the input.
      memory::desc part_src = src;
      if (depthwise()) {
        part.src_channel0 = part.m0;
        part_src = memory::desc({1, part.channels, g.in[0], g.in[1]}, DT::f32, user_src_tag());
        part.src = part_src;
      }
      const memory::desc any_w(weight_slice_dims(part.channels), DT::f32, Tag::any);
      const memory::desc bias({part.channels}, DT::f32, Tag::x);
      const auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                                    dnnl::algorithm::convolution_direct, part_src, any_w,
                                                                    bias, part_dst, strides, dilations, pad_l, pad_r)
                                 : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                                    dnnl::algorithm::convolution_direct, part_src, any_w,
                                                                    part_dst, strides, dilations, pad_l, pad_r);
      const dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
      if (depthwise()) {
        if (pd.src_desc() != part_src) return nullptr;
      } else if (p == 0) {
        src = pd.src_desc();
        plan->src = src;
        plan->src_reordered = src != plan->user_src;
        if (plan->src_reordered) plan->src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), plan->user_src, cpu_engine(), src));
      } else if (pd.src_desc() != src) {
        return nullptr;
      }
      part.conv = dnnl::convolution_forward(pd);
      part.dst = pd.dst_desc();
      part.dst_reordered = part.dst != part.user_dst;
      if (part.dst_reordered) {
        part.to_user = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), part.dst, cpu_engine(), part.user_dst));
        if (has_z)
          part.from_user = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), part.user_dst, cpu_engine(), part.dst));
      }
      part.scratchpad = pd.scratchpad_desc();
      part.weights = weights_slice(part.m0, part.channels, pd.weights_desc());
      plan->parts.push_back(std::move(part));
    }
  } catch (const dnnl::error&) {
    return nullptr;  // a geometry oneDNN does not implement: the caller's own path runs it
  }
  if (plans.size() >= kMaxPlans) plans.clear();
  plans.emplace(key, plan);
  return plan;
}

DnnlConv::DnnlConv(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnnlConv::~DnnlConv() = default;

std::unique_ptr<DnnlConv> DnnlConv::create(const Tensor& w, const ConvAttributes& attributes,
                                           const ConvActivation& activation, const DnnlLayout& layout) {
  if (cpu_isa() != cpu_isa_supported() || cpu_isa() == CpuIsa::portable) return nullptr;
  if (w.dtype() != DataType::float32 || w.rank() != 4 || w.size() == 0) return nullptr;
  const bool blocked = layout.block > 0;
  if (blocked && layout.block != 8 && layout.block != 16) return nullptr;
  const bool depthwise = attributes.group > 1 && attributes.group == w.dim(0) && w.dim(1) == 1;
  if (attributes.group != 1 && !(blocked && depthwise)) return nullptr;
  if (!blocked) {
    if (w.dim(1) < 2) return nullptr;
    // 1x1 kernels need no im2col: Tessera's GEMM runs them straight from the input, faster than
    // oneDNN once the reorders around it are paid (ResNet-50's 1x1 convolutions with a residual:
    // 2x slower through oneDNN).
    if (w.dim(2) * w.dim(3) == 1) return nullptr;
    // So do convolutions of a few input channels (an RGB image): their im2col is small, and oneDNN
    // ran MobileNetV2's 3x3/2 stem 1.4x slower.
    if (w.dim(1) < 16) return nullptr;
  }
  if (activation.kind == ConvActivation::Kind::hard_sigmoid) return nullptr;
  if (!blocked && activation.kind == ConvActivation::Kind::hard_swish) return nullptr;
  omp_set_num_threads(1);
  auto impl = std::make_unique<Impl>();
  impl->weight_dims = {w.dim(0), w.dim(1), w.dim(2), w.dim(3)};
  impl->group = attributes.group;
  impl->layout = layout;
  impl->act = activation;
  try {
    // The weight layout oneDNN picks depends on the channels, the ISA and the input and output
    // layouts, not on the image size: ask for it with a nominal image, and reorder once here
    // (other layouts, per plan).
    const int64_t side = std::max<int64_t>(32, 2 * std::max(w.dim(2), w.dim(3)));
    const int64_t C = impl->input_channels();
    const memory::dims src{1, C, side, side}, dst{1, w.dim(0), side - w.dim(2) + 1, side - w.dim(3) + 1};
    const memory::dims weight_dims = impl->weight_slice_dims(w.dim(0));
    const auto desc = dnnl::convolution_forward::desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        memory::desc(src, DT::f32, blocked ? impl->user_src_tag() : Tag::any),
        memory::desc(weight_dims, DT::f32, Tag::any),
        memory::desc(dst, DT::f32, blocked ? impl->user_dst_tag() : Tag::any), {1, 1}, {0, 0}, {0, 0});
    const dnnl::convolution_forward::primitive_desc pd(desc, cpu_engine());
    memory user(memory::desc(weight_dims, DT::f32, impl->onnx_weight_tag()), cpu_engine(),
                const_cast<float*>(w.data<float>()));
    impl->weights = memory(pd.weights_desc(), cpu_engine());
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(user, impl->weights).execute(stream, user, impl->weights);
    stream.wait();
  } catch (const dnnl::error&) {
    return nullptr;
  }
  return std::unique_ptr<DnnlConv>(new DnnlConv(std::move(impl)));
}

bool DnnlConv::run(const kernels::ConvGeometry& g, int64_t N, const float* x, const float* bias, const float* z, float* y,
                   KernelContext& ctx) const {
  if (g.nd != 2) return false;
  ThreadPool& pool = ctx.thread_pool();
  omp_set_num_threads(1);  // this thread's primitives are made and run for one thread
  const std::shared_ptr<const Plan> plan = impl_->plan(g, pool.size(), bias != nullptr, z != nullptr);
  if (!plan) return false;
  const dnnl::engine& engine = cpu_engine();
  auto float_count = [](const memory::desc& d) { return static_cast<int64_t>((d.get_size() + 3) / 4); };
  const int64_t M = impl_->weight_dims[0];
  const int64_t in_plane = g.in[0] * g.in[1], out_plane = g.out[0] * g.out[1];
  const int64_t src_image = impl_->src_channel_stride() * in_plane, dst_image = impl_->dst_channel_stride() * out_plane;
  // A blocked output's last block past M channels holds zeros, which the next convolution reads.
  const int64_t block = impl_->layout.block;
  const int64_t padded_lanes = impl_->layout.dst_blocked ? impl_->dst_channel_stride() - M : 0;
  Tensor src_buffer;  // the image in oneDNN's layout, from the run's scratch memory
  if (plan->src_reordered) src_buffer = ctx.scratch(DataType::float32, float_count(plan->src));
  const int64_t parts = static_cast<int64_t>(plan->parts.size());
  for (int64_t n = 0; n < N; ++n) {
    const float* xn = x + n * src_image;
    memory src(plan->user_src, engine, const_cast<float*>(xn));
    if (plan->src_reordered) {
      memory user_src = src;
      src = memory(plan->src, engine, src_buffer.data<float>());
      plan->src_reorder.execute(thread_stream(), user_src, src);
      thread_stream().wait();
    }
    pool.parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
      omp_set_num_threads(1);
      dnnl::stream& stream = thread_stream();
      for (int64_t p = p0; p < p1; ++p) {
        const Part& part = plan->parts[static_cast<size_t>(p)];
        const int64_t offset = n * dst_image + part.m0 * out_plane;
        memory user_dst(part.user_dst, engine, y + offset), dst = user_dst;
        Tensor dst_buffer, scratchpad;
        if (part.dst_reordered) {
          dst_buffer = ctx.scratch(DataType::float32, float_count(part.dst));
          dst = memory(part.dst, engine, dst_buffer.data<float>());
        }
        if (z) {  // the sum post-op adds what dst holds
          memory user_z(part.user_dst, engine, const_cast<float*>(z + offset));
          if (part.dst_reordered)
            part.from_user.execute(stream, user_z, dst);
          else
            std::memcpy(y + offset, z + offset, part.user_dst.get_size());
        }
        const memory part_src = impl_->depthwise()
                                    ? memory(part.src, engine, const_cast<float*>(xn + part.src_channel0 * in_plane))
                                    : src;
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, part_src}, {DNNL_ARG_WEIGHTS, part.weights}, {DNNL_ARG_DST, dst}};
        if (part.scratchpad.get_size() > 0) {
          scratchpad = ctx.scratch(DataType::float32, float_count(part.scratchpad));
          args.emplace(DNNL_ARG_SCRATCHPAD, memory(part.scratchpad, engine, scratchpad.data<float>()));
        }
        if (bias)
          args.emplace(DNNL_ARG_BIAS,
                       memory({{part.channels}, DT::f32, Tag::x}, engine, const_cast<float*>(bias + part.m0)));
        part.conv.execute(stream, args);
        if (part.dst_reordered) part.to_user.execute(stream, dst, user_dst);
        if (padded_lanes > 0 && part.m0 + part.channels == M) {
          stream.wait();
          float* last = y + n * dst_image + (M / block) * block * out_plane;
          for (int64_t i = 0; i < out_plane; ++i) std::fill_n(last + i * block + (block - padded_lanes), padded_lanes, 0.0f);
        }
      }
      stream.wait();
    });
  }
  return true;
}

void DnnlConv::prepare(const kernels::ConvGeometry& g, int threads, bool has_bias, bool has_z) const {
  if (g.nd != 2) return;
  omp_set_num_threads(1);
  impl_->plan(g, threads, has_bias, has_z);
}

void DnnlConv::Impl::to_oihw(float* out) const {
  memory user(memory::desc(weight_slice_dims(weight_dims[0]), DT::f32, onnx_weight_tag()), cpu_engine(), out);
  memory stored = weights;
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(stored, user).execute(stream, stored, user);
  stream.wait();
}

void DnnlConv::weights(float* out) const { impl_->to_oihw(out); }

}  // namespace tessera
