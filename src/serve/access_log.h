// The structured access log both front ends write: one JSON object per request on stderr.
#pragma once

#include <string>

namespace tessera::serve {

// The current UTC time as ISO 8601 ("2026-12-06T09:30:00Z").
std::string utc_now();
// Writes `json_line` and a newline with one write, so lines of concurrent requests never interleave.
void write_access_log(const std::string& json_line);

}  // namespace tessera::serve
