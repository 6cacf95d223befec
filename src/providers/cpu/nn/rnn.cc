// RNN, GRU and LSTM: one kernel for the three recurrent cells. Per direction, the input
// projection X*W^T + biases runs as one GEMM over every time step; each step then does one GEMM
// of the hidden state against R^T (packed once, up front) and the gate arithmetic per batch row.
// Half-precision tensors compute in float, double in double. The two directions of a
// bidirectional node run side by side when the pool has a second thread.
//
// Semantics that the spec leaves to prose:
//  - sequence_lens: batch row b runs steps 0..len_b-1 (reverse: len_b-1 down to 0); Y past
//    len_b stays zero and Y_h/Y_c hold the state after the row's last step.
//  - clip bounds every gate pre-activation (after biases and peepholes) to [-clip, clip].
//  - LSTM input_forget couples the gates: f = 1 - i.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/gemm.h"
#include "core/float_types.h"
#include "providers/cpu/nn/rnn_activation.h"

namespace tessera {
namespace {

using kernels::GemmEpilogue;
using kernels::MatrixArg;
using kernels::PackedMatrix;
using rnn::Activation;
using rnn::apply_activation;

enum class Cell { rnn, gru, lstm };

constexpr int64_t gate_count(Cell cell) { return cell == Cell::rnn ? 1 : cell == Cell::gru ? 3 : 4; }
constexpr size_t act_count(Cell cell) { return cell == Cell::rnn ? 1 : cell == Cell::gru ? 2 : 3; }

// R^T of one direction, packed for the per-step GEMM. For GRU without linear_before_reset the
// h-gate block is packed on its own: it multiplies (r . H), not H.
template <class C>
struct PackedR {
  PackedMatrix<C> main;    // [H, G*H] (or [H, 2H] for the split GRU)
  PackedMatrix<C> h_gate;  // [H, H], split GRU only
};

template <class C>
struct PackedWeights {
  std::vector<PackedMatrix<C>> w;  // per direction: W^T [I, G*H]
  std::vector<PackedR<C>> r;
};

struct Shapes {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
};

class RecurrentKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info, Cell cell) {
    auto k = std::unique_ptr<RecurrentKernel>(new RecurrentKernel(info, cell));
    const std::string direction = info.attr_string("direction", "forward");
    if (direction == "forward" || direction == "reverse") {
      k->dirs_ = 1;
      k->reverse_first_ = direction == "reverse";
    } else if (direction == "bidirectional") {
      k->dirs_ = 2;
    } else {
      return info.error("direction must be forward, reverse or bidirectional, got '", direction, "'");
    }
    const size_t per_dir = act_count(cell);
    std::vector<std::string> names = info.attr_strings("activations");
    if (names.empty()) {
      if (cell == Cell::rnn) names = {"Tanh"};
      else if (cell == Cell::gru) names = {"Sigmoid", "Tanh"};
      else names = {"Sigmoid", "Tanh", "Tanh"};
    }
    // A bidirectional node may list the activations once for both directions.
    if (k->dirs_ == 2 && names.size() == per_dir) {
      const std::vector<std::string> once = names;
      names.insert(names.end(), once.begin(), once.end());
    }
    if (names.size() != per_dir * static_cast<size_t>(k->dirs_))
      return info.error("activations lists ", names.size(), " functions, expected ", per_dir * static_cast<size_t>(k->dirs_));
    std::string bad;
    auto acts = rnn::parse_activations(names, info.attr_floats("activation_alpha"), info.attr_floats("activation_beta"), &bad);
    if (!acts) return info.error("unknown activation function '", bad, "'");
    k->acts_ = std::move(*acts);
    if (info.has_attr("clip")) {
      k->clip_ = info.attr_float("clip", 0);
      if (!(*k->clip_ > 0)) return info.error("clip must be positive, got ", *k->clip_);
    }
    k->hidden_attr_ = info.attr_int("hidden_size", -1);
    k->layout_ = info.attr_int("layout");
    if (k->layout_ != 0 && k->layout_ != 1) return info.error("layout must be 0 or 1, got ", k->layout_);
    k->linear_before_reset_ = info.attr_int("linear_before_reset") != 0;
    k->input_forget_ = info.attr_int("input_forget") != 0;
    k->prepack(info);
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* r = ctx.input(2);
    if (!x || !w || !r) return ctx.error("inputs X, W and R are required");
    Shapes s;
    TS_RETURN_IF_ERROR(check_shapes(ctx, *x, *w, *r, &s));
    std::vector<int64_t> lens;
    TS_RETURN_IF_ERROR(read_sequence_lens(ctx, s, &lens));
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using C = compute_t<T>;
          return run<T, C>(ctx, s, lens);
        },
        ctx.node());
  }

 private:
  RecurrentKernel(const KernelInfo&, Cell cell) : cell_(cell) {}

  bool split_gru() const { return cell_ == Cell::gru && !linear_before_reset_; }

  template <class C>
  PackedR<C> pack_r(const C* r, int64_t hidden) const {
    const int64_t gh = gate_count(cell_) * hidden;
    PackedR<C> p;
    if (split_gru()) {
      p.main = kernels::pack_b(hidden, 2 * hidden, r, hidden, true);
      p.h_gate = kernels::pack_b(hidden, hidden, r + 2 * hidden * hidden, hidden, true);
    } else {
      p.main = kernels::pack_b(hidden, gh, r, hidden, true);
    }
    return p;
  }

  // Constant W and R are packed for the GEMM once, here, instead of on every run.
  void prepack(const KernelInfo& info) {
    const Tensor* w = info.constant_input(1);
    const Tensor* r = info.constant_input(2);
    if (!w || !r || w->dtype() != r->dtype() || w->rank() != 3 || r->rank() != 3) return;
    const int64_t d = w->dim(0), gh = w->dim(1), in = w->dim(2), hidden = r->dim(2);
    if (d != dirs_ || r->dim(0) != d || r->dim(1) != gh || gh != gate_count(cell_) * hidden || in == 0 || hidden == 0)
      return;
    if (hidden_attr_ >= 0 && hidden_attr_ != hidden) return;
    Status ignored = dispatch<kFloatTypes>(
        w->dtype(),
        [&]<class T>() -> Status {
          using C = compute_t<T>;
          auto packed = std::make_shared<PackedWeights<C>>();
          std::vector<C> wc(static_cast<size_t>(gh * in)), rc(static_cast<size_t>(gh * hidden));
          for (int64_t dir = 0; dir < d; ++dir) {
            widen_span(w->data<T>() + dir * gh * in, wc.data(), gh * in);
            widen_span(r->data<T>() + dir * gh * hidden, rc.data(), gh * hidden);
            packed->w.push_back(kernels::pack_b(in, gh, wc.data(), in, true));
            packed->r.push_back(pack_r<C>(rc.data(), hidden));
          }
          if constexpr (std::is_same_v<C, double>) packed_d_ = packed;
          else packed_f_ = packed;
          packed_dtype_ = w->dtype();
          return Status::ok();
        },
        "");
    (void)ignored;
  }

  Status check_shapes(const KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor& r, Shapes* s) const {
    if (x.rank() != 3) return ctx.error("X must be 3-D, got ", shape_to_string(x.shape()));
    if (w.rank() != 3 || r.rank() != 3)
      return ctx.error("W and R must be 3-D, got ", shape_to_string(w.shape()), " and ", shape_to_string(r.shape()));
    if (w.dtype() != x.dtype() || r.dtype() != x.dtype()) return ctx.error("X, W and R must share one element type");
    s->seq = layout_ == 0 ? x.dim(0) : x.dim(1);
    s->batch = layout_ == 0 ? x.dim(1) : x.dim(0);
    s->input = x.dim(2);
    s->hidden = r.dim(2);
    s->dirs = dirs_;
    const int64_t gh = gate_count(cell_) * s->hidden;
    if (hidden_attr_ >= 0 && hidden_attr_ != s->hidden)
      return ctx.error("hidden_size is ", hidden_attr_, " but R has shape ", shape_to_string(r.shape()));
    if (w.dim(0) != dirs_ || w.dim(1) != gh || w.dim(2) != s->input)
      return ctx.error("W has shape ", shape_to_string(w.shape()), ", expected [", dirs_, ",", gh, ",", s->input, "]");
    if (r.dim(0) != dirs_ || r.dim(1) != gh)
      return ctx.error("R has shape ", shape_to_string(r.shape()), ", expected [", dirs_, ",", gh, ",", s->hidden, "]");
    auto expect = [&](size_t i, const char* what, const Shape& want) -> Status {
      const Tensor* t = ctx.input(i);
      if (!t) return Status::ok();
      if (t->shape() != want)
        return ctx.error(what, " has shape ", shape_to_string(t->shape()), ", expected ", shape_to_string(want));
      if (t->dtype() != x.dtype()) return ctx.error(what, " must have the element type of X");
      return Status::ok();
    };
    const Shape state = layout_ == 0 ? Shape{dirs_, s->batch, s->hidden} : Shape{s->batch, dirs_, s->hidden};
    TS_RETURN_IF_ERROR(expect(3, "B", {dirs_, 2 * gh}));
    TS_RETURN_IF_ERROR(expect(5, "initial_h", state));
    if (cell_ == Cell::lstm) {
      TS_RETURN_IF_ERROR(expect(6, "initial_c", state));
      TS_RETURN_IF_ERROR(expect(7, "P", {dirs_, 3 * s->hidden}));
    }
    return Status::ok();
  }

  Status read_sequence_lens(const KernelContext& ctx, const Shapes& s, std::vector<int64_t>* lens) const {
    lens->assign(static_cast<size_t>(s.batch), s.seq);
    const Tensor* t = ctx.input(4);
    if (!t) return Status::ok();
    if (t->rank() != 1 || t->dim(0) != s.batch)
      return ctx.error("sequence_lens has shape ", shape_to_string(t->shape()), ", expected [", s.batch, "]");
    for (int64_t b = 0; b < s.batch; ++b) {
      int64_t v;
      if (t->dtype() == DataType::int32) v = t->data<int32_t>()[b];
      else if (t->dtype() == DataType::int64) v = t->data<int64_t>()[b];
      else return ctx.error("sequence_lens must be int32, got ", dtype_name(t->dtype()));
      if (v < 0 || v > s.seq) return ctx.error("sequence_lens[", b, "] = ", v, " is outside [0, ", s.seq, "]");
      (*lens)[static_cast<size_t>(b)] = v;
    }
    return Status::ok();
  }

  template <class C>
  const PackedWeights<C>* packed_for(DataType dtype) const {
    if (dtype != packed_dtype_) return nullptr;
    if constexpr (std::is_same_v<C, double>) return packed_d_.get();
    else return packed_f_.get();
  }

  template <class T, class C>
  Status run(KernelContext& ctx, const Shapes& s, const std::vector<int64_t>& lens) const {
    const Tensor& x = *ctx.input(0);
    const int64_t S = s.seq, B = s.batch, I = s.input, H = s.hidden, D = dirs_;
    const Shape y_shape = layout_ == 0 ? Shape{S, D, B, H} : Shape{B, S, D, H};
    const Shape state_shape = layout_ == 0 ? Shape{D, B, H} : Shape{B, D, H};
    Outputs<T> out;
    out.y = ctx.output_requested(0) ? ctx.allocate_output(0, x.dtype(), y_shape).template data<T>() : nullptr;
    out.y_h = ctx.output_requested(1) ? ctx.allocate_output(1, x.dtype(), state_shape).template data<T>() : nullptr;
    out.y_c = cell_ == Cell::lstm && ctx.output_requested(2)
                  ? ctx.allocate_output(2, x.dtype(), state_shape).template data<T>()
                  : nullptr;
    if (B == 0 || H == 0) return Status::ok();

    ThreadPool& pool = ctx.thread_pool();
    std::vector<C> xc(static_cast<size_t>(S * B * I));
    widen_span(x.data<T>(), xc.data(), S * B * I);
    // With threads to spare, the two directions of a bidirectional node run side by side,
    // each on one thread: their steps are too small to split well.
    if (D == 2 && pool.size() > 1) {
      pool.parallel_for(2, 1, [&](int64_t d0, int64_t d1) {
        for (int64_t d = d0; d < d1; ++d) run_direction<T, C>(ctx, s, lens, xc.data(), d, out, nullptr);
      });
    } else {
      for (int64_t d = 0; d < D; ++d) run_direction<T, C>(ctx, s, lens, xc.data(), d, out, &pool);
    }
    return Status::ok();
  }

  template <class T>
  struct Outputs {
    T* y = nullptr;
    T* y_h = nullptr;
    T* y_c = nullptr;
  };

  // Calls f(b0, b1) over the batch rows, on the pool only when the rows carry enough work.
  template <class F>
  static void for_rows(ThreadPool* pool, int64_t rows, int64_t work_per_row, const F& f) {
    if (pool && pool->size() > 1 && rows > 1 && rows * work_per_row >= (int64_t{1} << 15)) {
      pool->parallel_for(rows, std::max<int64_t>(1, (int64_t{1} << 13) / std::max<int64_t>(1, work_per_row)), f);
    } else {
      f(0, rows);
    }
  }

  // One direction end to end; `pool` may be null (single-threaded).
  template <class T, class C>
  void run_direction(const KernelContext& ctx, const Shapes& s, const std::vector<int64_t>& lens, const C* xc, int64_t d,
                     const Outputs<T>& out, ThreadPool* pool) const {
    const Tensor& w = *ctx.input(1);
    const Tensor& r = *ctx.input(2);
    const int64_t S = s.seq, B = s.batch, I = s.input, H = s.hidden, D = dirs_;
    const int64_t G = gate_count(cell_), GH = G * H;
    const bool reverse = d == 1 || reverse_first_;
    const PackedWeights<C>* packed = packed_for<C>(w.dtype());
    std::vector<C> xw(static_cast<size_t>(S * B * GH)), hr(static_cast<size_t>(B * GH));
    std::vector<C> h(static_cast<size_t>(B * H)), c(static_cast<size_t>(B * H)), tmp(static_cast<size_t>(B * H));
    std::vector<C> wc, rc, bias_x(static_cast<size_t>(GH), C(0)), bias_rh(static_cast<size_t>(H), C(0));
    std::vector<C> peep(static_cast<size_t>(3 * H), C(0));

    // Biases: Wb + Rb folded into the input projection, except the GRU h-gate Rb under
    // linear_before_reset, which is scaled by r.
    if (const Tensor* bt = ctx.input(3)) {
      const T* wb = bt->data<T>() + d * 2 * GH;
      const T* rb = wb + GH;
      for (int64_t j = 0; j < GH; ++j) {
        const bool keep_apart = cell_ == Cell::gru && linear_before_reset_ && j >= 2 * H;
        bias_x[j] = to_computed<C>(wb[j]) + (keep_apart ? C(0) : to_computed<C>(rb[j]));
        if (keep_apart) bias_rh[j - 2 * H] = to_computed<C>(rb[j]);
      }
    }
    if (const Tensor* pt = cell_ == Cell::lstm ? ctx.input(7) : nullptr) widen_span(pt->data<T>() + d * 3 * H, peep.data(), 3 * H);
    load_state<T, C>(ctx.input(5), d, B, H, h.data());
    load_state<T, C>(cell_ == Cell::lstm ? ctx.input(6) : nullptr, d, B, H, c.data());

    // Input projection for every step at once: rows in X's own order.
    MatrixArg<C> w_arg;
    if (packed) {
      w_arg.packed = &packed->w[static_cast<size_t>(d)];
    } else {
      wc.resize(static_cast<size_t>(GH * I));
      widen_span(w.data<T>() + d * GH * I, wc.data(), GH * I);
      w_arg = {wc.data(), I, true, nullptr};
    }
    GemmEpilogue<C> ep;
    ep.bias_n = bias_x.data();
    if (S * B > 0 && I > 0) {
      kernels::gemm(S * B, GH, I, C(1), MatrixArg<C>{xc, I, false, nullptr}, w_arg, C(0), xw.data(), GH, ep, pool);
    } else {
      for (int64_t row = 0; row < S * B; ++row) std::copy(bias_x.begin(), bias_x.end(), xw.begin() + row * GH);
    }

    const PackedR<C>* pr = packed ? &packed->r[static_cast<size_t>(d)] : nullptr;
    PackedR<C> run_packed;
    if (!pr) {
      rc.resize(static_cast<size_t>(GH * H));
      widen_span(r.data<T>() + d * GH * H, rc.data(), GH * H);
      run_packed = pack_r<C>(rc.data(), H);
      pr = &run_packed;
    }
    const Activation* acts = acts_.data() + static_cast<size_t>(d) * act_count(cell_);
    const int64_t n_main = split_gru() ? 2 * H : GH;
    // A step's GEMM is worth splitting over threads only when it is big.
    ThreadPool* step_pool = 2 * B * GH * H >= (int64_t{1} << 21) ? pool : nullptr;

    for (int64_t step = 0; step < S; ++step) {
      auto time_of = [&](int64_t b) { return reverse ? lens[static_cast<size_t>(b)] - 1 - step : step; };
      auto xw_row = [&](int64_t b) {
        const int64_t t = time_of(b);
        return xw.data() + (layout_ == 0 ? t * B + b : b * S + t) * GH;
      };
      auto y_row = [&](int64_t b) {
        const int64_t t = time_of(b);
        return out.y + (layout_ == 0 ? (t * D + d) * B + b : (b * S + t) * D + d) * H;
      };
      auto active = [&](int64_t b) { return step < lens[static_cast<size_t>(b)]; };
      kernels::gemm(B, n_main, H, C(1), MatrixArg<C>{h.data(), H, false, nullptr}, MatrixArg<C>{nullptr, 0, false, &pr->main},
                    C(0), hr.data(), GH, {}, step_pool);

      if (split_gru()) {
        // Phase 1: z and r, then r . H for the h-gate GEMM (tmp holds r . H).
        for_rows(pool, B, 2 * H, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; ++b) {
            if (!active(b)) continue;
            C* g = hr.data() + b * GH;
            add_clip_act(g, xw_row(b), 2 * H, acts[0]);
            const C* hp = h.data() + b * H;
            C* rh = tmp.data() + b * H;
            for (int64_t j = 0; j < H; ++j) rh[j] = g[H + j] * hp[j];
          }
        });
        kernels::gemm(B, H, H, C(1), MatrixArg<C>{tmp.data(), H, false, nullptr}, MatrixArg<C>{nullptr, 0, false, &pr->h_gate},
                      C(0), hr.data() + 2 * H, GH, {}, step_pool);
      }

      for_rows(pool, B, GH, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          if (!active(b)) continue;
          C* g = hr.data() + b * GH;
          const C* xr = xw_row(b);
          C* hp = h.data() + b * H;
          switch (cell_) {
            case Cell::rnn:
              add_clip_act(g, xr, H, acts[0]);
              std::copy(g, g + H, hp);
              break;
            case Cell::gru:
              gru_row(g, xr, hp, bias_rh.data(), H, acts);
              break;
            case Cell::lstm:
              lstm_row(g, xr, hp, c.data() + b * H, tmp.data() + b * H, peep.data(), H, acts);
              break;
          }
          if (out.y) narrow_span(hp, y_row(b), H);
        }
      });
    }
    store_state<T, C>(out.y_h, d, B, H, h.data());
    if (cell_ == Cell::lstm) store_state<T, C>(out.y_c, d, B, H, c.data());
  }

  template <class C>
  void clip_span(C* g, int64_t n) const {
    if (!clip_) return;
    const C lim = static_cast<C>(*clip_);
    for (int64_t j = 0; j < n; ++j) g[j] = std::min(std::max(g[j], -lim), lim);
  }

  // g = act(clip(g + xr)) over n values.
  template <class C>
  void add_clip_act(C* g, const C* xr, int64_t n, const Activation& act) const {
    for (int64_t j = 0; j < n; ++j) g[j] += xr[j];
    clip_span(g, n);
    apply_activation(act, g, n);
  }

  // g holds H*R^T for z, r (already activated in split mode) and the h gate; hp is H(t-1),
  // updated in place. rbh is the h-gate Rb kept apart under linear_before_reset (else zeros).
  template <class C>
  void gru_row(C* g, const C* xr, C* hp, const C* rbh, int64_t H, const Activation* acts) const {
    C* z = g;
    C* rg = g + H;
    C* hh = g + 2 * H;
    const C* xh = xr + 2 * H;
    if (!split_gru()) add_clip_act(g, xr, 2 * H, acts[0]);
    if (linear_before_reset_) {
      for (int64_t j = 0; j < H; ++j) hh[j] = xh[j] + rg[j] * (hh[j] + rbh[j]);
    } else {
      for (int64_t j = 0; j < H; ++j) hh[j] += xh[j];
    }
    clip_span(hh, H);
    apply_activation(acts[1], hh, H);
    for (int64_t j = 0; j < H; ++j) hp[j] = (C(1) - z[j]) * hh[j] + z[j] * hp[j];
  }

  // Gates in i, o, f, c order; cp is C(t-1), updated in place; scratch holds h(C).
  template <class C>
  void lstm_row(C* g, const C* xr, C* hp, C* cp, C* scratch, const C* peep, int64_t H, const Activation* acts) const {
    C* gi = g;
    C* go = g + H;
    C* gf = g + 2 * H;
    C* gc = g + 3 * H;
    const C* pi = peep;
    const C* po = peep + H;
    const C* pf = peep + 2 * H;
    for (int64_t j = 0; j < 4 * H; ++j) g[j] += xr[j];
    for (int64_t j = 0; j < H; ++j) {
      gi[j] += pi[j] * cp[j];
      gf[j] += pf[j] * cp[j];
    }
    clip_span(gi, H);
    apply_activation(acts[0], gi, H);
    if (input_forget_) {
      for (int64_t j = 0; j < H; ++j) gf[j] = C(1) - gi[j];
    } else {
      clip_span(gf, H);
      apply_activation(acts[0], gf, H);
    }
    clip_span(gc, H);
    apply_activation(acts[1], gc, H);
    for (int64_t j = 0; j < H; ++j) cp[j] = gf[j] * cp[j] + gi[j] * gc[j];
    for (int64_t j = 0; j < H; ++j) go[j] += po[j] * cp[j];
    clip_span(go, H);
    apply_activation(acts[0], go, H);
    std::copy(cp, cp + H, scratch);
    apply_activation(acts[2], scratch, H);
    for (int64_t j = 0; j < H; ++j) hp[j] = go[j] * scratch[j];
  }

  // Direction d of initial_h / initial_c into [B, H]; zeros when omitted.
  template <class T, class C>
  void load_state(const Tensor* t, int64_t d, int64_t B, int64_t H, C* out) const {
    if (!t) {
      std::fill(out, out + B * H, C(0));
      return;
    }
    for (int64_t b = 0; b < B; ++b)
      widen_span(t->data<T>() + (layout_ == 0 ? d * B + b : b * dirs_ + d) * H, out + b * H, H);
  }

  template <class T, class C>
  void store_state(T* out, int64_t d, int64_t B, int64_t H, const C* state) const {
    if (!out) return;
    for (int64_t b = 0; b < B; ++b)
      narrow_span(state + b * H, out + (layout_ == 0 ? d * B + b : b * dirs_ + d) * H, H);
  }

  Cell cell_;
  int64_t dirs_ = 1;
  bool reverse_first_ = false;
  std::vector<Activation> acts_;
  std::optional<float> clip_;
  int64_t hidden_attr_ = -1;
  int64_t layout_ = 0;
  bool linear_before_reset_ = false;
  bool input_forget_ = false;
  DataType packed_dtype_ = DataType::undefined;
  std::shared_ptr<const PackedWeights<float>> packed_f_;
  std::shared_ptr<const PackedWeights<double>> packed_d_;
};

template <Cell kCell>
KernelFactory recurrent_factory() {
  return [](const KernelInfo& info) { return RecurrentKernel::create(info, kCell); };
}

}  // namespace

void register_rnn(KernelRegistry& r) {
  r.add({"", "RNN", 1, kLatestOnnxOpset, recurrent_factory<Cell::rnn>()});
  r.add({"", "GRU", 1, kLatestOnnxOpset, recurrent_factory<Cell::gru>()});
  r.add({"", "LSTM", 1, kLatestOnnxOpset, recurrent_factory<Cell::lstm>()});
}

}  // namespace tessera
