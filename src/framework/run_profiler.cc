#include "framework/run_profiler.h"

#include <algorithm>

namespace tessera {

namespace {

// [[1,3,224,224],null,"seq(tensor(float))"]: a tensor's dims, null where the value is omitted,
// the type of a sequence, map or optional.
std::string shapes_json(const std::vector<const Value*>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    const Value* v = values[i];
    if (!v) out += "null";
    else if (v->is_tensor()) out += shape_to_string(v->tensor().shape());
    else out += json_quote(value_type_string(*v));
  }
  return out + "]";
}

}  // namespace

RunProfiler::RunProfiler(Profiler& profiler, StepObserver* inner)
    : profiler_(profiler), inner_(inner), thread_(Profiler::thread_id()), run_start_(Profiler::Clock::now()) {}

RunProfiler::~RunProfiler() {
  events_.push_back({"run", "session", run_start_, Profiler::Clock::now(), thread_,
                     JsonArgs().add("nodes", static_cast<int64_t>(events_.size())).take()});
  profiler_.add(std::move(events_));
}

void RunProfiler::before_step(const Node& node) {
  if (inner_) inner_->before_step(node);
  in_flight_.emplace_back(&node, Profiler::Clock::now());  // last: the inner observer's time is not the node's
}

void RunProfiler::after_step(const Node& node, const std::string& provider, const std::vector<const Value*>& inputs,
                             const std::vector<const Value*>& outputs) {
  const auto end = Profiler::Clock::now();
  auto begun = std::find_if(in_flight_.begin(), in_flight_.end(), [&](const auto& step) { return step.first == &node; });
  const auto start = begun == in_flight_.end() ? end : begun->second;
  if (begun != in_flight_.end()) in_flight_.erase(begun);
  const std::string op_type = node.qualified_op_type();
  events_.push_back({node.name.empty() ? op_type : node.name, "node", start, end, Profiler::thread_id(),
                     JsonArgs()
                         .add("op_type", op_type)
                         .add("ep", provider)
                         .add_json("input_shapes", shapes_json(inputs))
                         .add_json("output_shapes", shapes_json(outputs))
                         .take()});
  if (inner_) inner_->after_step(node, provider, inputs, outputs);
}

}  // namespace tessera
