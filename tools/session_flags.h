// The session flags several commands share (--threads, --opt-level), turned into SessionOptions.
#pragma once

#include <string>

#include "tessera/session.h"

namespace tessera::cli {

// The help text of --opt-level.
inline constexpr const char* kOptLevelHelp = "graph optimization: disabled, basic, extended or all (default all)";

// Fails with one line naming the choices when `opt_level` is not a level's name.
Result<SessionOptions> session_options(int threads, const std::string& opt_level);

}  // namespace tessera::cli
