// Execution providers loaded at run time from a shared library through the C ABI of
// include/tessera/tessera_ep_plugin.h.
#pragma once

#include <memory>
#include <string>

#include "framework/execution_provider.h"

namespace tessera {

// Loads the plugin at `library` (empty: libtessera_ep_NAME.so next to the program, else on the
// library path) and checks that it is the EP called `name` at this ABI version. An error names the
// EP and the library: cannot be opened, no entry point, wrong ABI version, other name, missing
// functions. `threads` (SessionOptions::intra_op_threads) reaches the plugin's kernels.
Result<std::unique_ptr<ExecutionProvider>> load_plugin_ep(const std::string& name, const std::string& library, int threads);

}  // namespace tessera
