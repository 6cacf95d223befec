// The session flags several commands share (--threads, --opt-level, --log-level, --profile, --ep),
// turned into SessionOptions.
#pragma once

#include <string>

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

// Fails with one line naming the flag and the choices when `opt_level` or `log_level` is not a
// level's name, or when `eps` (--ep) has an empty entry. An empty `profile_path` leaves profiling
// off; empty `eps` keeps the default providers (cpu).
Result<SessionOptions> session_options(int threads, const std::string& opt_level, const std::string& log_level,
                                       const std::string& profile_path = "", const std::string& eps = "");

}  // namespace tessera::cli
