// Reading a model's inputs from input_K.pb files and matching them to graph inputs.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/session.h"
#include "tessera/status.h"

namespace tessera::cli {

// The TypeInfo to parse a .pb for a declared input/output (its message kind).
TypeInfo type_for(const IoInfo& io);

// Files `prefix_K.pb` in `dir`, ordered by K (input_0.pb, input_1.pb, ..., input_10.pb).
Result<std::vector<std::string>> numbered_files(const std::string& dir, const std::string& prefix);

// Reads the files and matches each to a session input: by its stored name when that names an
// input, else by position among the session's inputs.
Result<Feeds> read_feeds(const std::vector<std::string>& files, const std::vector<IoInfo>& inputs);

}  // namespace tessera::cli
