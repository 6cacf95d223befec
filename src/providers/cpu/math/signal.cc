// Signal processing: DFT (opset 17, 20), STFT (17), HannWindow, HammingWindow, BlackmanWindow and
// MelWeightMatrix (17). Transforms run in double through math/fft.h and are stored back in the
// input's type; complex values are the last dim of size 2 (real, imaginary), real ones size 1.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/fft.h"
#include "providers/cpu/math/widen.h"

namespace tessera {
namespace {

using fft::cd;

// A scalar (or one-element) integer input as int64.
Status read_int_scalar(const KernelContext& ctx, const Tensor* t, const char* what, int64_t& out) {
  if (!t || t->size() != 1) return ctx.error(what, " must be a scalar");
  if (t->dtype() == DataType::int64) out = t->data<int64_t>()[0];
  else if (t->dtype() == DataType::int32) out = t->data<int32_t>()[0];
  else return ctx.error(what, " must be int32 or int64, got ", dtype_name(t->dtype()));
  return Status::ok();
}

// Stores double values into a tensor of any numeric type.
Status store_doubles(const KernelContext& ctx, Tensor& out, const std::vector<double>& v) {
  return dispatch<kNumericTypes>(out.dtype(), [&]<class T>() -> Status {
    T* o = out.data<T>();
    for (size_t i = 0; i < v.size(); ++i) o[i] = from_computed<T>(v[i]);
    return Status::ok();
  }, ctx.node());
}

// Reads a float tensor as doubles.
Status load_doubles(const KernelContext& ctx, const Tensor& t, std::vector<double>& v) {
  if ((kFloatTypes & type_bit(t.dtype())) == 0)
    return ctx.error("expected a float tensor, got ", dtype_name(t.dtype()));
  v.resize(static_cast<size_t>(t.size()));
  return widen::widen_tensor(t, v.data(), ctx.node());
}

// One transform along an axis of x viewed as [outer, n_in, inner, channels] (channels 1 or 2).
struct DftJob {
  int64_t outer = 1, n_in = 0, inner = 1, channels = 1;
  int64_t length = 0;  // dft_length
  int64_t n_out = 0;   // output length along the axis
  bool inverse = false, onesided = false;
  int64_t out_channels = 2;
};

// Runs every line of `job` over x (doubles) into y (doubles, [outer, n_out, inner, out_channels]).
void run_dft(const DftJob& job, const std::vector<double>& x, std::vector<double>& y, ThreadPool& pool) {
  const fft::Plan plan(job.length);
  const int64_t L = job.length;
  auto work = [&](int64_t begin, int64_t end) {
    std::vector<cd> in(static_cast<size_t>(L)), out(static_cast<size_t>(L));
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / job.inner, i = line % job.inner;
      auto at = [&](int64_t t) {
        const double* p = x.data() + ((o * job.n_in + t) * job.inner + i) * job.channels;
        return cd(p[0], job.channels == 2 ? p[1] : 0.0);
      };
      std::fill(in.begin(), in.end(), cd(0));
      if (job.inverse && job.onesided) {
        // One-sided spectrum: rebuild the Hermitian-symmetric full spectrum; the imaginary parts
        // of the DC and (even length) Nyquist bins cannot be represented and are dropped.
        const int64_t m = std::min(job.n_in, L / 2 + 1);
        for (int64_t k = 0; k < m; ++k) in[k] = at(k);
        if (L > 0) in[0] = cd(in[0].real(), 0);
        if (L % 2 == 0 && L / 2 < m) in[L / 2] = cd(in[L / 2].real(), 0);
        for (int64_t k = 1; k < m && L - k > k; ++k) in[L - k] = std::conj(in[k]);
      } else {
        for (int64_t t = 0; t < std::min(job.n_in, L); ++t) in[t] = at(t);
      }
      if (job.inverse) {
        plan.inverse(in.data(), out.data());
        for (cd& v : out) v /= static_cast<double>(L);
      } else {
        plan.forward(in.data(), out.data());
      }
      for (int64_t k = 0; k < job.n_out; ++k) {
        double* q = y.data() + ((o * job.n_out + k) * job.inner + i) * job.out_channels;
        q[0] = out[k].real();
        if (job.out_channels == 2) q[1] = out[k].imag();
      }
    }
  };
  const int64_t lines = job.outer * job.inner;
  if (lines > 0 && L > 0) pool.parallel_for(lines, std::max<int64_t>(1, 4096 / (L + 1)), work);
}

class DftKernel final : public OpKernel {
 public:
  explicit DftKernel(const KernelInfo& info)
      : opset_(info.since_version()),
        axis_attr_(info.attr_int("axis", 1)),
        inverse_(info.attr_int("inverse") != 0),
        onesided_(info.attr_int("onesided", 0) != 0) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank < 2 || (x->shape().back() != 1 && x->shape().back() != 2))
      return ctx.error("input must end in a dim of 1 (real) or 2 (complex), got ", shape_to_string(x->shape()));
    int64_t axis = opset_ >= 20 ? -2 : axis_attr_;
    if (opset_ >= 20 && ctx.input(2)) TS_RETURN_IF_ERROR(read_int_scalar(ctx, ctx.input(2), "axis", axis));
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank - 2) return ctx.error("axis is out of range for input rank ", rank);

    DftJob job;
    job.inverse = inverse_;
    job.onesided = onesided_;
    job.channels = x->shape().back();
    job.n_in = x->dim(static_cast<size_t>(axis));
    for (int64_t a = 0; a < axis; ++a) job.outer *= x->dim(a);
    for (int64_t a = axis + 1; a < rank - 1; ++a) job.inner *= x->dim(a);
    job.length = inverse_ && onesided_ ? 2 * (job.n_in - 1) : job.n_in;
    if (ctx.input(1)) TS_RETURN_IF_ERROR(read_int_scalar(ctx, ctx.input(1), "dft_length", job.length));
    if (job.length < 1) return ctx.error("dft_length must be positive, got ", job.length);
    job.n_out = !inverse_ && onesided_ ? job.length / 2 + 1 : job.length;
    job.out_channels = inverse_ && onesided_ ? 1 : 2;

    Shape out_shape = x->shape();
    out_shape[axis] = job.n_out;
    out_shape.back() = job.out_channels;
    std::vector<double> xv, yv(static_cast<size_t>(shape_size(out_shape)));
    TS_RETURN_IF_ERROR(load_doubles(ctx, *x, xv));
    run_dft(job, xv, yv, ctx.thread_pool());
    return store_doubles(ctx, ctx.allocate_output(0, x->dtype(), out_shape), yv);
  }

 private:
  int64_t opset_, axis_attr_;
  bool inverse_, onesided_;
};

class StftKernel final : public OpKernel {
 public:
  explicit StftKernel(const KernelInfo& info) : onesided_(info.attr_int("onesided", 1) != 0) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x || x->rank() != 3 || (x->dim(2) != 1 && x->dim(2) != 2))
      return ctx.error("signal must have shape [batch, length, 1 or 2]");
    int64_t step = 0;
    TS_RETURN_IF_ERROR(read_int_scalar(ctx, ctx.input(1), "frame_step", step));
    if (step <= 0) return ctx.error("frame_step must be positive, got ", step);
    const Tensor* window = ctx.input(2);
    if (window && (window->rank() != 1 || window->dtype() != x->dtype()))
      return ctx.error("window must be 1-D with the signal's type");
    int64_t frame_length = window ? window->dim(0) : x->dim(1);
    if (ctx.input(3)) TS_RETURN_IF_ERROR(read_int_scalar(ctx, ctx.input(3), "frame_length", frame_length));
    if (frame_length <= 0) return ctx.error("frame_length must be positive, got ", frame_length);
    const int64_t window_size = window ? window->dim(0) : frame_length;
    const int64_t batch = x->dim(0), len = x->dim(1), ch = x->dim(2);
    if (len < frame_length) return ctx.error("signal length ", len, " is shorter than frame_length ", frame_length);
    const int64_t frames = 1 + (len - frame_length) / step;

    std::vector<double> xv, wv(static_cast<size_t>(window_size), 1.0);
    TS_RETURN_IF_ERROR(load_doubles(ctx, *x, xv));
    if (window) TS_RETURN_IF_ERROR(load_doubles(ctx, *window, wv));
    // Frames laid out as [batch * frames, window_size, 1, channels]; each is one DFT line.
    std::vector<double> framed(static_cast<size_t>(batch * frames * window_size * ch), 0.0);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t f = 0; f < frames; ++f)
        for (int64_t t = 0; t < window_size && f * step + t < len; ++t)
          for (int64_t c = 0; c < ch; ++c)
            framed[((b * frames + f) * window_size + t) * ch + c] = xv[(b * len + f * step + t) * ch + c] * wv[t];

    DftJob job;
    job.outer = batch * frames;
    job.n_in = window_size;
    job.channels = ch;
    job.length = frame_length;
    job.onesided = onesided_;
    job.n_out = onesided_ ? frame_length / 2 + 1 : frame_length;
    const Shape out_shape = {batch, frames, job.n_out, 2};
    std::vector<double> yv(static_cast<size_t>(shape_size(out_shape)));
    run_dft(job, framed, yv, ctx.thread_pool());
    return store_doubles(ctx, ctx.allocate_output(0, x->dtype(), out_shape), yv);
  }

 private:
  bool onesided_;
};

// Hann, Hamming and Blackman windows: w[n] = sum_k a_k cos(2 pi k n / N), with N the size
// (periodic) or size - 1 (symmetric).
class WindowKernel final : public OpKernel {
 public:
  enum class Kind { hann, hamming, blackman };
  WindowKernel(const KernelInfo& info, Kind kind)
      : kind_(kind),
        periodic_(info.attr_int("periodic", 1) != 0),
        dtype_(static_cast<DataType>(info.attr_int("output_datatype", 1))) {}

  template <Kind K>
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    return std::unique_ptr<OpKernel>(new WindowKernel(info, K));
  }

  Status compute(KernelContext& ctx) const override {
    int64_t size = 0;
    TS_RETURN_IF_ERROR(read_int_scalar(ctx, ctx.input(0), "size", size));
    if (size < 0) return ctx.error("size must not be negative, got ", size);
    const double N = static_cast<double>(periodic_ ? size : size - 1);
    std::vector<double> w(static_cast<size_t>(size));
    for (int64_t n = 0; n < size; ++n) {
      const double a = 2.0 * std::numbers::pi * static_cast<double>(n) / N;
      switch (kind_) {
        case Kind::hann: w[n] = std::pow(std::sin(std::numbers::pi * static_cast<double>(n) / N), 2.0); break;
        case Kind::hamming: w[n] = 25.0 / 46.0 - (21.0 / 46.0) * std::cos(a); break;
        case Kind::blackman: w[n] = 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2.0 * a); break;
      }
    }
    return store_doubles(ctx, ctx.allocate_output(0, dtype_, {size}), w);
  }

 private:
  Kind kind_;
  bool periodic_;
  DataType dtype_;
};

// Triangular filters evenly spaced on the mel scale, mapped onto the one-sided DFT bins.
class MelWeightMatrixKernel final : public OpKernel {
 public:
  explicit MelWeightMatrixKernel(const KernelInfo& info)
      : dtype_(static_cast<DataType>(info.attr_int("output_datatype", 1))) {}

  Status compute(KernelContext& ctx) const override {
    int64_t bins = 0, dft_length = 0, rate = 0;
    TS_RETURN_IF_ERROR(read_int_scalar(ctx, ctx.input(0), "num_mel_bins", bins));
    TS_RETURN_IF_ERROR(read_int_scalar(ctx, ctx.input(1), "dft_length", dft_length));
    TS_RETURN_IF_ERROR(read_int_scalar(ctx, ctx.input(2), "sample_rate", rate));
    std::vector<double> lo, hi;
    if (!ctx.input(3) || !ctx.input(4)) return ctx.error("lower_edge_hertz and upper_edge_hertz are required");
    TS_RETURN_IF_ERROR(load_doubles(ctx, *ctx.input(3), lo));
    TS_RETURN_IF_ERROR(load_doubles(ctx, *ctx.input(4), hi));
    if (lo.size() != 1 || hi.size() != 1) return ctx.error("the edge frequencies must be scalars");
    if (bins <= 0 || dft_length <= 0 || rate <= 0)
      return ctx.error("num_mel_bins, dft_length and sample_rate must be positive");
    const int64_t spec_bins = dft_length / 2 + 1;
    // The mel edges are computed in float, the band centres in double, as in the reference;
    // the floor below makes the exact rounding matter.
    const float low_mel = 2595.0f * std::log10(1.0f + static_cast<float>(lo[0]) / 700.0f);
    const float high_mel = 2595.0f * std::log10(1.0f + static_cast<float>(hi[0]) / 700.0f);
    const float step = (high_mel - low_mel) / static_cast<float>(bins + 2);
    std::vector<int64_t> edge(static_cast<size_t>(bins + 2));
    for (int64_t i = 0; i < bins + 2; ++i) {
      const double mel = static_cast<double>(i) * static_cast<double>(step) + static_cast<double>(low_mel);
      const double hz = 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
      edge[i] = static_cast<int64_t>(std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(rate)));
    }
    std::vector<double> w(static_cast<size_t>(spec_bins * bins), 0.0);
    auto set = [&](int64_t row, int64_t col, double v) {
      if (row >= 0 && row < spec_bins) w[row * bins + col] = v;
    };
    for (int64_t i = 0; i < bins; ++i) {
      const int64_t left = edge[i], center = edge[i + 1], right = edge[i + 2];
      if (center == left) {
        set(center, i, 1.0);
      } else {
        for (int64_t j = left; j <= center; ++j)
          set(j, i, static_cast<double>(j - left) / static_cast<double>(center - left));
      }
      for (int64_t j = center; j < right; ++j)
        set(j, i, static_cast<double>(right - j) / static_cast<double>(right - center));
    }
    return store_doubles(ctx, ctx.allocate_output(0, dtype_, {spec_bins, bins}), w);
  }

 private:
  DataType dtype_;
};

}  // namespace

void register_signal(KernelRegistry& r) {
  using W = WindowKernel;
  const KernelDef defs[] = {
      {"", "DFT", 17, kLatestOnnxOpset, make_factory<DftKernel>()},
      {"", "STFT", 17, kLatestOnnxOpset, make_factory<StftKernel>()},
      {"", "HannWindow", 17, kLatestOnnxOpset, W::create<W::Kind::hann>},
      {"", "HammingWindow", 17, kLatestOnnxOpset, W::create<W::Kind::hamming>},
      {"", "BlackmanWindow", 17, kLatestOnnxOpset, W::create<W::Kind::blackman>},
      {"", "MelWeightMatrix", 17, kLatestOnnxOpset, make_factory<MelWeightMatrixKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
