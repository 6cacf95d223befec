#include "tools/session_flags.h"

#include <CLI/CLI.hpp>

#include "tools/cli_errors.h"
#include "tools/synthetic_inputs.h"

namespace tessera::cli {

void add_limit_flags(CLI::App& command, LimitFlags& flags) {
  command.add_option("--max-tensor-bytes", flags.max_tensor_bytes,
                     "refuse any one tensor (weight or intermediate) larger than this (default 16 GiB)");
  command.add_option("--max-nodes", flags.max_nodes, "refuse models with more nodes once functions are inlined (default 1000000)");
  command.add_option("--max-run-bytes", flags.max_run_arena_bytes,
                     "fail a run that holds more tensor bytes than this at once (default 64 GiB)");
  command.add_flag("--deterministic", flags.deterministic,
                   "bit-identical outputs whatever the thread count and batch position (docs/security.md)");
  command.add_flag("--strict-placement", flags.strict_placement,
                   "fail, naming the nodes, when a node an --ep provider declined would fall back to the CPU EP");
  command.add_option("--inter-op-threads", flags.inter_op_threads, kInterOpHelp)->check(CLI::Range(0, 1024));
  command.add_option("--free-dim", flags.free_dims,
                     "NAME=VALUE, repeatable: fix the symbolic input dimension NAME in the session (free dimension "
                     "override): inputs must have it, and the session is optimized and warmed up at it");
  command.add_flag("--warm-up,!--no-warm-up", flags.warm_up,
                   "while the session is made, fill its buffer pool with the blocks a run at the declared shapes "
                   "(dims not fixed by --free-dim taken as 1) takes, their pages touched, computing nothing, so the "
                   "first run does not page-fault on fresh memory (default on)");
}


Result<SessionOptions> session_options(int threads, const std::string& opt_level, const std::string& log_level,
                                       const std::string& profile_path, const std::string& eps,
                                       const LimitFlags& limits) {
  auto level = parse_optimization_level(opt_level);
  if (!level.is_ok()) return level.status().with_context("--opt-level");
  auto severity = parse_log_severity(log_level);
  if (!severity.is_ok()) return severity.status().with_context("--log-level");
  SessionOptions options;
  options.intra_op_threads = threads;
  options.optimization_level = *level;
  options.log_severity = *severity;
  options.profile_path = profile_path;
  if (!eps.empty()) {
    // "plugin:/path/libplugin.so,cpu": a name, then the library after the first ':'.
    options.providers.clear();
    size_t start = 0;
    while (start <= eps.size()) {
      size_t end = eps.find(',', start);
      if (end == std::string::npos) end = eps.size();
      const std::string entry = eps.substr(start, end - start);
      const size_t colon = entry.find(':');
      ProviderChoice choice{entry.substr(0, colon), colon == std::string::npos ? "" : entry.substr(colon + 1)};
      if (choice.name.empty() || (colon != std::string::npos && choice.library.empty()))
        return invalid_argument("--ep: '", entry, "' is not NAME or NAME:PATH (in '", eps, "')");
      options.providers.push_back(std::move(choice));
      start = end + 1;
    }
  }
  if (limits.max_tensor_bytes) options.limits.max_tensor_bytes = limits.max_tensor_bytes;
  if (limits.max_nodes) options.limits.max_nodes = limits.max_nodes;
  if (limits.max_run_arena_bytes) options.limits.max_run_arena_bytes = limits.max_run_arena_bytes;
  options.deterministic = limits.deterministic;
  options.strict_placement = limits.strict_placement;
  for (const std::string& spec : limits.free_dims) {
    TS_ASSIGN_OR_RETURN(auto parsed, parse_dim_spec(spec, "--free-dim", 0));
    options.free_dimension_overrides[parsed.first] = parsed.second;
  }
  options.warm_up = limits.warm_up;
  if (limits.inter_op_threads != 1) {
    options.execution_mode = ExecutionMode::parallel;
    options.inter_op_threads = limits.inter_op_threads;
  }
  return options;
}

int session_load_exit_code(const Status& status, const LimitFlags& limits) {
  // The override's own error (framework/session_preparation.cc) is the only one naming the option.
  const bool bad_free_dim = !limits.free_dims.empty() && status.code() == StatusCode::invalid_argument &&
                            status.message().find("free_dimension_overrides names dim") != std::string::npos;
  return bad_free_dim ? kExitUsage : kExitError;
}

}  // namespace tessera::cli
