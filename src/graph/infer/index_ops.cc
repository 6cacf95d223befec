// Ops that select elements: Gather, GatherElements, GatherND, Slice, Pad, TopK, Compress. Gather
// and Slice also pick from shape values (Shape -> Gather -> Unsqueeze -> Concat -> Reshape).
#include <algorithm>
#include <limits>

#include "graph/infer/infer_rules.h"

namespace tessera {

namespace {

Status gather(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  const Dims* idx = ctx.input_shape(1);
  if (!x || !idx) return Status::ok();
  const int64_t rank = static_cast<int64_t>(x->size());
  if (rank == 0) return ctx.error("data must have rank 1 or more");
  TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(ctx.attr_int("axis", 0), rank));
  Dims out(x->begin(), x->begin() + axis);
  out.insert(out.end(), idx->begin(), idx->end());
  out.insert(out.end(), x->begin() + axis + 1, x->end());
  ctx.set_output(0, out);
  const ShapeValue* v = ctx.input_value(0);
  auto indices = ctx.input_ints(1);
  if (v && indices && axis == 0 && !v->scalar) {
    ShapeValue r;
    r.scalar = idx->empty();
    const int64_t n = static_cast<int64_t>(v->elems.size());
    for (int64_t i : *indices) {
      if (i < -n || i >= n) return ctx.error("index ", i, " is out of range for ", n, " elements");
      r.elems.push_back(v->elems[i < 0 ? i + n : i]);
    }
    ctx.set_output_value(0, std::move(r));
  }
  return Status::ok();
}

Status gather_elements(InferContext& ctx) {
  if (const Dims* idx = ctx.input_shape(1)) ctx.set_output(0, *idx);
  return Status::ok();
}

Status gather_nd(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  const Dims* idx = ctx.input_shape(1);
  if (!x || !idx || idx->empty()) return Status::ok();
  const int64_t b = ctx.attr_int("batch_dims", 0);
  const Dim& last = idx->back();
  if (!last.is_fixed()) return Status::ok();
  if (b + last.value > static_cast<int64_t>(x->size()))
    return ctx.error("indices of depth ", last.value, " with batch_dims ", b, " do not fit data ", dims_string(*x));
  Dims out(idx->begin(), idx->end() - 1);
  out.insert(out.end(), x->begin() + b + last.value, x->end());
  ctx.set_output(0, out);
  return Status::ok();
}

// Where a Slice starts on a dim of `size`, clamped as the spec says.
int64_t slice_start(int64_t size, int64_t start, int64_t step) {
  if (start < 0) start += size;
  return step > 0 ? std::clamp<int64_t>(start, 0, size) : std::clamp<int64_t>(start, 0, size - 1);
}

// One axis of a Slice: the number of elements of a dim of `size` taken by start:end:step.
int64_t slice_length(int64_t size, int64_t start, int64_t end, int64_t step) {
  if (size == 0) return 0;
  const int64_t s = slice_start(size, start, step);
  if (end < 0) end += size;
  const int64_t e = step > 0 ? std::clamp<int64_t>(end, 0, size) : std::clamp<int64_t>(end, -1, size - 1);
  if (step > 0) return e > s ? (e - s - 1) / step + 1 : 0;
  if (step == std::numeric_limits<int64_t>::min()) return s > e ? 1 : 0;
  return s > e ? (s - e - 1) / (-step) + 1 : 0;
}

Status slice_impl(InferContext& ctx, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                  std::optional<std::vector<int64_t>> axes, std::optional<std::vector<int64_t>> steps) {
  const Dims* x = ctx.input_shape(0);
  const ShapeValue* v = ctx.input_value(0);
  if (!x) return Status::ok();
  const int64_t rank = static_cast<int64_t>(x->size());
  if (starts.size() != ends.size()) return ctx.error("starts and ends have different lengths");
  if (!axes) {
    axes = std::vector<int64_t>();
    for (size_t k = 0; k < starts.size(); ++k) axes->push_back(static_cast<int64_t>(k));
  }
  if (!steps) steps = std::vector<int64_t>(starts.size(), 1);
  if (axes->size() != starts.size() || steps->size() != starts.size()) return Status::ok();
  Dims out = *x;
  for (size_t k = 0; k < starts.size(); ++k) {
    TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis((*axes)[k], rank, "axes entry"));
    const int64_t step = (*steps)[k];
    if (step == 0) return ctx.error("step 0 on axis ", axis);
    const Dim& d = (*x)[axis];
    if (d.is_fixed()) {
      out[axis] = fixed_dim(slice_length(d.value, starts[k], ends[k], step));
      if (axis == 0 && v && !v->scalar && static_cast<int64_t>(v->elems.size()) == d.value) {
        const int64_t s = slice_start(d.value, starts[k], step);
        ShapeValue r;
        for (int64_t n = 0; n < out[axis].value; ++n) r.elems.push_back(v->elems[s + n * step]);
        ctx.set_output_value(0, std::move(r));
      }
    } else if (starts[k] == 0 && step == 1 && ends[k] >= std::numeric_limits<int32_t>::max()) {
      out[axis] = d;  // the whole axis
    } else {
      out[axis] = unknown_dim();
    }
  }
  ctx.set_output(0, out);
  return Status::ok();
}

Status slice(InferContext& ctx) {  // opset 10+: data, starts, ends, axes, steps
  auto starts = ctx.input_ints(1), ends = ctx.input_ints(2);
  std::optional<std::vector<int64_t>> axes, steps;
  bool known = starts && ends;
  if (ctx.has_input(3)) {
    axes = ctx.input_ints(3);
    known = known && axes.has_value();
  }
  if (ctx.has_input(4)) {
    steps = ctx.input_ints(4);
    known = known && steps.has_value();
  }
  // An end that is a symbolic dim s (x[:, :s] as exporters slice position tables by the sequence
  // length): the axis keeps min(s, size), named so that broadcasting it with s gives s.
  const ShapeValue* end_value = ctx.input_value(2);
  const Dims* x_shape = ctx.input_shape(0);
  if (!known && starts && end_value && x_shape && (axes || !ctx.has_input(3)) && (steps || !ctx.has_input(4)) &&
      end_value->elems.size() == starts->size()) {
    Dims out = *x_shape;
    for (size_t k = 0; k < starts->size(); ++k) {
      TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(axes ? (*axes)[k] : static_cast<int64_t>(k), static_cast<int64_t>(out.size()), "axes entry"));
      const ValueElem& end = end_value->elems[k];
      const int64_t step = steps ? (*steps)[k] : 1;
      const Dim& d = (*x_shape)[axis];
      if (end.known && d.is_fixed()) out[axis] = fixed_dim(slice_length(d.value, (*starts)[k], end.value, step));
      else if (!end.known && !end.param.empty() && (*starts)[k] == 0 && step == 1 && d.is_fixed())
        out[axis] = Dim{-1, "min(" + end.param + "," + std::to_string(d.value) + ")"};
      else if (!end.known && !end.param.empty() && (*starts)[k] == 0 && step == 1 && d.param == end.param)
        out[axis] = d;
      else out[axis] = unknown_dim();
    }
    ctx.set_output(0, out);
    return Status::ok();
  }
  if (!known) {
    if (const Dims* x = ctx.input_shape(0)) {
      // Axes not sliced keep their dims when the axes are known.
      Dims out(x->size());
      if (axes || !ctx.has_input(3)) {
        if (axes) {
          out = *x;
          for (int64_t a : *axes) {
            TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(a, static_cast<int64_t>(x->size()), "axes entry"));
            out[axis] = unknown_dim();
          }
        }
      }
      ctx.set_output(0, out);
    }
    return Status::ok();
  }
  return slice_impl(ctx, *starts, *ends, axes, steps);
}

Status slice1(InferContext& ctx) {
  auto starts = ctx.attr_ints("starts"), ends = ctx.attr_ints("ends");
  if (!starts || !ends) return Status::ok();
  return slice_impl(ctx, *starts, *ends, ctx.attr_ints("axes"), std::nullopt);
}

Status pad_impl(InferContext& ctx, const std::vector<int64_t>& pads, std::optional<std::vector<int64_t>> axes) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  const int64_t rank = static_cast<int64_t>(x->size());
  if (!axes) {
    axes = std::vector<int64_t>();
    for (int64_t k = 0; k < rank; ++k) axes->push_back(k);
  }
  const size_t n = axes->size();
  if (pads.size() != 2 * n) return ctx.error("pads has ", pads.size(), " entries, but ", 2 * n, " are needed for ", dims_string(*x));
  Dims out = *x;
  for (size_t k = 0; k < n; ++k) {
    TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis((*axes)[k], rank, "axes entry"));
    const Dim& d = (*x)[axis];
    // A crafted pad must not wrap the dim; what is unknown here the kernel checks on the run.
    int64_t add = 0;
    if (__builtin_add_overflow(pads[k], pads[k + n], &add)) out[axis] = unknown_dim();
    else if (add != 0) out[axis] = offset_dim(d, add);
  }
  ctx.set_output(0, out);
  return Status::ok();
}

Status pad(InferContext& ctx) {  // opset 11+: data, pads, constant_value, axes (18+)
  auto pads = ctx.input_ints(1);
  std::optional<std::vector<int64_t>> axes;
  if (ctx.has_input(3) && !(axes = ctx.input_ints(3))) pads.reset();
  if (!pads) {
    if (const Dims* x = ctx.input_shape(0)) ctx.set_output(0, Dims(x->size()));
    return Status::ok();
  }
  return pad_impl(ctx, *pads, axes);
}

Status pad1(InferContext& ctx) {
  auto pads = ctx.attr_ints(ctx.opset() < 2 ? "paddings" : "pads");
  if (!pads) return Status::ok();
  return pad_impl(ctx, *pads, std::nullopt);
}

Status top_k(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(ctx.attr_int("axis", -1), static_cast<int64_t>(x->size())));
  Dim k;
  if (ctx.opset() < 10) {
    k = fixed_dim(ctx.attr_int("k", -1));
  } else if (auto v = ctx.input_ints(1); v && v->size() == 1) {
    k = fixed_dim((*v)[0]);
  }
  if (k.is_fixed() && (*x)[axis].is_fixed() && k.value > (*x)[axis].value)
    return ctx.error("k = ", k.value, " is larger than axis ", axis, " of ", dims_string(*x));
  Dims out = *x;
  out[axis] = k;
  ctx.set_output(0, out);
  ctx.set_output(1, out, DataType::int64);
  return Status::ok();
}

Status compress(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  if (!ctx.has_attr("axis")) {
    ctx.set_output(0, Dims(1));
    return Status::ok();
  }
  TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(ctx.attr_int("axis", 0), static_cast<int64_t>(x->size())));
  Dims out = *x;
  out[axis] = unknown_dim();
  ctx.set_output(0, out);
  return Status::ok();
}

}  // namespace

std::vector<InferRule> index_infer_rules() {
  return {
      {"", "Gather", 1, kAnyOpset, gather},
      {"", "GatherElements", 11, kAnyOpset, gather_elements},
      {"", "GatherND", 11, kAnyOpset, gather_nd},
      {"", "Slice", 1, 9, slice1},
      {"", "Slice", 10, kAnyOpset, slice},
      {"", "Pad", 1, 10, pad1},
      {"", "Pad", 11, kAnyOpset, pad},
      {"", "TopK", 1, kAnyOpset, top_k},
      {"", "Compress", 9, kAnyOpset, compress},
  };
}

}  // namespace tessera
