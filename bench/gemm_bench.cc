// GEMM micro-benchmark: GFLOP/s of kernels::gemm on the shapes ResNet-50's convolutions and
// BERT-base / ViT-B/16's MatMuls produce, operands laid out the way their kernels pass them
// (Conv: packed weights A [M, K] times row-major columns B [K, N]; MatMul: row-major
// activations A times packed weights B). A benchmark, not a test: it checks nothing.
//
// With one thread it also reports the rate over the thread's CPU time, which leaves out the
// time the OS gave the core to other processes: on a shared machine that figure is steadier.
// With --cold, each call uses the next of enough packed copies of the weights to fill 256 MB,
// so the weights come from memory as in a model, whose weights do not stay in the caches.
// Where the build found oneDNN, each shape also runs as a oneDNN matmul (its weights reordered
// once into the layout it picks, as a session would prepack them; OpenMP at the same thread
// count), timed round after round interleaved with Tessera's, best round of each.
//
// --shape M,N,K times one more shape (MatMul's operands; M,N,K,conv: Conv's) instead of the list.
//
//   build/bench/gemm_bench [--threads N] [--reps R] [--filter SUBSTRING] [--cold] [--shape M,N,K[,conv]]...
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "providers/cpu/microkernels/gemm.h"
#ifdef TESSERA_HAVE_DNNL
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

using tessera::ThreadPool;
namespace kernels = tessera::kernels;

struct Shape {
  const char* name;
  int64_t M, N, K;
  bool pack_a;  // true: Conv (weights are A); false: MatMul (weights are B)
};

// ResNet-50 at 224x224: output channels x output pixels x (input channels * kernel area).
// Conv splits N into bands of about 512 columns, so the large-N shapes are also timed that way
// by the model; here N is whole to show the kernel itself.
const Shape kShapes[] = {
    {"r50 conv1 7x7/2", 64, 12544, 147, true},
    {"r50 l1 1x1 64>64", 64, 3136, 64, true},
    {"r50 l1 3x3 64", 64, 3136, 576, true},
    {"r50 l1 1x1 64>256", 256, 3136, 64, true},
    {"r50 l1 1x1 256>64", 64, 3136, 256, true},
    {"r50 l2 3x3 128", 128, 784, 1152, true},
    {"r50 l2 1x1 512>128", 128, 784, 512, true},
    {"r50 l2 1x1 128>512", 512, 784, 128, true},
    {"r50 l3 3x3 256", 256, 196, 2304, true},
    {"r50 l3 1x1 1024>256", 256, 196, 1024, true},
    {"r50 l3 1x1 256>1024", 1024, 196, 256, true},
    {"r50 l4 3x3 512", 512, 49, 4608, true},
    {"r50 l4 1x1 2048>512", 512, 49, 2048, true},
    {"r50 l4 1x1 512>2048", 2048, 49, 512, true},
    // EfficientNet-B0's pointwise convolutions on 14x14 and 7x7 planes: few columns.
    {"effnet 14x14 1x1 112>672", 672, 196, 112, true},
    {"effnet 14x14 1x1 672>112", 112, 196, 672, true},
    {"effnet 7x7 1x1 192>1152", 1152, 49, 192, true},
    {"effnet SE 1x1 48>1152", 1152, 1, 48, true},
    {"effnet 7x7 1x1 1152>192", 192, 49, 1152, true},
    {"bert qkv 128x768x768", 128, 768, 768, false},
    // Q, K and V projected by one GEMM (packed_qkv_fusion; ViT's export packs them already).
    {"bert qkv packed 128x2304x768", 128, 2304, 768, false},
    {"bert ffn1 128x3072x768", 128, 3072, 768, false},
    {"bert ffn2 128x768x3072", 128, 768, 3072, false},
    {"vit qkv 197x768x768", 197, 768, 768, false},
    {"vit qkv packed 197x2304x768", 197, 2304, 768, false},
    {"vit ffn1 197x3072x768", 197, 3072, 768, false},
    {"vit ffn2 197x768x3072", 197, 768, 3072, false},
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

#ifdef TESSERA_HAVE_DNNL
// C = A * B as one oneDNN matmul: the weights (A for a Conv shape, B for a MatMul one) reordered
// once into the layout oneDNN picks for them, the other operand and C plain row-major.
class OneDnnMatmul {
 public:
  OneDnnMatmul(const Shape& s, const float* a, const float* b, float* c) : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc a_plain({s.M, s.K}, dt::f32, tag::ab), b_plain({s.K, s.N}, dt::f32, tag::ab);
    const dnnl::memory::desc c_desc({s.M, s.N}, dt::f32, tag::ab);
    const dnnl::memory::desc a_any({s.M, s.K}, dt::f32, tag::any), b_any({s.K, s.N}, dt::f32, tag::any);
    // oneDNN picks a layout for the weights operand only; the activations stay plain.
    pd_ = dnnl::matmul::primitive_desc(dnnl::matmul::desc(s.pack_a ? a_any : a_plain, s.pack_a ? b_plain : b_any, c_desc),
                                       engine_);
    a_ = dnnl::memory(pd_.src_desc(), engine_);
    b_ = dnnl::memory(pd_.weights_desc(), engine_);
    dnnl::memory a_user(a_plain, engine_, const_cast<float*>(a)), b_user(b_plain, engine_, const_cast<float*>(b));
    dnnl::reorder(a_user, a_).execute(stream_, a_user, a_);
    dnnl::reorder(b_user, b_).execute(stream_, b_user, b_);
    c_ = dnnl::memory(c_desc, engine_, c);
    primitive_ = dnnl::matmul(pd_);
    stream_.wait();
  }
  void run() {
    primitive_.execute(stream_, {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, b_}, {DNNL_ARG_DST, c_}});
    stream_.wait();
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::memory a_, b_, c_;
  dnnl::matmul primitive_;
};
#endif

// The time of one call of fn over `calls` calls: wall time and this thread's CPU time. With
// several threads it first waits for the other library's threads to stop spinning (OpenMP's
// spin after each parallel region, the pool's before it parks), so neither steals the cores.
template <class F>
void time_calls(F&& fn, int calls, double* wall, double* cpu, int threads) {
  if (threads > 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double t0 = now_s(), c0 = thread_cpu_s();
  for (int i = 0; i < calls; ++i) fn();
  *wall = (now_s() - t0) / calls;
  *cpu = (thread_cpu_s() - c0) / calls;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, reps = 5;
  std::string filter;
  std::vector<Shape> shapes;
  bool cold = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (arg == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (arg == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (arg == "--cold") cold = true;
    else if (arg == "--shape" && i + 1 < argc) {
      long long m = 0, n = 0, k = 0;
      char kind[8] = "";
      const char* text = argv[++i];
      if (std::sscanf(text, "%lld,%lld,%lld,%7s", &m, &n, &k, kind) < 3 || m < 1 || n < 1 || k < 1 ||
          (kind[0] && std::string(kind) != "conv")) {
        std::fprintf(stderr, "gemm_bench: --shape takes M,N,K or M,N,K,conv (positive sizes), not '%s'\n", text);
        return 2;
      }
      shapes.push_back({text, m, n, k, kind[0] != 0});
    } else {
      std::fprintf(stderr,
                   "usage: gemm_bench [--threads N] [--reps R] [--filter SUBSTRING] [--cold] [--shape M,N,K[,conv]]...\n");
      return 2;
    }
  }
  if (threads < 1 || reps < 1) {
    std::fprintf(stderr, "gemm_bench: --threads and --reps must be positive\n");
    return 2;
  }
  ThreadPool pool(threads);
#ifdef TESSERA_HAVE_DNNL
  constexpr bool kOneDnn = true;
  omp_set_num_threads(threads);
#else
  constexpr bool kOneDnn = false;
#endif
  std::printf("isa %s, %d thread(s), best of %d%s%s\n", std::string(kernels::gemm_isa()).c_str(), threads, reps,
              cold ? ", weights from memory" : "", kOneDnn ? ", interleaved with oneDNN matmul" : "");
  std::printf("%-28s %6s %6s %6s %9s %9s%s%s\n", "shape", "M", "N", "K", "ms", "GFLOP/s", threads == 1 ? "  cpu GFLOP/s" : "",
              kOneDnn ? (threads == 1 ? "  oneDNN cpu GFLOP/s  own/oneDNN" : "  oneDNN GFLOP/s  own/oneDNN") : "");
  double total_flops = 0, total_s = 0, total_cpu_s = 0, total_dnn_s = 0;
  if (shapes.empty()) shapes.assign(std::begin(kShapes), std::end(kShapes));
  for (const Shape& s : shapes) {
    if (!filter.empty() && std::string(s.name).find(filter) == std::string::npos) continue;
    std::vector<float> a(static_cast<size_t>(s.M * s.K)), b(static_cast<size_t>(s.K * s.N)), c(static_cast<size_t>(s.M * s.N));
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 13) * 0.01f - 0.06f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 7) * 0.02f - 0.07f;
    kernels::MatrixArg<float> am{a.data(), s.K, false}, bm{b.data(), s.N, false};
    const size_t weight_bytes = static_cast<size_t>(s.pack_a ? s.M * s.K : s.K * s.N) * sizeof(float);
    const size_t copies = cold ? std::max<size_t>(1, (size_t{256} << 20) / weight_bytes) : 1;
    std::vector<kernels::PackedMatrix<float>> packed;
    for (size_t i = 0; i < copies; ++i)
      packed.push_back(s.pack_a ? kernels::pack_a(s.M, s.K, a.data(), s.K, false) : kernels::pack_b(s.K, s.N, b.data(), s.N, false));
    size_t next = 0;
    auto own = [&] {
      (s.pack_a ? am : bm).packed = &packed[next];
      next = (next + 1) % packed.size();
      kernels::gemm(s.M, s.N, s.K, 1.0f, am, bm, 0.0f, c.data(), s.N, {}, threads > 1 ? &pool : nullptr);
    };
#ifdef TESSERA_HAVE_DNNL
    // --cold is Tessera's alone: the oneDNN column keeps its one copy of the weights.
    OneDnnMatmul dnn(s, a.data(), b.data(), c.data());
    auto onednn = [&] { dnn.run(); };
#else
    auto onednn = [] {};
#endif
    const double flops = 2.0 * static_cast<double>(s.M) * static_cast<double>(s.N) * static_cast<double>(s.K);
    // Enough calls per timing that each lasts about 20 ms at 80 GFLOP/s.
    const int calls = std::max(1, static_cast<int>(1.6e9 / flops));
    double best = 1e30, best_cpu = 1e30, best_dnn = 1e30;
    for (int r = 0; r <= reps; ++r) {
      double t, cpu, t_dnn = 1e30, cpu_dnn = 1e30;
      time_calls(own, calls, &t, &cpu, threads);
      if (kOneDnn) time_calls(onednn, calls, &t_dnn, &cpu_dnn, threads);
      if (r > 0) {  // the first round warms caches and buffers
        best = std::min(best, t);
        best_cpu = std::min(best_cpu, cpu);
        best_dnn = std::min(best_dnn, threads == 1 ? cpu_dnn : t_dnn);
      }
    }
    total_flops += flops;
    total_s += best;
    total_cpu_s += best_cpu;
    total_dnn_s += best_dnn;
    std::printf("%-28s %6lld %6lld %6lld %9.3f %9.1f", s.name, static_cast<long long>(s.M),
                static_cast<long long>(s.N), static_cast<long long>(s.K), best * 1e3, flops / best * 1e-9);
    if (threads == 1) std::printf(" %13.1f", flops / best_cpu * 1e-9);
    if (kOneDnn)
      std::printf(" %*.1f %11.2f", threads == 1 ? 20 : 16, flops / best_dnn * 1e-9, (threads == 1 ? best_cpu : best) / best_dnn);
    std::printf("\n");
  }
  if (total_s > 0) {
    std::printf("%-28s %40.1f", "all shapes", total_flops / total_s * 1e-9);
    if (threads == 1) std::printf(" %13.1f", total_flops / total_cpu_s * 1e-9);
    if (kOneDnn)
      std::printf(" %*.1f %11.2f", threads == 1 ? 20 : 16, total_flops / total_dnn_s * 1e-9,
                  (threads == 1 ? total_cpu_s : total_s) / total_dnn_s);
    std::printf("\n");
  }
  return 0;
}
