#include "providers/cpu/families.h"

namespace tessera {

// TODO(owner of this family): kernels not written yet.
void register_vision(KernelRegistry&) {}

}  // namespace tessera
