#include "graph/infer/infer_context.h"

#include <map>
#include <utility>

#include "graph/infer/infer_rules.h"

namespace tessera {

Dims fixed_dims(const std::vector<int64_t>& values) {
  Dims dims;
  dims.reserve(values.size());
  for (int64_t v : values) dims.push_back(v >= 0 ? fixed_dim(v) : unknown_dim());
  return dims;
}

std::string dims_string(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += dims[i].is_fixed() ? std::to_string(dims[i].value) : (dims[i].param.empty() ? "?" : dims[i].param);
  }
  return s + "]";
}

Dim unify_dim(const Dim& a, const Dim& b) {
  if (a.is_fixed()) return a;
  if (b.is_fixed()) return b;
  return a.param.empty() ? b : a;
}

bool same_dim(const Dim& a, const Dim& b) {
  if (a.is_fixed() || b.is_fixed()) return a.is_fixed() && b.is_fixed() && a.value == b.value;
  return !a.param.empty() && a.param == b.param;
}

Dim offset_dim(const Dim& d, int64_t delta) {
  int64_t sum = 0;
  if (!d.is_fixed() || __builtin_add_overflow(d.value, delta, &sum) || sum < 0) return unknown_dim();
  return fixed_dim(sum);
}

Dim sum_dim(const Dim& a, const Dim& b) { return b.is_fixed() ? offset_dim(a, b.value) : unknown_dim(); }

Dim scaled_dim(const Dim& d, int64_t k) {
  int64_t product = 0;
  if (!d.is_fixed() || __builtin_mul_overflow(d.value, k, &product) || product < 0) return unknown_dim();
  return fixed_dim(product);
}

std::optional<size_t> target_rank(const Dims* s) {
  if (!s || s->size() != 1 || !(*s)[0].is_fixed() || (*s)[0].value > kMaxTargetRank) return std::nullopt;
  return static_cast<size_t>((*s)[0].value);
}

Dim product_dim(const Dims& dims, size_t begin, size_t end) {
  int64_t product = 1;
  const Dim* symbol = nullptr;
  for (size_t i = begin; i < end; ++i) {
    if (dims[i].is_fixed()) {
      // A product past int64 (a crafted declared shape) is unknown here, not wrapped: the run's
      // checked_element_count then refuses such a tensor with a clear error.
      auto next = checked_multiply(product, dims[i].value);
      if (!next.is_ok()) {
        for (size_t j = begin; j < end; ++j)
          if (dims[j].is_fixed() && dims[j].value == 0) return fixed_dim(0);
        return unknown_dim();
      }
      product = *next;
    } else if (dims[i].param.empty() || symbol) {
      symbol = nullptr;
      product = -1;
      for (size_t j = begin; j < end; ++j)  // a zero makes the product known anyway
        if (dims[j].is_fixed() && dims[j].value == 0) return fixed_dim(0);
      return unknown_dim();
    } else {
      symbol = &dims[i];
    }
  }
  if (!symbol) return fixed_dim(product);
  if (product == 1) return *symbol;
  return product == 0 ? fixed_dim(0) : unknown_dim();
}

TypeInfo tensor_type(DataType dtype, std::optional<Dims> shape) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::tensor;
  t.elem_type = dtype;
  t.shape = std::move(shape);
  return t;
}

InferContext::InferContext(const Node& node, int64_t opset, const Model& model, std::vector<const TypeInfo*> input_types,
                           std::vector<const ShapeValue*> input_values, std::vector<const Tensor*> input_constants,
                           const ValueTypes* scope, SubgraphInferFn infer_subgraph)
    : node_(node),
      opset_(opset),
      model_(model),
      input_types_(std::move(input_types)),
      input_values_(std::move(input_values)),
      input_constants_(std::move(input_constants)),
      scope_(scope),
      infer_subgraph_(infer_subgraph),
      outputs_(node.outputs.size()),
      output_values_(node.outputs.size()) {}

DataType InferContext::input_dtype(size_t i) const {
  const TypeInfo* t = input_type(i);
  return t && t->kind == TypeInfo::Kind::tensor ? t->elem_type : DataType::undefined;
}

const Dims* InferContext::input_shape(size_t i) const {
  const TypeInfo* t = input_type(i);
  return t && t->kind == TypeInfo::Kind::tensor && t->shape ? &*t->shape : nullptr;
}

std::optional<std::vector<int64_t>> InferContext::input_ints(size_t i) const {
  const ShapeValue* v = input_value(i);
  if (!v) return std::nullopt;
  std::vector<int64_t> out;
  for (const ValueElem& e : v->elems) {
    if (!e.known) return std::nullopt;
    out.push_back(e.value);
  }
  return out;
}

std::optional<std::vector<double>> InferContext::input_doubles(size_t i) const {
  const Tensor* t = input_constant(i);
  if (!t) {
    auto ints = input_ints(i);
    if (!ints) return std::nullopt;
    return std::vector<double>(ints->begin(), ints->end());
  }
  if (t->dtype() == DataType::string || !t->location().is_host()) return std::nullopt;
  std::vector<double> out(static_cast<size_t>(t->size()));
  bool ok = true;
  switch (t->dtype()) {
    case DataType::float32:
      for (int64_t k = 0; k < t->size(); ++k) out[k] = t->data<float>()[k];
      break;
    case DataType::float64:
      for (int64_t k = 0; k < t->size(); ++k) out[k] = t->data<double>()[k];
      break;
    case DataType::int64:
      for (int64_t k = 0; k < t->size(); ++k) out[k] = static_cast<double>(t->data<int64_t>()[k]);
      break;
    case DataType::int32:
      for (int64_t k = 0; k < t->size(); ++k) out[k] = t->data<int32_t>()[k];
      break;
    default: ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

int64_t InferContext::attr_int(const std::string& name, int64_t fallback) const {
  const Attribute* a = node_.attribute(name);
  return a && a->type == Attribute::Type::int_ ? a->i : fallback;
}

float InferContext::attr_float(const std::string& name, float fallback) const {
  const Attribute* a = node_.attribute(name);
  return a && a->type == Attribute::Type::float_ ? a->f : fallback;
}

std::string InferContext::attr_string(const std::string& name, const std::string& fallback) const {
  const Attribute* a = node_.attribute(name);
  return a && a->type == Attribute::Type::string_ ? a->s : fallback;
}

std::optional<std::vector<int64_t>> InferContext::attr_ints(const std::string& name) const {
  const Attribute* a = node_.attribute(name);
  if (!a || a->type != Attribute::Type::ints_) return std::nullopt;
  return a->ints;
}

void InferContext::set_output(size_t i, std::optional<Dims> shape, DataType dtype) {
  if (i >= outputs_.size()) return;
  TypeInfo& t = outputs_[i];
  if (t.kind != TypeInfo::Kind::tensor) {
    t = TypeInfo();
    t.kind = TypeInfo::Kind::tensor;
  }
  if (dtype != DataType::undefined) t.elem_type = dtype;
  t.shape = std::move(shape);
}

Result<ValueTypes> InferContext::infer_subgraph(const Graph& graph, const std::vector<TypeInfo>& input_types) const {
  static const ValueTypes empty;
  return infer_subgraph_(graph, model_, scope_ ? *scope_ : empty, input_types);
}

Result<int64_t> InferContext::axis(int64_t value, int64_t rank, const char* what) const {
  if (value < -rank || value >= rank) return error(what, " ", value, " is out of range for rank ", rank);
  return value < 0 ? value + rank : value;
}

// `a` is the symbolic min(s, n) of a Slice by `b` = s (index_ops.cc).
bool bounded_by(const Dim& a, const Dim& b) {
  return !b.param.empty() && a.param.rfind("min(" + b.param + ",", 0) == 0;
}

Result<Dims> broadcast_dims(const InferContext& ctx, const Dims& a, const Dims& b) {
  const size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (size_t k = 0; k < rank; ++k) {
    const Dim* x = k + a.size() >= rank ? &a[k + a.size() - rank] : nullptr;
    const Dim* y = k + b.size() >= rank ? &b[k + b.size() - rank] : nullptr;
    if (!x || !y) {
      out[k] = x ? *x : *y;
      continue;
    }
    if (x->is_fixed() && y->is_fixed()) {
      if (x->value != y->value && x->value != 1 && y->value != 1)
        return ctx.error("shapes ", dims_string(a), " and ", dims_string(b), " cannot be broadcast");
      out[k] = x->value == 1 ? *y : *x;
    } else if (x->is_fixed()) {
      out[k] = x->value == 1 ? *y : *x;  // the other must be 1 or equal
    } else if (y->is_fixed()) {
      out[k] = y->value == 1 ? *x : *y;
    } else if (same_dim(*x, *y) || bounded_by(*y, *x)) {
      out[k] = *x;  // min(s, n) against s: s in every run that broadcasts
    } else {
      out[k] = bounded_by(*x, *y) ? *y : unknown_dim();
    }
  }
  return out;
}

InferFn find_infer_rule(const std::string& domain, const std::string& op, int64_t opset) {
  static const std::map<std::pair<std::string, std::string>, std::vector<InferRule>> index = [] {
    std::map<std::pair<std::string, std::string>, std::vector<InferRule>> m;
    for (auto* family : {elementwise_infer_rules, math_infer_rules, nn_infer_rules, shape_op_infer_rules, index_infer_rules,
                         control_flow_infer_rules, microsoft_quant_infer_rules, microsoft_infer_rules})
      for (const InferRule& r : family()) m[{r.domain, r.op}].push_back(r);
    return m;
  }();
  auto it = index.find({domain, op});
  if (it == index.end()) return nullptr;
  for (const InferRule& r : it->second)
    if (r.since <= opset && opset <= r.until) return r.fn;
  return nullptr;
}

}  // namespace tessera
