// Convolution micro-benchmark in the blocked channel layout (the `all` level's BlockedConv):
// Tessera's kernels as BlockedConv runs them (1x1s: the pointwise kernel, microkernels/
// conv_pointwise.h; 3x3s at stride 1: the Winograd kernel, microkernels/conv_winograd.h; the rest:
// the direct kernel, microkernels/conv_blocked.h) against oneDNN's
// (nn/conv_dnnl.h, as BlockedConv called it) on the convolution shapes of ResNet-50, MobileNetV2
// and EfficientNet-B0 at 224x224, batch 1, bias and Relu fused; the stems read the NCHW image. "other" is the same kernel with
// the other task order (past 1x1) or the direct kernel (1x1s and Winograd's 3x3s); --chunk-kib sets the pointwise
// kernel's chunk of weights per group; --residual adds a residual input Z (read in the epilogue),
// --in-place the same with Z the output's own buffer, as BlockedConv writes over a residual only
// it reads (framework/reusable_input.h). The variants are timed interleaved, round after
// round, and the best round of each is kept, so that a noisy minute hits them alike. With one
// thread the times are the thread's CPU time, which leaves out the time the OS gave the core to
// other processes (steadier on a shared machine); with more, wall time. A benchmark, not a test:
// it checks nothing.
//
//   build/bench/conv_bench [--threads N] [--rounds R] [--filter SUBSTRING] [--chunk-kib K] [--residual | --in-place]
//                          [--winograd-tile 2|4]   (Winograd on every stride-1 3x3 with this output tile;
//                                                   default: where and as BlockedConv chooses)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor_alloc.h"
#include "core/thread_pool.h"
#include "framework/kernel.h"
#include "providers/cpu/microkernels/conv_blocked.h"
#include "providers/cpu/microkernels/conv_pointwise.h"
#include "providers/cpu/microkernels/conv_winograd.h"
#include "providers/cpu/microkernels/depthwise_blocked.h"
#ifdef TESSERA_HAVE_DNNL
#include "providers/cpu/nn/conv_dnnl.h"
#endif

namespace {

using namespace tessera;

struct Layer {
  const char* name;
  int64_t C, H, M, K, stride;  // input channels, input side, output channels, kernel side, stride
  bool planar = false;         // an NCHW input (the RGB stem)
};

const Layer kLayers[] = {
    {"r50 stem 7x7/2 3>64 224", 3, 224, 64, 7, 2, true},
    {"mbv2 stem 3x3/2 3>32 224", 3, 224, 32, 3, 2, true},
    {"r50 3x3 64 56", 64, 56, 64, 3, 1},
    {"r50 3x3 128 56/2", 128, 56, 128, 3, 2},
    {"r50 3x3 128 28", 128, 28, 128, 3, 1},
    {"r50 3x3 256 28/2", 256, 28, 256, 3, 2},
    {"r50 3x3 256 14", 256, 14, 256, 3, 1},
    {"r50 3x3 512 14/2", 512, 14, 512, 3, 2},
    {"r50 3x3 512 7", 512, 7, 512, 3, 1},
    {"r50 1x1 64>64 56", 64, 56, 64, 1, 1},
    {"r50 1x1 64>256 56", 64, 56, 256, 1, 1},
    {"r50 1x1 256>128 56", 256, 56, 128, 1, 1},
    {"r50 1x1 256>64 56", 256, 56, 64, 1, 1},
    {"r50 1x1 256>512 56/2", 256, 56, 512, 1, 2},
    {"r50 1x1 128>512 28", 128, 28, 512, 1, 1},
    {"r50 1x1 512>128 28", 512, 28, 128, 1, 1},
    {"r50 1x1 512>256 28", 512, 28, 256, 1, 1},
    {"r50 1x1 512>1024 28/2", 512, 28, 1024, 1, 2},
    {"r50 1x1 256>1024 14", 256, 14, 1024, 1, 1},
    {"r50 1x1 1024>256 14", 1024, 14, 256, 1, 1},
    {"r50 1x1 1024>512 14", 1024, 14, 512, 1, 1},
    {"r50 1x1 1024>2048 14/2", 1024, 14, 2048, 1, 2},
    {"r50 1x1 512>2048 7", 512, 7, 2048, 1, 1},
    {"r50 1x1 2048>512 7", 2048, 7, 512, 1, 1},
    {"mbv2 1x1 32>16 112", 32, 112, 16, 1, 1},
    {"mbv2 1x1 16>96 112", 16, 112, 96, 1, 1},
    {"mbv2 1x1 96>24 56", 96, 56, 24, 1, 1},
    {"mbv2 1x1 24>144 56", 24, 56, 144, 1, 1},
    {"mbv2 1x1 144>24 56", 144, 56, 24, 1, 1},
    {"mbv2 1x1 192>32 28", 192, 28, 32, 1, 1},
    {"mbv2 1x1 32>192 28", 32, 28, 192, 1, 1},
    {"mbv2 1x1 384>64 14", 384, 14, 64, 1, 1},
    {"mbv2 1x1 64>384 14", 64, 14, 384, 1, 1},
    {"mbv2 1x1 576>96 14", 576, 14, 96, 1, 1},
    {"mbv2 1x1 960>160 7", 960, 7, 160, 1, 1},
    {"mbv2 1x1 160>960 7", 160, 7, 960, 1, 1},
    {"mbv2 1x1 320>1280 7", 320, 7, 1280, 1, 1},
    {"effb0 1x1 144>40 28", 144, 28, 40, 1, 1},
    {"effb0 1x1 40>240 28", 40, 28, 240, 1, 1},
    {"effb0 1x1 480>80 14", 480, 14, 80, 1, 1},
    {"effb0 1x1 112>672 14", 112, 14, 672, 1, 1},
    {"effb0 1x1 672>112 14", 672, 14, 112, 1, 1},
    {"effb0 1x1 192>1152 7", 192, 7, 1152, 1, 1},
    {"effb0 1x1 1152>192 7", 1152, 7, 192, 1, 1},
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// What DnnlConv::run needs of a kernel context: the pool and scratch memory.
class BenchContext final : public KernelContext {
 public:
  explicit BenchContext(ThreadPool& pool) : pool_(pool) {}
  size_t input_count() const override { return 0; }
  size_t output_count() const override { return 0; }
  const Value* input_value(size_t) const override { return nullptr; }
  Tensor& allocate_output(size_t, DataType, const Shape&) override { std::abort(); }
  void set_output(size_t, Value) override {}
  bool output_requested(size_t) const override { return false; }
  ThreadPool& thread_pool() const override { return pool_; }
  const Node& node() const override { return node_; }
  int64_t opset() const override { return 17; }

 private:
  ThreadPool& pool_;
  Node node_;
};

kernels::ConvGeometry geometry(const Layer& s) {
  kernels::ConvGeometry g;
  g.nd = 2;
  const int64_t pad = s.K / 2;
  for (size_t d = 0; d < 2; ++d) {
    g.in[d] = s.H;
    g.kernel[d] = s.K;
    g.stride[d] = s.stride;
    g.dilation[d] = 1;
    g.pad_begin[d] = pad;
    g.out[d] = (s.H + 2 * pad - s.K) / s.stride + 1;
  }
  g.in_size = s.H * s.H;
  g.out_size = g.out[0] * g.out[1];
  g.kernel_size = s.K * s.K;
  return g;
}

// The time of one call of fn, over `calls` calls: CPU time of this thread, or wall time.
template <class F>
double time_call(F&& fn, int64_t calls, bool cpu_time) {
  const double t0 = cpu_time ? thread_cpu_s() : now_s();
  for (int64_t i = 0; i < calls; ++i) fn();
  return ((cpu_time ? thread_cpu_s() : now_s()) - t0) / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, rounds = 5;
  int64_t chunk_kib = 0;
  std::string filter;
  bool residual = false, in_place = false;
  int winograd_tile = 0;  // 0: as BlockedConv chooses
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (arg == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (arg == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (arg == "--chunk-kib" && i + 1 < argc) chunk_kib = std::atoll(argv[++i]);
    else if (arg == "--residual") residual = true;
    else if (arg == "--in-place") residual = in_place = true;
    else if (arg == "--winograd-tile" && i + 1 < argc) winograd_tile = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: conv_bench [--threads N] [--rounds R] [--filter SUBSTRING] [--chunk-kib K] [--residual | --in-place] "
                   "[--winograd-tile 2|4]\n");
      return 2;
    }
  }
  if (threads < 1 || rounds < 1 || (winograd_tile != 0 && winograd_tile != 2 && winograd_tile != 4)) {
    std::fprintf(stderr, "conv_bench: --threads and --rounds must be positive, --winograd-tile 2 or 4\n");
    return 2;
  }
  ThreadPool pool(threads);
  const int64_t L = kernels::depthwise_block_channels();
  std::printf("L = %lld, %d thread(s), best of %d interleaved rounds; ms per call (%s)\n", static_cast<long long>(L),
              threads, rounds, threads == 1 ? "thread CPU time" : "wall time");
  std::printf("%-24s %5s %9s %9s %9s %8s %8s %8s\n", "layer", "other", "own", "other", "oneDNN", "GF/s", "own/dnn",
              "own/oth");
  for (const Layer& s : kLayers) {
    if (!filter.empty() && std::string(s.name).find(filter) == std::string::npos) continue;
    const kernels::ConvGeometry g = geometry(s);
    const int64_t Cb = (s.C + L - 1) / L, Mb = (s.M + L - 1) / L, taps = s.K * s.K;
    Tensor x = allocate_or_throw(DataType::float32, s.planar ? Shape{1, s.C, s.H, s.H} : Shape{1, Cb, s.H, s.H, L});
    Tensor w = allocate_or_throw(DataType::float32, {s.M, s.C, s.K, s.K});
    std::vector<float> bias(static_cast<size_t>(Mb * L), 0.01f), y(static_cast<size_t>(Mb * L * g.out_size));
    std::vector<float> z(residual ? y.size() : 0, 0.02f);
    const float* zp = in_place ? y.data() : residual ? z.data() : nullptr;
    for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = static_cast<float>(i % 13) * 0.01f - 0.06f;
    for (int64_t i = 0; i < w.size(); ++i) w.data<float>()[i] = static_cast<float>(i % 7) * 0.02f - 0.07f;
    std::vector<float> packed(static_cast<size_t>(kernels::conv_blocked_packed_size(s.M, s.C, taps)));
    kernels::pack_conv_blocked_weights(w.data<float>(), s.M, s.C, taps, packed.data());
    // The direct kernel reads a padded copy of the input where the layer has padding, made per
    // call as BlockedConv makes it (in the timed call).
    const bool pad = kernels::conv_blocked_needs_padding(g);
    const kernels::ConvGeometry gp = pad ? kernels::conv_blocked_padded_geometry(g) : g;
    const int64_t lanes = s.planar ? 1 : L, planes = s.planar ? s.C : Cb;
    std::vector<float> padded(static_cast<size_t>(planes * gp.in_size * lanes));
    const kernels::ConvBlockedArgs args{&gp, Cb, Mb, pad ? padded.data() : x.data<float>(), packed.data(), bias.data(),
                                        zp, y.data(), 0.0f, 1e30f, s.C - (Cb - 1) * L, s.planar};
    // The direct kernel's plan as BlockedConv makes it, or with the other task order.
    auto direct = [&](bool flip_order) {
      kernels::ConvBlockedPlan plan = kernels::plan_conv_blocked(gp, Cb, Mb, 1, threads);
      if (flip_order) plan.rows_outer = !plan.rows_outer;
      return [&, plan] {
        if (pad)
          pool.parallel_for(planes, 1, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p)
              kernels::pad_conv_blocked_rows(g, x.data<float>(), lanes, p, 0, gp.in[0], padded.data());
          });
        pool.parallel_for(plan.tasks, 1, [&](int64_t t0, int64_t t1) {
          for (int64_t t = t0; t < t1; ++t) kernels::conv_blocked_task(args, plan, t);
        });
      };
    };
    const bool pointwise = !s.planar && kernels::conv_pointwise_supported(g);
    const kernels::ConvPointwisePlan pw_plan = kernels::plan_conv_pointwise(g, Cb, Mb, 1, threads, chunk_kib << 10);
    auto pointwise_run = [&] {
      pool.parallel_for(pw_plan.tasks.tasks, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) kernels::conv_pointwise_task(args, pw_plan, t);
      });
    };
    const bool winograd = !s.planar && kernels::conv_winograd_supported(g) &&
                          (winograd_tile != 0 || kernels::conv_winograd_chosen(s.M, s.C));
    std::vector<float> winograd_packed, winograd_scratch;
    int tile = winograd_tile;
    if (winograd) {
      if (tile == 0) tile = kernels::conv_winograd_tile(s.M, s.C);
      winograd_packed.resize(static_cast<size_t>(kernels::conv_winograd_packed_size(tile, s.M, s.C)));
      kernels::pack_conv_winograd_weights(tile, w.data<float>(), s.M, s.C, winograd_packed.data());
      winograd_scratch.resize(static_cast<size_t>(kernels::conv_winograd_scratch_size(tile, g, Cb, Mb, threads)));
    }
    auto winograd_run = [&] {
      kernels::conv_winograd({tile, &g, 1, Cb, Mb, x.data<float>(), winograd_packed.data(), bias.data(), zp, y.data(), 0.0f,
                              1e30f, s.C - (Cb - 1) * L, winograd_scratch.data()},
                             pool);
    };
    std::function<void()> own_plan = pointwise  ? std::function<void()>(pointwise_run)
                                     : winograd ? std::function<void()>(winograd_run)
                                                : direct(false);
    std::function<void()> own_flipped = direct(!pointwise && !winograd);
    BenchContext ctx(pool);
#ifdef TESSERA_HAVE_DNNL
    ConvAttributes attributes;
    attributes.kernel_shape = {s.K, s.K};
    attributes.strides = {s.stride, s.stride};
    attributes.pads = {s.K / 2, s.K / 2, s.K / 2, s.K / 2};
    ConvActivation relu;
    relu.kind = ConvActivation::Kind::relu;
    std::unique_ptr<DnnlConv> dnnl = DnnlConv::create(w, attributes, relu, {L, !s.planar, true});
    auto onednn = [&] {
      if (dnnl) dnnl->run(g, 1, x.data<float>(), bias.data(), zp, y.data(), ctx);
    };
#else
    auto onednn = [] {};
#endif
    const double flops = 2.0 * static_cast<double>(s.M * s.C * taps * g.out_size);
    const int64_t calls = std::max<int64_t>(1, static_cast<int64_t>(1e9 / flops));
    double best[3] = {1e30, 1e30, 1e30};
    for (int r = 0; r <= rounds; ++r) {
      const double t[3] = {time_call(own_plan, calls, threads == 1), time_call(own_flipped, calls, threads == 1),
                             time_call(onednn, calls, threads == 1)};
      if (r > 0)  // the first round warms caches and makes oneDNN's primitives
        for (int v = 0; v < 3; ++v) best[v] = std::min(best[v], t[v]);
    }
    std::printf("%-24s %5s %9.4f %9.4f %9.4f %8.1f %8.2f %8.2f\n", s.name, pointwise || winograd ? "direc" : "flip", best[0] * 1e3,
                best[1] * 1e3, best[2] * 1e3, flops / best[0] * 1e-9, best[0] / best[2], best[0] / best[1]);
  }
  return 0;
}
