// Ops that rearrange shapes: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Split,
// Expand, Tile, Shape, Size, Constant, ConstantOfShape, Range, NonZero, OneHot, and the quantizers.
// Shape, Squeeze, Unsqueeze and Concat also carry shape values (Shape -> ... -> Reshape).
#include <algorithm>
#include <cmath>
#include <set>

#include "graph/infer/infer_rules.h"

namespace tessera {

namespace {

std::optional<Dims> shape_of(const InferContext& ctx, size_t i) {
  const Dims* s = ctx.input_shape(i);
  return s ? std::optional<Dims>(*s) : std::nullopt;
}

// The target of a Reshape: 0 copies the input dim (unless allowzero), -1 takes what is left.
Status reshape_impl(InferContext& ctx, const std::vector<ValueElem>& target) {
  const Dims* x = ctx.input_shape(0);
  const bool allowzero = ctx.attr_int("allowzero", 0) != 0;
  Dims out(target.size());
  int infer_at = -1;
  for (size_t k = 0; k < target.size(); ++k) {
    const ValueElem& e = target[k];
    if (e.known && e.value == -1) {
      infer_at = static_cast<int>(k);
    } else if (e.known && e.value == 0 && !allowzero) {
      if (x && k < x->size()) out[k] = (*x)[k];
    } else {
      out[k] = dim_of(e);
    }
  }
  if (infer_at >= 0 && x) {
    // What is left: fixed products divide; symbols cancel pairwise.
    int64_t in_fixed = 1, out_fixed = 1;
    std::multiset<std::string> in_syms, out_syms;
    bool known = true;
    // A product past int64 (a crafted declared shape) leaves the inferred dim unknown, not wrapped.
    auto times = [&known](int64_t& product, int64_t value) {
      auto next = checked_multiply(product, value);
      if (next.is_ok()) product = *next;
      else known = false;
    };
    for (const Dim& d : *x) {
      if (d.is_fixed()) times(in_fixed, d.value);
      else if (!d.param.empty()) in_syms.insert(d.param);
      else known = false;
    }
    for (size_t k = 0; k < out.size(); ++k) {
      if (static_cast<int>(k) == infer_at) continue;
      if (out[k].is_fixed()) times(out_fixed, out[k].value);
      else if (!out[k].param.empty()) {
        auto it = in_syms.find(out[k].param);
        if (it == in_syms.end()) known = false;
        else in_syms.erase(it);
      } else known = false;
    }
    if (known && out_fixed != 0) {
      if (in_syms.empty() && in_fixed % out_fixed == 0) out[infer_at] = fixed_dim(in_fixed / out_fixed);
      else if (in_syms.size() == 1 && in_fixed == out_fixed) out[infer_at] = Dim{-1, *in_syms.begin()};
    }
  }
  // A provable mismatch of element counts.
  if (x && infer_at < 0) {
    Dim in_n = product_dim(*x, 0, x->size()), out_n = product_dim(out, 0, out.size());
    if (dims_differ(in_n, out_n))
      return ctx.error("cannot reshape ", dims_string(*x), " (", in_n.value, " elements) to ", dims_string(out), " (", out_n.value,
                       " elements)");
  }
  ctx.set_output(0, out);
  // A value reshaped to rank 0 or 1 keeps its elements.
  if (const ShapeValue* v = ctx.input_value(0);
      v && out.size() <= 1 && (out.empty() ? v->elems.size() == 1 : !out[0].is_fixed() || out[0].value == static_cast<int64_t>(v->elems.size()))) {
    ShapeValue r = *v;
    r.scalar = out.empty();
    ctx.set_output_value(0, std::move(r));
  }
  return Status::ok();
}

Status reshape(InferContext& ctx) {  // opset 5+: the target is input 1
  if (const ShapeValue* v = ctx.input_value(1)) return reshape_impl(ctx, v->elems);
  if (std::optional<size_t> rank = target_rank(ctx.input_shape(1))) ctx.set_output(0, Dims(*rank));
  return Status::ok();
}

Status reshape1(InferContext& ctx) {
  auto shape = ctx.attr_ints("shape");
  if (!shape) return Status::ok();
  std::vector<ValueElem> target;
  for (int64_t v : *shape) target.push_back(known_elem(v));
  return reshape_impl(ctx, target);
}

Status flatten(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) {
    ctx.set_output(0, Dims(2));
    return Status::ok();
  }
  const int64_t rank = static_cast<int64_t>(x->size());
  int64_t axis = ctx.attr_int("axis", 1);
  if (axis < -rank || axis > rank) return ctx.error("axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += rank;
  ctx.set_output(0, Dims{product_dim(*x, 0, axis), product_dim(*x, axis, x->size())});
  return Status::ok();
}

Status transpose(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  std::vector<int64_t> perm;
  if (auto p = ctx.attr_ints("perm"); p && !p->empty()) perm = *p;
  else for (size_t k = 0; k < x->size(); ++k) perm.push_back(static_cast<int64_t>(x->size() - 1 - k));
  if (perm.size() != x->size()) return ctx.error("perm has ", perm.size(), " entries for an input of rank ", x->size());
  Dims out;
  for (int64_t p : perm) {
    TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(p, static_cast<int64_t>(x->size()), "perm entry"));
    out.push_back((*x)[axis]);
  }
  ctx.set_output(0, out);
  return Status::ok();
}

// Axes from the attribute (before `input_since`) or from input 1; nullopt when not known.
std::optional<std::vector<int64_t>> axes_of(const InferContext& ctx, int64_t input_since, bool* present) {
  if (ctx.opset() < input_since) {
    auto a = ctx.attr_ints("axes");
    *present = a.has_value();
    return a ? a : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  }
  *present = ctx.has_input(1);
  if (!ctx.has_input(1)) return std::vector<int64_t>{};
  return ctx.input_ints(1);
}

Status squeeze(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  bool present = false;
  auto axes = axes_of(ctx, 13, &present);
  if (!x || !axes) return Status::ok();
  const int64_t rank = static_cast<int64_t>(x->size());
  std::set<int64_t> drop;
  if (axes->empty()) {
    for (int64_t k = 0; k < rank; ++k) {
      if (!(*x)[k].is_fixed()) return Status::ok();  // whether it is 1 is not known
      if ((*x)[k].value == 1) drop.insert(k);
    }
  } else {
    for (int64_t a : *axes) {
      TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(a, rank, "axes entry"));
      if ((*x)[axis].is_fixed() && (*x)[axis].value != 1)
        return ctx.error("cannot squeeze axis ", axis, " of ", dims_string(*x), ": its size is not 1");
      drop.insert(axis);
    }
  }
  Dims out;
  for (int64_t k = 0; k < rank; ++k)
    if (!drop.count(k)) out.push_back((*x)[k]);
  ctx.set_output(0, out);
  if (const ShapeValue* v = ctx.input_value(0); v && out.empty() && v->elems.size() == 1) {
    ShapeValue r = *v;
    r.scalar = true;
    ctx.set_output_value(0, r);
  }
  return Status::ok();
}

Status unsqueeze(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  bool present = false;
  auto axes = axes_of(ctx, 13, &present);
  if (!x || !axes) return Status::ok();
  const int64_t rank = static_cast<int64_t>(x->size() + axes->size());
  std::set<int64_t> insert;
  for (int64_t a : *axes) {
    TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(a, rank, "axes entry"));
    insert.insert(axis);
  }
  Dims out;
  size_t next = 0;
  for (int64_t k = 0; k < rank; ++k) {
    if (insert.count(k)) out.push_back(fixed_dim(1));
    else if (next < x->size()) out.push_back((*x)[next++]);
  }
  ctx.set_output(0, out);
  if (const ShapeValue* v = ctx.input_value(0); v && out.size() <= 1) {
    ShapeValue r = *v;
    r.scalar = false;
    ctx.set_output_value(0, r);
  }
  return Status::ok();
}

}  // namespace

Status concat_shapes(InferContext& ctx, size_t first, size_t step) {
  std::optional<Dims> out;
  bool all_known = true;
  int64_t axis = 0;
  for (size_t i = first; i < ctx.num_inputs(); i += step) {
    const Dims* s = ctx.input_shape(i);
    if (!s) {
      all_known = false;
      continue;
    }
    if (!out) {
      TS_ASSIGN_OR_RETURN(axis, ctx.axis(ctx.attr_int("axis", 0), static_cast<int64_t>(s->size())));
      out = *s;
      continue;
    }
    if (s->size() != out->size())
      return ctx.error("inputs have different ranks: ", dims_string(*out), " and ", dims_string(*s), " (input ", i, ")");
    for (size_t k = 0; k < s->size(); ++k) {
      if (static_cast<int64_t>(k) == axis) {
        const Dim& a = (*out)[k];
        const Dim& b = (*s)[k];
        (*out)[k] = sum_dim(a, b);
      } else {
        if (dims_differ((*out)[k], (*s)[k]))
          return ctx.error("input ", i, " has shape ", dims_string(*s), ", which differs from ", dims_string(*out),
                           " outside the concatenation axis ", axis);
        (*out)[k] = unify_dim((*out)[k], (*s)[k]);
      }
    }
  }
  if (!out) return Status::ok();
  if (!all_known) (*out)[axis] = unknown_dim();
  ctx.set_output(0, *out);
  return Status::ok();
}

namespace {

Status concat(InferContext& ctx) {
  TS_RETURN_IF_ERROR(concat_shapes(ctx, 0, 1));
  // Concatenated shape values (rank-1 pieces of a Reshape target).
  ShapeValue v;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const ShapeValue* part = ctx.input_value(i);
    if (!part || part->scalar) return Status::ok();
    v.elems.insert(v.elems.end(), part->elems.begin(), part->elems.end());
  }
  ctx.set_output_value(0, std::move(v));
  return Status::ok();
}

// Split sizes from the attribute (before 13) or input 1, or equal parts (num_outputs since 18).
Status split(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(ctx.attr_int("axis", 0), static_cast<int64_t>(x->size())));
  const size_t n = ctx.num_outputs();
  std::optional<std::vector<int64_t>> sizes;
  bool given = false;
  if (ctx.opset() < 13) {
    if (auto s = ctx.attr_ints("split"); s && !s->empty()) {
      sizes = s;
      given = true;
    }
    if (ctx.opset() < 2 && ctx.has_input(1)) {
      sizes = ctx.input_ints(1);
      given = true;
    }
  } else if (ctx.has_input(1)) {
    sizes = ctx.input_ints(1);
    given = true;
  }
  const Dim& d = (*x)[axis];
  if (!given) {
    if (d.is_fixed()) {
      std::vector<int64_t> equal;
      const int64_t parts = static_cast<int64_t>(n);
      const int64_t chunk = ctx.opset() >= 18 ? d.value / parts + (d.value % parts != 0) : d.value / parts;
      int64_t left = d.value;
      for (size_t j = 0; j < n; ++j) {
        const int64_t take = j + 1 == n && ctx.opset() >= 18 ? left : std::min(chunk, left);
        equal.push_back(take);
        left -= take;
      }
      sizes = equal;
    }
  }
  for (size_t j = 0; j < n; ++j) {
    Dims out = *x;
    out[axis] = sizes && j < sizes->size() ? fixed_dim((*sizes)[j]) : unknown_dim();
    ctx.set_output(j, out);
  }
  if (sizes && d.is_fixed() && given) {
    int64_t total = 0;
    for (int64_t s : *sizes) total += s;
    if (sizes->size() == n && total != d.value)
      return ctx.error("split sizes add up to ", total, ", but axis ", axis, " of ", dims_string(*x), " has ", d.value);
  }
  return Status::ok();
}

Status expand(InferContext& ctx) {
  const ShapeValue* target = ctx.input_value(1);
  const Dims* x = ctx.input_shape(0);
  if (!target) {
    if (std::optional<size_t> rank = target_rank(ctx.input_shape(1)); rank && x)
      ctx.set_output(0, Dims(std::max(x->size(), *rank)));
    return Status::ok();
  }
  Dims t;
  for (const ValueElem& e : target->elems) t.push_back(dim_of(e));
  if (!x) return Status::ok();
  TS_ASSIGN_OR_RETURN(Dims out, broadcast_dims(ctx, *x, t));
  ctx.set_output(0, out);
  return Status::ok();
}

Status tile(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  auto repeats = ctx.input_ints(1);
  if (!repeats) {
    ctx.set_output(0, Dims(x->size()));
    return Status::ok();
  }
  if (repeats->size() != x->size()) return ctx.error("repeats has ", repeats->size(), " entries for an input of rank ", x->size());
  Dims out(x->size());
  for (size_t k = 0; k < x->size(); ++k) {
    if (!(*x)[k].is_fixed()) {
      out[k] = (*repeats)[k] == 1 ? (*x)[k] : unknown_dim();
      continue;
    }
    // A product past int64 (crafted dims or repeats) is unknown here, not wrapped, as in
    // product_dim: the run's checked_element_count then refuses the tensor with a clear error.
    auto tiled = checked_multiply((*x)[k].value, (*repeats)[k]);
    out[k] = tiled.is_ok() ? fixed_dim(*tiled) : unknown_dim();
  }
  ctx.set_output(0, out);
  return Status::ok();
}

Status shape(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) {
    ctx.set_output(0, Dims(1), DataType::int64);
    return Status::ok();
  }
  const int64_t rank = static_cast<int64_t>(x->size());
  int64_t start = ctx.attr_int("start", 0), end = ctx.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  ShapeValue v;
  for (int64_t k = start; k < end; ++k) v.elems.push_back(elem_of((*x)[k]));
  ctx.set_output(0, Dims{fixed_dim(static_cast<int64_t>(v.elems.size()))}, DataType::int64);
  ctx.set_output_value(0, std::move(v));
  return Status::ok();
}

Status size(InferContext& ctx) {
  ctx.set_output(0, Dims{}, DataType::int64);
  if (const Dims* x = ctx.input_shape(0)) {
    Dim n = product_dim(*x, 0, x->size());
    ShapeValue v;
    v.scalar = true;
    v.elems.push_back(elem_of(n));
    ctx.set_output_value(0, v);
  }
  return Status::ok();
}

Status constant(InferContext& ctx) {
  for (const auto& [name, a] : ctx.node().attributes) {
    switch (a.type) {
      case Attribute::Type::tensor_: ctx.set_output(0, fixed_dims(a.t.shape()), a.t.dtype()); break;
      case Attribute::Type::float_: ctx.set_output(0, Dims{}, DataType::float32); break;
      case Attribute::Type::int_: {
        ctx.set_output(0, Dims{}, DataType::int64);
        ctx.set_output_value(0, ShapeValue{{known_elem(a.i)}, true});
        break;
      }
      case Attribute::Type::string_: ctx.set_output(0, Dims{}, DataType::string); break;
      case Attribute::Type::floats_: ctx.set_output(0, fixed_dims({static_cast<int64_t>(a.floats.size())}), DataType::float32); break;
      case Attribute::Type::ints_: {
        ctx.set_output(0, fixed_dims({static_cast<int64_t>(a.ints.size())}), DataType::int64);
        ShapeValue v;
        for (int64_t i : a.ints) v.elems.push_back(known_elem(i));
        ctx.set_output_value(0, v);
        break;
      }
      case Attribute::Type::strings_: ctx.set_output(0, fixed_dims({static_cast<int64_t>(a.strings.size())}), DataType::string); break;
      default: break;  // sparse_value: dense shape from the loader's tensor
    }
  }
  return Status::ok();
}

Status constant_of_shape(InferContext& ctx) {
  DataType dtype = DataType::float32;
  if (const Attribute* a = ctx.node().attribute("value"); a && a->type == Attribute::Type::tensor_) dtype = a->t.dtype();
  if (const ShapeValue* v = ctx.input_value(0)) {
    Dims out;
    for (const ValueElem& e : v->elems) out.push_back(dim_of(e));
    ctx.set_output(0, out, dtype);
    // A small integer fill is a shape value too (exporters build Expand targets from it).
    const Attribute* a = ctx.node().attribute("value");
    auto n = ctx.input_ints(0);
    if (n && n->size() == 1 && (*n)[0] <= 64 && (*n)[0] >= 0 && a && a->t.size() == 1 &&
        (a->t.dtype() == DataType::int64 || a->t.dtype() == DataType::int32)) {
      const int64_t fill = a->t.dtype() == DataType::int64 ? a->t.data<int64_t>()[0] : a->t.data<int32_t>()[0];
      ctx.set_output_value(0, ShapeValue{std::vector<ValueElem>(static_cast<size_t>((*n)[0]), known_elem(fill)), false});
    }
  } else if (std::optional<size_t> rank = target_rank(ctx.input_shape(0))) {
    ctx.set_output(0, Dims(*rank), dtype);
  } else {
    ctx.set_output(0, std::nullopt, dtype);
  }
  return Status::ok();
}

Status range(InferContext& ctx) {
  auto start = ctx.input_doubles(0), limit = ctx.input_doubles(1), delta = ctx.input_doubles(2);
  if (start && limit && delta && start->size() == 1 && limit->size() == 1 && delta->size() == 1 && (*delta)[0] != 0) {
    const double n = std::ceil(((*limit)[0] - (*start)[0]) / (*delta)[0]);
    ctx.set_output(0, Dims{fixed_dim(std::max<int64_t>(0, static_cast<int64_t>(n)))});
  } else {
    ctx.set_output(0, Dims(1));
  }
  return Status::ok();
}

Status nonzero(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  ctx.set_output(0, Dims{x ? fixed_dim(static_cast<int64_t>(x->size())) : unknown_dim(), unknown_dim()}, DataType::int64);
  return Status::ok();
}

Status one_hot(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  const int64_t rank = static_cast<int64_t>(x->size()) + 1;
  TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(ctx.attr_int("axis", -1), rank));
  Dim depth;
  if (auto d = ctx.input_doubles(1); d && d->size() == 1) depth = fixed_dim(static_cast<int64_t>((*d)[0]));
  Dims out = *x;
  out.insert(out.begin() + axis, depth);
  ctx.set_output(0, out, ctx.input_dtype(2));
  return Status::ok();
}

Status quantize(InferContext& ctx) {
  DataType dtype = ctx.input_dtype(2);
  if (!ctx.has_input(2)) {
    const int64_t attr = ctx.attr_int("output_dtype", 0);
    dtype = attr ? static_cast<DataType>(attr) : DataType::uint8;
  }
  ctx.set_output(0, shape_of(ctx, 0), dtype);
  return Status::ok();
}

Status dequantize(InferContext& ctx) {  // the scale's type, or output_dtype when given
  const int64_t attr = ctx.attr_int("output_dtype", 0);
  ctx.set_output(0, shape_of(ctx, 0), attr ? static_cast<DataType>(attr) : ctx.input_dtype(1));
  return Status::ok();
}

Status dynamic_quantize(InferContext& ctx) {
  ctx.set_output(0, shape_of(ctx, 0), DataType::uint8);
  ctx.set_output(1, Dims{}, DataType::float32);
  ctx.set_output(2, Dims{}, DataType::uint8);
  return Status::ok();
}

}  // namespace

std::vector<InferRule> shape_op_infer_rules() {
  return {
      {"", "Reshape", 1, 4, reshape1},
      {"", "Reshape", 5, kAnyOpset, reshape},
      {"", "Flatten", 1, kAnyOpset, flatten},
      {"", "Transpose", 1, kAnyOpset, transpose},
      {"", "Squeeze", 1, kAnyOpset, squeeze},
      {"", "Unsqueeze", 1, kAnyOpset, unsqueeze},
      {"", "Concat", 1, kAnyOpset, concat},
      {"", "Split", 1, kAnyOpset, split},
      {"", "Expand", 8, kAnyOpset, expand},
      {"", "Tile", 6, kAnyOpset, tile},
      {"", "Shape", 1, kAnyOpset, shape},
      {"", "Size", 1, kAnyOpset, size},
      {"", "Constant", 1, kAnyOpset, constant},
      {"", "ConstantOfShape", 9, kAnyOpset, constant_of_shape},
      {"", "Range", 11, kAnyOpset, range},
      {"", "NonZero", 9, kAnyOpset, nonzero},
      {"", "OneHot", 9, kAnyOpset, one_hot},
      {"", "QuantizeLinear", 10, kAnyOpset, quantize},
      {"", "DequantizeLinear", 10, kAnyOpset, dequantize},
      {"", "DynamicQuantizeLinear", 11, kAnyOpset, dynamic_quantize},
  };
}

}  // namespace tessera
