// Execution providers as a session's caller sees them: which to use (SessionOptions::providers)
// and where the graph ended up (Session::placement()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera {

// One execution provider in SessionOptions::providers: "cpu" (built in), or a plugin EP loaded
// from `library` (a shared library, include/tessera/tessera_ep_plugin.h) under its own name.
struct ProviderChoice {
  std::string name;
  std::string library;  // empty for built-in EPs
};

// How the main graph is split among the EPs (the partitioner's result).
struct Placement {
  struct ProviderNodes {
    std::string provider;
    size_t nodes = 0;
  };
  // Consecutive steps run by one EP, in execution order.
  struct Subgraph {
    std::string provider;
    std::vector<std::string> nodes;  // node names ("Op#index" for unnamed nodes)
  };
  // A value copied from one memory kind to another ("cpu:0", "other:0").
  struct Copy {
    enum class Bytes { unknown, inferred, measured };
    std::string value, from, to;
    bool once = false;  // an initializer, copied at session creation; else on every run
    // Bytes per copy (per run unless `once`): from the inferred shapes when they are fixed, else
    // as measured by the last run (unknown before one).
    int64_t bytes = -1;
    Bytes bytes_from = Bytes::unknown;
  };
  // A node a higher-priority EP did not take, and why.
  struct Fallback {
    std::string node, provider, reason;
  };
  std::vector<ProviderNodes> nodes_per_provider;  // in the order of their first node
  std::vector<Subgraph> subgraphs;
  std::vector<Copy> copies;
  std::vector<Fallback> fallbacks;
};

}  // namespace tessera
