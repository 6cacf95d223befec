// A plugin built against a future ABI version: loading it must fail with a clear error.
#include "tessera/tessera_ep_plugin.h"

namespace {
TesseraEpPlugin plugin_with_abi(uint32_t version) {
  TesseraEpPlugin p{};
  p.abi_version = version;
  p.name = "wrong_abi";
  return p;
}
const TesseraEpPlugin kPlugin = plugin_with_abi(TESSERA_EP_PLUGIN_ABI_VERSION + 1);
}  // namespace

extern "C" __attribute__((visibility("default"))) const TesseraEpPlugin* tessera_ep_plugin(void) { return &kPlugin; }
