// Hands the heap's free pages back to the system. glibc's malloc returns freed memory below the
// top of its heap only on request, and blocks of a few MB (weights, packed copies) come from that
// heap once larger blocks have been freed (its mmap threshold adapts upward). A session calls this
// where much memory has just been freed: after creation (weights' originals dropped, the parsed
// protobuf gone) and after destruction. Elsewhere a no-op.
#pragma once

namespace tessera {

void return_free_heap_to_system();

}  // namespace tessera
