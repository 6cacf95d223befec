// The public Session: the framework's SessionState with the built-in EPs.
#include "tessera/session.h"

#include <optional>

#include "core/tracing.h"
#include "framework/session.h"
#include "model/model_loader.h"
#include "model/model_writer.h"
#include "providers/cpu/cpu_provider.h"

namespace tessera {

struct Session::Impl {
  std::unique_ptr<SessionState> state;
};

namespace {

// `load` reads the model from `source` (a path, "<bytes>"); it is timed as the session's first
// phase when profiling.
template <class Load>
Result<std::unique_ptr<Session::Impl>> build(const std::string& source, const Load& load, const SessionOptions& options) {
  auto profiler = options.profile_path.empty() ? nullptr : std::make_unique<Profiler>();
  const Tracing tracing{Logger(options.log_severity), profiler.get(), "model '" + source + "'"};
  std::optional<PhaseTimer> phase(std::in_place, &tracing, "session", "model_load");
  Result<Model> model = load();
  phase.reset();
  if (!model.is_ok()) return model.status();
  std::vector<std::unique_ptr<ExecutionProvider>> providers;
  providers.push_back(std::make_unique<CpuExecutionProvider>());
  TS_ASSIGN_OR_RETURN(auto state,
                      SessionState::create(std::move(model).value(), std::move(providers), options, std::move(profiler)));
  // The model the session runs (functions inlined, graph optimized at options.optimization_level)
  // is saved here rather than in the framework: only src/model sees protobuf.
  if (!options.optimized_model_path.empty()) TS_RETURN_IF_ERROR(save_model(state->model(), options.optimized_model_path));
  auto impl = std::make_unique<Session::Impl>();
  impl->state = std::move(state);
  return impl;
}

}  // namespace

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::load(const std::string& path, const SessionOptions& options) {
  TS_ASSIGN_OR_RETURN(auto impl, build(path, [&] { return load_model_file(path, options.limits); }, options));
  return Session(std::move(impl));
}

Result<Session> Session::load_from_bytes(const void* data, size_t size, const SessionOptions& options) {
  const std::string source = "<bytes>";  // what errors and log lines call the model
  TS_ASSIGN_OR_RETURN(auto impl, build(source, [&] { return load_model_bytes(data, size, "", source, options.limits); }, options));
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

Result<std::vector<Value>> Session::run(const Feeds& feeds, const std::vector<std::string>& output_names,
                                        const RunOptions& options) const {
  return impl_->state->run(feeds, output_names, nullptr, options);
}

Result<std::string> Session::end_profiling() const { return impl_->state->end_profiling(); }

}  // namespace tessera
