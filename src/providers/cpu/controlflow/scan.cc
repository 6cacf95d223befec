// Scan: runs the body once per element along the scan axis of the scan inputs, carrying state
// variables and stacking per-iteration scan outputs. Opset 8 has a batch axis 0 (on states and
// scan inputs), scan axis 1 and optional sequence_lens; opset 9+ has no batch axis but per-input
// axes and directions.
#include <algorithm>
#include <memory>

#include "providers/cpu/controlflow/scan.h"

#include "core/tensor_alloc.h"
#include "providers/cpu/controlflow/subgraph_util.h"

namespace tessera {
namespace {

using namespace controlflow;

// Attribute list of `count` entries, or `count` zeros when absent.
Result<std::vector<int64_t>> per_item_attr(const KernelInfo& info, const char* name, size_t count) {
  if (!info.has_attr(name)) return std::vector<int64_t>(count, 0);
  std::vector<int64_t> values = info.attr_ints(name);
  if (values.size() != count) return info.error("attribute '", name, "' has ", values.size(), " entries, expected ", count);
  return values;
}

Status check_directions(const KernelInfo& info, const char* name, const std::vector<int64_t>& dirs) {
  for (int64_t d : dirs)
    if (d != 0 && d != 1) return info.error("attribute '", name, "' holds ", d, ", expected 0 (forward) or 1 (reverse)");
  return Status::ok();
}

// Checks one per-iteration scan output: a tensor, and (after the first iteration) of the type and
// shape the first iteration gave.
Status check_scan_element(const KernelContext& ctx, const Graph& body, size_t index, const Value& v, const Tensor* first,
                          int64_t iteration) {
  if (!v.is_tensor())
    return ctx.error("scan output '", body.outputs[index].name, "' is ", value_type_string(v), "; scan outputs must be tensors");
  if (first && !same_type_and_shape(*first, v.tensor()))
    return ctx.error("scan output '", body.outputs[index].name, "' is ", dtype_name(v.tensor().dtype()),
                     shape_to_string(v.tensor().shape()), " in iteration ", iteration, " but ", dtype_name(first->dtype()),
                     shape_to_string(first->shape()), " in the first one");
  return Status::ok();
}

class ScanKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    std::unique_ptr<ScanKernel> k(new ScanKernel());
    k->body_ = info.subgraph("body");
    TS_ASSIGN_OR_RETURN(int64_t m, info.required_int("num_scan_inputs"));
    if (m < 1 || static_cast<size_t>(m) > info.input_count())
      return info.error("num_scan_inputs is ", m, " but the node has ", info.input_count(), " inputs");
    k->scan_inputs_ = static_cast<size_t>(m);
    k->states_ = info.input_count() - k->scan_inputs_;
    if (!k->body_) return info.error("graph attribute 'body' is missing");
    size_t body_outputs = k->body_->graph().outputs.size();
    if (body_outputs < k->states_)
      return info.error("'body' has ", body_outputs, " outputs, fewer than the ", k->states_, " state variables");
    TS_RETURN_IF_ERROR(check_body_arity(info, k->body_, "body", info.input_count(), body_outputs));
    k->scan_outputs_ = body_outputs - k->states_;
    TS_ASSIGN_OR_RETURN(k->input_axes_, per_item_attr(info, "scan_input_axes", k->scan_inputs_));
    TS_ASSIGN_OR_RETURN(k->input_dirs_, per_item_attr(info, "scan_input_directions", k->scan_inputs_));
    TS_ASSIGN_OR_RETURN(k->output_axes_, per_item_attr(info, "scan_output_axes", k->scan_outputs_));
    TS_ASSIGN_OR_RETURN(k->output_dirs_, per_item_attr(info, "scan_output_directions", k->scan_outputs_));
    TS_RETURN_IF_ERROR(check_directions(info, "scan_input_directions", k->input_dirs_));
    TS_RETURN_IF_ERROR(check_directions(info, "scan_output_directions", k->output_dirs_));
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Graph& graph = body_->graph();
    int64_t length = -1;
    std::vector<AxisSlicer> slicers(scan_inputs_);
    for (size_t i = 0; i < scan_inputs_; ++i) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, ctx.required_input(states_ + i));
      int64_t rank = static_cast<int64_t>(t->rank());
      int64_t axis = input_axes_[i] < 0 ? input_axes_[i] + rank : input_axes_[i];
      if (axis < 0 || axis >= rank)
        return ctx.error("scan_input_axes[", i, "] = ", input_axes_[i], " is out of range for scan input of shape ",
                         shape_to_string(t->shape()));
      int64_t len = t->dim(static_cast<size_t>(axis));
      if (length >= 0 && len != length)
        return ctx.error("scan input ", i, " has sequence length ", len, " but scan input 0 has ", length);
      length = len;
      slicers[i] = AxisSlicer(move_axis_to_front(*t, axis, ctx.thread_pool()));
    }

    std::vector<Value> inputs(states_ + scan_inputs_);
    for (size_t i = 0; i < states_; ++i)
      if (const Value* v = ctx.input_value(i)) inputs[i] = *v;

    std::vector<Tensor> outs(scan_outputs_), firsts(scan_outputs_);
    std::vector<int64_t> axes(scan_outputs_);
    for (int64_t t = 0; t < length; ++t) {
      for (size_t i = 0; i < scan_inputs_; ++i)
        inputs[states_ + i] = Value(slicers[i].slice(input_dirs_[i] ? length - 1 - t : t));
      TS_ASSIGN_OR_RETURN(std::vector<Value> out, body_->run(ctx, inputs));
      for (size_t i = 0; i < states_; ++i) inputs[i] = std::move(out[i]);
      for (size_t k = 0; k < scan_outputs_; ++k) {
        const Value& v = out[states_ + k];
        TS_RETURN_IF_ERROR(check_scan_element(ctx, graph, states_ + k, v, t == 0 ? nullptr : &firsts[k], t));
        if (t == 0) {
          firsts[k] = v.tensor();
          int64_t rank = static_cast<int64_t>(v.tensor().rank()) + 1;
          axes[k] = output_axes_[k] < 0 ? output_axes_[k] + rank : output_axes_[k];
          if (axes[k] < 0 || axes[k] >= rank)
            return ctx.error("scan_output_axes[", k, "] = ", output_axes_[k], " is out of range for rank ", rank);
          outs[k] = allocate_or_throw(v.tensor().dtype(), insert_dim(v.tensor().shape(), axes[k], length));
        }
        write_along_axis(v.tensor(), outs[k], axes[k], output_dirs_[k] ? length - 1 - t : t, ctx.thread_pool());
      }
    }

    for (size_t i = 0; i < states_ && i < ctx.output_count(); ++i) ctx.set_output(i, std::move(inputs[i]));
    for (size_t k = 0; k < scan_outputs_ && states_ + k < ctx.output_count(); ++k) {
      if (length <= 0) {
        auto empty = empty_scan_output(graph.outputs[states_ + k], {}, 0, output_axes_[k]);
        if (!empty.is_ok()) return ctx.error(empty.status().message());
        outs[k] = std::move(empty).value();
      }
      ctx.set_output(states_ + k, Value(std::move(outs[k])));
    }
    return Status::ok();
  }

 private:
  const SubgraphRunner* body_ = nullptr;
  size_t states_ = 0, scan_inputs_ = 0, scan_outputs_ = 0;
  std::vector<int64_t> input_axes_, input_dirs_, output_axes_, output_dirs_;
};

// Scan-8: inputs (sequence_lens?, states..., scans...); states and scans carry batch axis 0,
// scans their sequence axis 1. Scan outputs are padded with zeros past each batch's length.
class Scan8Kernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    std::unique_ptr<Scan8Kernel> k(new Scan8Kernel());
    k->body_ = info.subgraph("body");
    TS_ASSIGN_OR_RETURN(int64_t m, info.required_int("num_scan_inputs"));
    if (info.input_count() < 1 || m < 1 || static_cast<size_t>(m) > info.input_count() - 1)
      return info.error("num_scan_inputs is ", m, " but the node has ", info.input_count(), " inputs");
    k->scan_inputs_ = static_cast<size_t>(m);
    k->states_ = info.input_count() - 1 - k->scan_inputs_;
    if (!k->body_) return info.error("graph attribute 'body' is missing");
    size_t body_outputs = k->body_->graph().outputs.size();
    if (body_outputs < k->states_)
      return info.error("'body' has ", body_outputs, " outputs, fewer than the ", k->states_, " state variables");
    TS_RETURN_IF_ERROR(check_body_arity(info, k->body_, "body", k->states_ + k->scan_inputs_, body_outputs));
    k->scan_outputs_ = body_outputs - k->states_;
    TS_ASSIGN_OR_RETURN(k->dirs_, per_item_attr(info, "directions", k->scan_inputs_));
    TS_RETURN_IF_ERROR(check_directions(info, "directions", k->dirs_));
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Graph& graph = body_->graph();
    const size_t first_scan = 1 + states_;
    int64_t batch = -1, max_len = -1;
    std::vector<AxisSlicer> scans(scan_inputs_);
    for (size_t i = 0; i < scan_inputs_; ++i) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, ctx.required_input(first_scan + i));
      if (t->rank() < 2) return ctx.error("scan input ", i, " has shape ", shape_to_string(t->shape()), ", needs [batch, sequence, ...]");
      if (batch >= 0 && (t->dim(0) != batch || t->dim(1) != max_len))
        return ctx.error("scan input ", i, " has shape ", shape_to_string(t->shape()), " but scan input 0 has batch ", batch,
                         " and sequence length ", max_len);
      batch = t->dim(0);
      max_len = t->dim(1);
      scans[i] = AxisSlicer(*t);
    }
    std::vector<int64_t> lens(static_cast<size_t>(batch), max_len);
    if (const Tensor* sl = ctx.input(0)) {
      if (sl->dtype() != DataType::int64 || sl->size() != batch)
        return ctx.error("sequence_lens must be int64 of shape [", batch, "], got ", dtype_name(sl->dtype()), shape_to_string(sl->shape()));
      for (int64_t b = 0; b < batch; ++b) {
        lens[b] = sl->data<int64_t>()[b];
        if (lens[b] < 0 || lens[b] > max_len)
          return ctx.error("sequence_lens[", b, "] = ", lens[b], " is outside [0, ", max_len, "]");
      }
    }
    std::vector<AxisSlicer> init(states_);
    for (size_t i = 0; i < states_; ++i) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, ctx.required_input(1 + i));
      if (t->rank() < 1 || t->dim(0) != batch)
        return ctx.error("initial state ", i, " has shape ", shape_to_string(t->shape()), ", expected batch dim ", batch);
      init[i] = AxisSlicer(*t);
    }

    std::vector<Tensor> state_out(states_), scan_out(scan_outputs_), firsts(scan_outputs_);
    std::vector<Value> inputs(states_ + scan_inputs_);
    std::vector<AxisSlicer> rows(scan_inputs_);
    for (int64_t b = 0; b < batch; ++b) {
      for (size_t i = 0; i < states_; ++i) inputs[i] = Value(init[i].slice(b));
      for (size_t i = 0; i < scan_inputs_; ++i) rows[i] = AxisSlicer(scans[i].slice(b));
      const int64_t n = lens[b];
      for (int64_t t = 0; t < n; ++t) {
        for (size_t i = 0; i < scan_inputs_; ++i) inputs[states_ + i] = Value(rows[i].slice(dirs_[i] ? n - 1 - t : t));
        TS_ASSIGN_OR_RETURN(std::vector<Value> out, body_->run(ctx, inputs));
        for (size_t i = 0; i < states_; ++i) inputs[i] = std::move(out[i]);
        for (size_t k = 0; k < scan_outputs_; ++k) {
          const Value& v = out[states_ + k];
          TS_RETURN_IF_ERROR(check_scan_element(ctx, graph, states_ + k, v, firsts[k].defined() ? &firsts[k] : nullptr, t));
          Tensor& dst = scan_out[k];
          if (!dst.defined()) {
            firsts[k] = v.tensor();
            dst = allocate_or_throw(v.tensor().dtype(), insert_dim(insert_dim(v.tensor().shape(), 0, max_len), 0, batch));
          }
          write_block(v.tensor(), dst, b * max_len + t);
        }
      }
      for (size_t i = 0; i < states_; ++i) {
        if (!inputs[i].is_tensor()) return ctx.error("state variable ", i, " is not a tensor");
        const Tensor& s = inputs[i].tensor();
        if (!state_out[i].defined()) state_out[i] = allocate_or_throw(s.dtype(), insert_dim(s.shape(), 0, batch));
        if (s.dtype() != state_out[i].dtype() || Shape(state_out[i].shape().begin() + 1, state_out[i].shape().end()) != s.shape())
          return ctx.error("state variable ", i, " of batch ", b, " is ", dtype_name(s.dtype()), shape_to_string(s.shape()),
                           " but ", shape_to_string(state_out[i].shape()), " overall");
        write_block(s, state_out[i], b);
      }
    }

    for (size_t i = 0; i < states_ && i < ctx.output_count(); ++i) {
      if (!state_out[i].defined()) state_out[i] = *ctx.input(1 + i);  // empty batch: [0, ...] as given
      ctx.set_output(i, Value(std::move(state_out[i])));
    }
    for (size_t k = 0; k < scan_outputs_ && states_ + k < ctx.output_count(); ++k) {
      if (!scan_out[k].defined()) {
        auto empty = empty_scan_output(graph.outputs[states_ + k], {batch}, max_len, 0);
        if (!empty.is_ok()) return ctx.error(empty.status().message());
        scan_out[k] = std::move(empty).value();
      }
      ctx.set_output(states_ + k, Value(std::move(scan_out[k])));
    }
    return Status::ok();
  }

 private:
  const SubgraphRunner* body_ = nullptr;
  size_t states_ = 0, scan_inputs_ = 0, scan_outputs_ = 0;
  std::vector<int64_t> dirs_;
};

}  // namespace

void register_scan(KernelRegistry& r) {
  r.add({"", "Scan", 8, 8, Scan8Kernel::create});
  r.add({"", "Scan", 9, kLatestOnnxOpset, ScanKernel::create});
}

}  // namespace tessera
