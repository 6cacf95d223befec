// The public Session: the framework's SessionState with the built-in EPs.
#include "tessera/session.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "core/tracing.h"
#include "framework/plugin_ep.h"
#include "framework/session.h"
#include "model/model_loader.h"
#include "model/model_writer.h"
#include "providers/cpu/cpu_provider.h"
#include "tessera/model_metadata.h"
#include "training/gradient_op.h"

namespace tessera {

struct Session::Impl {
  std::unique_ptr<SessionState> state;
  ModelMetadata metadata;
};

namespace {

// The EPs of SessionOptions::providers in priority order, the CPU EP last when not listed.
Result<std::vector<std::unique_ptr<ExecutionProvider>>> make_providers(const std::vector<ProviderChoice>& choices, int threads) {
  std::vector<std::unique_ptr<ExecutionProvider>> providers;
  bool cpu = false;
  for (const ProviderChoice& choice : choices) {
    std::string lower = choice.name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto& p : providers)
      if (p->name() == choice.name || (lower == "cpu" && cpu))
        return invalid_argument("execution provider '", choice.name, "' is listed twice");
    if (choice.library.empty() && lower == "cpu") {
      providers.push_back(std::make_unique<CpuExecutionProvider>());
      cpu = true;
    } else {  // a plugin: from its library, or found by its name (libtessera_ep_NAME.so)
      TS_ASSIGN_OR_RETURN(auto plugin, load_plugin_ep(choice.name, choice.library, threads));
      providers.push_back(std::move(plugin));
    }
  }
  if (!cpu) providers.push_back(std::make_unique<CpuExecutionProvider>());
  return providers;
}

// `load(metadata)` reads the model from `source` (a path, "<bytes>") and fills `metadata`; it is
// timed as the session's first phase when profiling.
template <class Load>
Result<std::unique_ptr<Session::Impl>> build(const std::string& source, const Load& load, const SessionOptions& options) {
  auto profiler = options.profile_path.empty() ? nullptr : std::make_unique<Profiler>();
  const Tracing tracing{Logger(options.log_severity), profiler.get(), "model '" + source + "'"};
  std::optional<PhaseTimer> phase(std::in_place, &tracing, "session", "model_load");
  ModelMetadata metadata;
  Result<Model> model = load(&metadata);
  phase.reset();
  if (!model.is_ok()) return model.status();
  // Gradient nodes (ai.onnx.preview.training) become backward nodes before the session sees them.
  TS_RETURN_IF_ERROR(expand_gradient_ops(*model));
  TS_ASSIGN_OR_RETURN(auto providers, make_providers(options.providers, options.intra_op_threads));
  TS_ASSIGN_OR_RETURN(auto state,
                      SessionState::create(std::move(model).value(), std::move(providers), options, std::move(profiler)));
  // The model the session runs (functions inlined, graph optimized at options.optimization_level)
  // is saved here rather than in the framework: only src/model sees protobuf.
  if (!options.optimized_model_path.empty()) TS_RETURN_IF_ERROR(save_model(state->model(), options.optimized_model_path));
  auto impl = std::make_unique<Session::Impl>();
  impl->state = std::move(state);
  impl->metadata = std::move(metadata);
  return impl;
}

}  // namespace

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::load(const std::string& path, const SessionOptions& options) {
  auto load = [&](ModelMetadata* metadata) { return load_model_file(path, options.limits, metadata); };
  TS_ASSIGN_OR_RETURN(auto impl, build(path, load, options));
  return Session(std::move(impl));
}

Result<Session> Session::load_from_bytes(const void* data, size_t size, const SessionOptions& options) {
  const std::string source = "<bytes>";  // what errors and log lines call the model
  auto load = [&](ModelMetadata* metadata) { return load_model_bytes(data, size, "", source, options.limits, metadata); };
  TS_ASSIGN_OR_RETURN(auto impl, build(source, load, options));
  return Session(std::move(impl));
}

Result<OptimizationLevel> parse_optimization_level(const std::string& name) {
  for (OptimizationLevel level : {OptimizationLevel::disabled, OptimizationLevel::basic, OptimizationLevel::extended,
                                  OptimizationLevel::all})
    if (name == optimization_level_name(level)) return level;
  return invalid_argument("unknown optimization level '", name, "' (expected disabled, basic, extended or all)");
}

const char* optimization_level_name(OptimizationLevel level) {
  switch (level) {
    case OptimizationLevel::disabled: return "disabled";
    case OptimizationLevel::basic: return "basic";
    case OptimizationLevel::extended: return "extended";
    case OptimizationLevel::all: return "all";
  }
  return "unknown";
}

const std::vector<IoInfo>& Session::inputs() const { return impl_->state->inputs(); }
const std::vector<IoInfo>& Session::outputs() const { return impl_->state->outputs(); }

std::vector<OptimizationPass> Session::optimization_report() const {
  std::vector<OptimizationPass> passes;
  for (const PassReport& r : impl_->state->optimizer_report()) passes.push_back({r.name, r.rewrites});
  return passes;
}

NodeCounts Session::node_counts() const {
  const Graph& graph = impl_->state->model().graph;
  return NodeCounts{graph.nodes.size(), count_ops(graph)};
}

Placement Session::placement() const {
  const Graph& graph = impl_->state->model().graph;
  const Partition& placed = impl_->state->placement();
  auto node_name = [&](size_t i) {
    const Node& node = graph.nodes[i];
    return node.name.empty() ? node.qualified_op_type() + "#" + std::to_string(i) : node.name;
  };
  Placement placement;
  for (const ExecutionProvider* p : placed.assigned) {
    auto it = std::find_if(placement.nodes_per_provider.begin(), placement.nodes_per_provider.end(),
                           [&](const Placement::ProviderNodes& e) { return e.provider == p->name(); });
    if (it == placement.nodes_per_provider.end())
      placement.nodes_per_provider.push_back({p->name(), 1});
    else
      ++it->nodes;
  }
  for (const PlacedSubgraph& sub : placed.subgraphs) {
    Placement::Subgraph& out = placement.subgraphs.emplace_back();
    out.provider = sub.provider->name();
    for (size_t i : sub.nodes) out.nodes.push_back(node_name(i));
  }
  for (const PlannedCopy& copy : placed.copies) {
    using Bytes = Placement::Copy::Bytes;
    const int64_t measured = copy.measured->load(std::memory_order_relaxed);
    const auto [bytes, from] = copy.bytes >= 0 ? std::pair{copy.bytes, Bytes::inferred}
                               : measured >= 0 ? std::pair{measured, Bytes::measured}
                                               : std::pair{int64_t{-1}, Bytes::unknown};
    placement.copies.push_back({copy.value, memory_location_name(copy.from), memory_location_name(copy.to), copy.constant, bytes, from});
  }
  for (const Fallback& f : placed.fallbacks) placement.fallbacks.push_back({node_name(f.node), f.provider, f.reason});
  return placement;
}

Result<std::vector<Value>> Session::run(const Feeds& feeds, const std::vector<std::string>& output_names,
                                        const RunOptions& options) const {
  return impl_->state->run(feeds, output_names, nullptr, options);
}

Result<std::string> Session::end_profiling() const { return impl_->state->end_profiling(); }

const ModelMetadata& Session::metadata() const { return impl_->metadata; }

}  // namespace tessera
