// Heap blocks for tensor data, the run buffers' pool and packed weights, 64-byte aligned (the
// alignment SIMD kernels and in-place mapped weights agree on).
//
// Two kinds, for two ways memory is used:
// - allocate_block: memory a session reuses run after run (pooled activations, scratch). The
//   whole 2 MiB pages inside a large block are advised for transparent huge pages, which cuts
//   the TLB misses of every later run.
// - allocate_weight_block: memory written once while a session is created and then only read
//   (weights, packed weights, and so every tensor made outside a run's pool). It stays in small
//   pages, all faulted in by one call. On a virtual machine whose free memory is handed back to
//   the host, a fresh huge page costs about 3 ms/MiB to touch against 0.4 ms/MiB for populated
//   small pages, and 4 KiB faults one by one 0.6 ms/MiB; the weights' reads stream, so huge pages
//   gain a run little there.
#pragma once

#include <cstddef>

namespace tessera {

// A block of at least `bytes` bytes (a valid block for 0 too), or nullptr when memory is
// exhausted. Release it with std::free. Its contents are not initialized.
void* allocate_block(size_t bytes);

// As allocate_block, for memory written once and then only read: see above.
void* allocate_weight_block(size_t bytes);

}  // namespace tessera
