#include "gradient_bindings.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "errors.h"
#include "graph/shape_inference.h"
#include "model/model_loader.h"
#include "model/model_writer.h"
#include "training/backward_fusion.h"
#include "training/forward_fusion.h"
#include "training/gradient_graph.h"
#include "training/trainable_graph.h"

namespace tessera::python {
namespace py = pybind11;

namespace {

struct GradientGraphs {
  std::string forward, backward;        // serialized ModelProtos
  std::vector<std::string> saved;       // forward outputs after the model's own: kept for backward
  std::vector<std::string> y_grads;     // per y: the backward input fed with dL/dy
  std::vector<std::string> x_grads;     // per x: the backward output holding dL/dx
  std::vector<std::string> backward_inputs;
};

bool is_declared(const Graph& graph, const std::string& name) {
  return graph.initializers.count(name) > 0 ||
         std::any_of(graph.inputs.begin(), graph.inputs.end(), [&](const ValueInfo& v) { return v.name == name; });
}

// A model holding `graph` with the opsets and functions of `like`, and FusedGemm's domain when
// fuse_forward_activations put FusedGemm nodes in it.
Result<std::string> serialize_with(const Model& like, Graph graph, bool fused_gemm = false) {
  Model model;
  model.ir_version = like.ir_version;
  model.opset_imports = like.opset_imports;
  if (fused_gemm) model.opset_imports.emplace(kFusedGemmDomain, kFusedGemmVersion);
  model.producer_name = like.producer_name;
  model.source = like.source;
  model.functions = like.functions;
  model.graph = std::move(graph);
  return serialize_model(model);
}

Result<GradientGraphs> build(const std::string& bytes, const std::vector<std::string>& ys, const std::vector<std::string>& xs) {
  TS_ASSIGN_OR_RETURN(Model model, load_model_bytes(bytes.data(), bytes.size(), "", "<gradient model>"));
  Graph& graph = model.graph;
  if (ys.empty()) return invalid_argument("model '", model.source, "': no ys to differentiate");
  std::vector<std::string> fed;  // xs that are initializers: fed like a TrainingSession's parameters
  for (const std::string& x : xs) {
    if (!is_declared(graph, x))
      return invalid_argument("model '", model.source, "': x '", x, "' is neither an input nor an initializer");
    if (graph.initializers.count(x) && !std::any_of(graph.inputs.begin(), graph.inputs.end(),
                                                    [&](const ValueInfo& v) { return v.name == x; }))
      fed.push_back(x);
  }
  // As a TrainingSession prepares its graph: the shape arithmetic exporters write (Shape ->
  // Gather -> Mul -> Slice starts) becomes constants, which builders such as Slice's need.
  Status prepared = feed_and_fold(model, fed);
  if (!prepared.is_ok()) return prepared.with_context("model '" + model.source + "'");
  TS_ASSIGN_OR_RETURN(ValueTypes types, infer_types(graph, model, {}));
  GradientGraphs out;
  // dL/dy comes in as a backward input of y's type.
  for (const std::string& y : ys) {
    auto it = types.find(y);
    if (it == types.end()) return invalid_argument("model '", model.source, "': y '", y, "' is not a value of the graph");
    std::string name = "grad_of/" + y;
    if (types.count(name)) return invalid_argument("model '", model.source, "': the graph already has a value '", name, "'");
    graph.inputs.push_back(ValueInfo{name, it->second});
    out.y_grads.push_back(name);
  }
  GradientRequest request{ys, out.y_grads, xs, "grad"};
  Result<GradientGraph> gradients = append_gradients(graph, model, request);
  if (!gradients.is_ok()) return gradients.status().with_context("model '" + model.source + "'");
  TS_ASSIGN_OR_RETURN(ForwardBackward split, split_forward_backward(graph, model, request, *gradients));
  std::erase_if(split.forward.inputs, [&](const ValueInfo& v) {
    return std::find(out.y_grads.begin(), out.y_grads.end(), v.name) != out.y_grads.end();
  });
  for (const ValueInfo& v : split.backward.inputs) out.backward_inputs.push_back(v.name);
  out.saved = gradients->saved;
  out.x_grads = gradients->x_grads;
  const bool fused = fuse_forward_activations(split.forward, types) > 0;
  // The layers' X, which LinearGrad's types are checked on, are forward values: in `types`.
  fuse_backward_linears(split.backward, types);
  TS_ASSIGN_OR_RETURN(out.forward, serialize_with(model, std::move(split.forward), fused));
  TS_ASSIGN_OR_RETURN(out.backward, serialize_with(model, std::move(split.backward)));
  return out;
}

}  // namespace

void register_gradient_bindings(py::module_& m) {
  m.def(
      "build_gradient_graphs",
      [](const py::bytes& model, const std::vector<std::string>& ys, const std::vector<std::string>& xs) {
        const std::string bytes = model;
        std::optional<Result<GradientGraphs>> built;
        {
          py::gil_scoped_release release;
          built.emplace(build(bytes, ys, xs));
        }
        if (!built->is_ok()) throw_status(built->status());
        GradientGraphs& g = built->value();
        py::dict d;
        d["forward"] = py::bytes(g.forward);
        d["backward"] = py::bytes(g.backward);
        d["saved"] = g.saved;
        d["y_grads"] = g.y_grads;
        d["x_grads"] = g.x_grads;
        d["backward_inputs"] = g.backward_inputs;
        return d;
      },
      py::arg("model"), py::arg("ys"), py::arg("xs"),
      "Splits a serialized ModelProto into forward and backward models for training. `ys`: the outputs "
      "whose gradients flow back; `xs`: the inputs or initializers differentiated. Returns a dict: forward "
      "(bytes: the model's outputs, then the `saved` activations), backward (bytes: inputs "
      "`backward_inputs`, among them the saved activations, the model inputs it reads and `y_grads`, one "
      "dL/dy per y; outputs `x_grads`, one dL/dx per x), saved, y_grads, x_grads, backward_inputs. xs that are "
      "initializers become inputs of both models, fed each run as a TrainingSession feeds its parameters. Raises "
      "tessera.NotImplemented naming the op and node when an op on the path has no gradient builder.");
}

}  // namespace tessera::python
