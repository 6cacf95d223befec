// Expand, Tile and Pad. Expand and Tile are strided copies with zero strides on the repeated
// dims; Pad maps every output coordinate to a source coordinate (or to the constant) per axis
// and copies the inner dim in contiguous runs.
#include <algorithm>

#include "core/broadcast_shapes.h"
#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;

class ExpandKernel final : public OpKernel {
 public:
  explicit ExpandKernel(const KernelInfo&) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* shape_t, ctx.required_input(1));
    Shape requested;
    if (!read_int64s(*shape_t, requested)) return ctx.error("shape input must be int64");
    Result<Shape> broadcast = broadcast_shapes({&x->shape(), &requested}, "");
    if (!broadcast.is_ok())
      return ctx.error("input shape ", shape_to_string(x->shape()), " cannot be broadcast to ", shape_to_string(requested));
    const Shape out_shape = std::move(broadcast).value();
    const size_t rank = out_shape.size(), lead = rank - x->rank();
    const Shape in_strides = contiguous_strides(x->shape());
    Shape src_strides(rank, 0);
    for (size_t k = lead; k < rank; ++k) src_strides[k] = x->dim(k - lead) == 1 ? 0 : in_strides[k - lead];
    if (out_shape == x->shape()) {
      ctx.set_output(0, *x);
      return Status::ok();
    }
    Tensor& out = ctx.allocate_output(0, x->dtype(), out_shape);
    strided_copy(x->dtype(), out_shape, out.raw_data(), contiguous_strides(out_shape), x->raw_data(), src_strides, &ctx.thread_pool());
    return Status::ok();
  }
};

class TileKernel final : public OpKernel {
 public:
  explicit TileKernel(const KernelInfo&) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* reps_t, ctx.required_input(1));
    const size_t rank = x->rank();
    Shape repeats;
    if (ctx.input_count() > 2 && ctx.input(2)) {
      // Tile-1: a scalar count of tiles along one axis.
      int64_t tiles = 0, axis = 0;
      if (!read_scalar_int64(*reps_t, tiles) || !read_scalar_int64(*ctx.input(2), axis)) return ctx.error("tiles and axis must be integer scalars");
      if (!normalize_axis(axis, static_cast<int64_t>(rank))) return ctx.error("axis ", axis, " is out of range for rank ", rank);
      repeats.assign(rank, 1);
      repeats[axis] = tiles;
    } else if (!read_int64s(*reps_t, repeats)) {
      return ctx.error("repeats must be int64");
    }
    if (repeats.size() != rank) return ctx.error("repeats has ", repeats.size(), " entries but the input has rank ", rank);
    // Output [r0*d0, r1*d1, ...] is laid out as [r0, d0, r1, d1, ...]; the r dims read with stride 0.
    Shape out_shape(rank), view_shape;
    const Shape in_strides = contiguous_strides(x->shape());
    Shape src_strides;
    for (size_t k = 0; k < rank; ++k) {
      if (repeats[k] < 0) return ctx.error("repeats ", shape_to_string(repeats), " has a negative entry");
      out_shape[k] = x->dim(k) * repeats[k];
      view_shape.insert(view_shape.end(), {repeats[k], x->dim(k)});
      src_strides.insert(src_strides.end(), {0, in_strides[k]});
    }
    Tensor& out = ctx.allocate_output(0, x->dtype(), out_shape);
    strided_copy(x->dtype(), view_shape, out.raw_data(), contiguous_strides(view_shape), x->raw_data(), src_strides, &ctx.thread_pool());
    return Status::ok();
  }
};

enum class PadMode { constant, reflect, edge, wrap };

class PadKernel final : public OpKernel {
 public:
  PadKernel(const KernelInfo& info, PadMode mode) : mode_(mode), value_attr_(info.attr_float("value")) {
    if (info.has_attr("pads")) pads_attr_ = info.attr_ints("pads");
    else if (info.has_attr("paddings")) pads_attr_ = info.attr_ints("paddings");  // Pad-1
  }

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::string mode = info.attr_string("mode", "constant");
    PadMode m;
    if (mode == "constant") m = PadMode::constant;
    else if (mode == "reflect") m = PadMode::reflect;
    else if (mode == "edge") m = PadMode::edge;
    else if (mode == "wrap") m = PadMode::wrap;
    else return info.error("unknown mode '", mode, "'");
    return std::unique_ptr<OpKernel>(new PadKernel(info, m));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const int64_t rank = static_cast<int64_t>(x->rank());
    const DataType dtype = x->dtype();
    std::vector<int64_t> raw_pads = pads_attr_, axes;
    // The pad value as one element of dtype (a string, or up to 16 bytes).
    std::string value_string;
    alignas(16) unsigned char value_bytes[16] = {};
    const void* value = dtype == DataType::string ? static_cast<const void*>(&value_string) : value_bytes;
    if (ctx.input_count() > 1) {  // opset 11+: pads, constant_value, axes are inputs
      TS_ASSIGN_OR_RETURN(const Tensor* pads_t, ctx.required_input(1));
      if (!read_int64s(*pads_t, raw_pads)) return ctx.error("pads must be int64");
      const Tensor* cv = ctx.input(2);
      if (cv && cv->size() > 0) {
        if (cv->dtype() != dtype) return ctx.error("constant_value type ", dtype_name(cv->dtype()), " differs from data type ", dtype_name(dtype));
        copy_element(dtype, const_cast<void*>(value), 0, cv->raw_data(), 0);
      }
      const Tensor* axes_t = ctx.input(3);
      if (axes_t && !read_int64s(*axes_t, axes)) return ctx.error("axes must be int32 or int64");
    } else if (value_attr_ != 0.0f) {
      TS_RETURN_IF_ERROR(dispatch<kNumericTypes>(dtype, [&]<class T>() {
        T v = from_computed<T>(value_attr_);
        std::memcpy(value_bytes, &v, sizeof(T));
        return Status::ok();
      }, ctx.node()));
    }
    if (axes.empty()) {
      axes.resize(rank);
      for (int64_t k = 0; k < rank; ++k) axes[k] = k;
    }
    const int64_t n_axes = static_cast<int64_t>(axes.size());
    if (static_cast<int64_t>(raw_pads.size()) != 2 * n_axes)
      return ctx.error("pads has ", raw_pads.size(), " entries, expected ", 2 * n_axes, " (2 per axis)");
    std::vector<int64_t> begin(rank, 0), end(rank, 0);
    for (int64_t i = 0; i < n_axes; ++i) {
      int64_t axis = axes[i];
      if (!normalize_axis(axis, rank)) return ctx.error("axis ", axes[i], " is out of range for rank ", rank);
      begin[axis] = raw_pads[i];
      end[axis] = raw_pads[n_axes + i];
    }

    // Per axis, the source coordinate of each output coordinate, or -1 for the pad value.
    Shape out_shape(rank);
    std::vector<std::vector<int64_t>> maps(rank);
    for (int64_t k = 0; k < rank; ++k) {
      const int64_t in = x->dim(k);
      out_shape[k] = in + begin[k] + end[k];
      if (out_shape[k] < 0) return ctx.error("pads ", shape_to_string(raw_pads), " crop axis ", k, " of size ", in, " below zero");
      maps[k].resize(out_shape[k]);
      for (int64_t o = 0; o < out_shape[k]; ++o) {
        int64_t s = o - begin[k];
        if (s < 0 || s >= in) {
          if (mode_ != PadMode::constant && in == 0) return ctx.error("cannot pad an empty axis ", k, " in a non-constant mode");
          switch (mode_) {
            case PadMode::constant: s = -1; break;
            case PadMode::edge: s = std::clamp<int64_t>(s, 0, in - 1); break;
            case PadMode::wrap: s = ((s % in) + in) % in; break;
            case PadMode::reflect: {
              if (in == 1) { s = 0; break; }
              const int64_t period = 2 * (in - 1);
              s = ((s % period) + period) % period;
              if (s >= in) s = period - s;
              break;
            }
          }
        }
        maps[k][o] = s;
      }
    }
    Tensor& out = ctx.allocate_output(0, dtype, out_shape);
    if (out.size() == 0) return Status::ok();
    if (rank == 0) {
      copy_elements(dtype, out.raw_data(), x->raw_data(), 1);
      return Status::ok();
    }

    // Runs of the inner axis: {output start, source start or -1, length}.
    struct Run { int64_t out, src, len; };
    std::vector<Run> runs;
    const std::vector<int64_t>& inner_map = maps[rank - 1];
    for (int64_t o = 0; o < static_cast<int64_t>(inner_map.size()); ++o) {
      const int64_t s = inner_map[o];
      if (!runs.empty()) {
        Run& last = runs.back();
        if ((s == -1 && last.src == -1) || (s != -1 && last.src != -1 && s == last.src + last.len)) {
          ++last.len;
          continue;
        }
      }
      runs.push_back({o, s, 1});
    }
    const std::vector<int64_t> in_strides = contiguous_strides(x->shape());
    const int64_t row_len = out_shape[rank - 1];
    const int64_t rows = out.size() / row_len;
    auto do_rows = [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        void* dst = element_ptr(out.raw_data(), dtype, r * row_len);
        int64_t src_off = 0, rem = r;
        bool padded = false;
        for (int64_t k = rank - 2; k >= 0 && !padded; --k) {
          const int64_t s = maps[k][rem % out_shape[k]];
          rem /= out_shape[k];
          if (s < 0) padded = true;
          else src_off += s * in_strides[k];
        }
        if (padded) {
          fill_elements(dtype, dst, value, row_len);
          continue;
        }
        for (const Run& run : runs) {
          void* d = element_ptr(dst, dtype, run.out);
          if (run.src < 0) fill_elements(dtype, d, value, run.len);
          else copy_elements(dtype, d, element_ptr(x->raw_data(), dtype, src_off + run.src), run.len);
        }
      }
    };
    const int64_t bytes = out.size() * static_cast<int64_t>(dtype_size(dtype));
    if (bytes >= (1 << 18)) ctx.thread_pool().parallel_for(rows, std::max<int64_t>(1, (1 << 14) / row_len), do_rows);
    else do_rows(0, rows);
    return Status::ok();
  }

 private:
  PadMode mode_;
  float value_attr_;
  std::vector<int64_t> pads_attr_;
};

}  // namespace

void register_expand_tile_pad(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "Expand", 8, kLatestOnnxOpset, make_factory<ExpandKernel>()},
      {"", "Tile", 1, kLatestOnnxOpset, make_factory<TileKernel>()},
      {"", "Pad", 1, kLatestOnnxOpset, PadKernel::create},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
