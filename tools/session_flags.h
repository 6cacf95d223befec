// The session flags several commands share (--threads, --opt-level, --log-level, --profile, --ep
// and the limit flags), turned into SessionOptions.
#pragma once

#include <cstdint>
#include <string>

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
// --deterministic (SessionOptions::deterministic) and --inter-op-threads.
struct LimitFlags {
  uint64_t max_tensor_bytes = 0;
  uint64_t max_nodes = 0;
  uint64_t max_run_arena_bytes = 0;
  bool deterministic = false;
  bool strict_placement = false;  // --strict-placement (SessionOptions::strict_placement)
  // --inter-op-threads: other than 1, the session runs in ExecutionMode::parallel on this many.
  int inter_op_threads = 1;
};
void add_limit_flags(CLI::App& command, LimitFlags& flags);

// Fails with one line naming the flag and the choices when `opt_level` or `log_level` is not a
// level's name, or when `eps` (--ep) has an empty entry. An empty `profile_path` leaves profiling
// off; empty `eps` keeps the default providers (cpu).
Result<SessionOptions> session_options(int threads, const std::string& opt_level, const std::string& log_level,
                                       const std::string& profile_path = "", const std::string& eps = "",
                                       const LimitFlags& limits = {});

}  // namespace tessera::cli
