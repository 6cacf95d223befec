// The session flags several commands share (--threads, --opt-level, --log-level, --profile, --ep
// and the limit flags), turned into SessionOptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

#include "tessera/session.h"

namespace tessera::cli {

// The help texts of the shared flags.
inline constexpr const char* kOptLevelHelp = "graph optimization: disabled, basic, extended or all (default all)";
inline constexpr const char* kLogLevelHelp =
    "messages on stderr from this severity up: verbose (each session phase), info (session summary), warning (default), "
    "error or fatal";
inline constexpr const char* kProfileHelp =
    "write a Chrome trace (chrome://tracing, Perfetto) of session creation and every run, node by node, to this file";

inline constexpr const char* kEpHelp =
    "execution providers in priority order, NAME[:PLUGIN_LIBRARY] separated by commas (default cpu; the CPU EP runs what the "
    "others do not take)";
inline constexpr const char* kInterOpHelp =
    "run independent nodes at once on this many threads (execution mode parallel; 0 = one per core; default 1: one node "
    "at a time)";

// --max-tensor-bytes, --max-nodes, --max-run-bytes (0 keeps ResourceLimits' default),
// --deterministic (SessionOptions::deterministic), --inter-op-threads, --free-dim and
// --warm-up/--no-warm-up (the session's preparation: session_preparation.h).
struct LimitFlags {
  uint64_t max_tensor_bytes = 0;
  uint64_t max_nodes = 0;
  uint64_t max_run_arena_bytes = 0;
  bool deterministic = false;
  bool strict_placement = false;  // --strict-placement (SessionOptions::strict_placement)
  // --inter-op-threads: other than 1, the session runs in ExecutionMode::parallel on this many.
  int inter_op_threads = 1;
  // --free-dim NAME=VALUE: SessionOptions::free_dimension_overrides.
  std::vector<std::string> free_dims = {};
  // --warm-up / --no-warm-up: SessionOptions::warm_up.
  bool warm_up = true;
};
void add_limit_flags(CLI::App& command, LimitFlags& flags);

// Fails with one line naming the flag and the choices when `opt_level` or `log_level` is not a
// level's name, when `eps` (--ep) has an empty entry, or when a --free-dim is not NAME=VALUE
// with VALUE a whole number >= 0 (a NAME the model lacks fails session creation). An empty `profile_path` leaves profiling
// off; empty `eps` keeps the default providers (cpu).
Result<SessionOptions> session_options(int threads, const std::string& opt_level, const std::string& log_level,
                                       const std::string& profile_path = "", const std::string& eps = "",
                                       const LimitFlags& limits = {});

// The exit code for a session that failed to load: kExitUsage when the failure is a --free-dim
// naming no input dim of the model (a wrong command line, known only once the model is read),
// else kExitError.
int session_load_exit_code(const Status& status, const LimitFlags& limits);

}  // namespace tessera::cli
