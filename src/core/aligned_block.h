// Heap blocks for tensor data, the run buffers' pool and packed weights: 64-byte aligned (the
// alignment SIMD kernels and in-place mapped weights agree on), and the whole 2 MiB pages inside
// a large block advised for transparent huge pages. Large weights and activations are written
// once, page by page; on a virtual machine each 4 KiB first-touch fault costs microseconds, and
// loading BERT-base spent a third of its time in them.
#pragma once

#include <cstddef>

namespace tessera {

// A block of at least `bytes` bytes (a valid block for 0 too), or nullptr when memory is
// exhausted. Release it with std::free. Its contents are not initialized.
void* allocate_block(size_t bytes);

}  // namespace tessera
