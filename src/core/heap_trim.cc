#include "core/heap_trim.h"

#include <cstdlib>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tessera {

void return_free_heap_to_system() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace tessera
