// malloc_counter: an LD_PRELOAD library that counts the process's heap allocations by call site.
// Every malloc, calloc, realloc and aligned form (memalign, posix_memalign, aligned_alloc, valloc,
// pvalloc) is counted under its backtrace (up to 12 frames), whoever makes it: Tessera, the C++
// library's operator new, oneDNN. At exit the counts go to $MALLOC_COUNTER_OUT (stderr when
// unset): a line "total N", then a line per call site, "COUNT FRAME FRAME ...", each frame
// "MODULE+0xOFFSET" (stable between runs of one binary, so two reports can be subtracted and
// symbolized with addr2line). bench/mallocs_per_run.py drives it. A measuring tool, not a
// product: the backtrace costs microseconds per allocation.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// glibc's own entry points, which this library forwards to.
extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* p, size_t size);
extern void* __libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void* p);

enum { kDepth = 12, kSlots = 1 << 16 };

typedef struct {
  uint64_t hash;  // 0: an empty slot
  int depth;
  void* frames[kDepth];
  long count;
} Site;

static Site g_sites[kSlots];
static long g_total, g_unrecorded;  // every allocation; those not placed (the table full)
static atomic_flag g_lock = ATOMIC_FLAG_INIT;
static __thread int t_inside;  // set while this thread records (backtrace() may allocate)

static void record(void) {
  if (t_inside) return;
  t_inside = 1;
  void* frames[kDepth + 2];
  // Frame 0 is record(), frame 1 the hook: the call site starts at 2.
  const int got = backtrace(frames, kDepth + 2);
  const int depth = got > 2 ? got - 2 : 0;
  uint64_t hash = 1469598103934665603ull;
  for (int i = 0; i < depth; ++i) hash = (hash ^ (uint64_t)(uintptr_t)frames[i + 2]) * 1099511628211ull;
  if (hash == 0) hash = 1;
  while (atomic_flag_test_and_set_explicit(&g_lock, memory_order_acquire)) {
  }
  ++g_total;
  size_t slot = hash & (kSlots - 1);
  for (size_t probe = 0; probe < kSlots; ++probe, slot = (slot + 1) & (kSlots - 1)) {
    Site* s = &g_sites[slot];
    if (s->hash == 0) {
      s->hash = hash;
      s->depth = depth;
      memcpy(s->frames, frames + 2, (size_t)depth * sizeof(void*));
    } else if (s->hash != hash || s->depth != depth || memcmp(s->frames, frames + 2, (size_t)depth * sizeof(void*)) != 0) {
      continue;
    }
    ++s->count;
    goto done;
  }
  ++g_unrecorded;
done:
  atomic_flag_clear_explicit(&g_lock, memory_order_release);
  t_inside = 0;
}

void* malloc(size_t size) {
  record();
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  record();
  return __libc_calloc(count, size);
}
void* realloc(void* p, size_t size) {
  record();
  return __libc_realloc(p, size);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t alignment, size_t size) {
  record();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  record();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  record();
  void* p = __libc_memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t size) {
  record();
  return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}
void* pvalloc(size_t size) {
  record();
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return __libc_memalign(page, (size + page - 1) / page * page);
}

static void write_frame(FILE* out, void* frame) {
  Dl_info info;
  if (dladdr(frame, &info) && info.dli_fname && info.dli_fname[0]) {
    // The module's full path, so addr2line finds it; the offset from its load address.
    fprintf(out, " %s+0x%lx", info.dli_fname, (unsigned long)((char*)frame - (char*)info.dli_fbase));
  } else {
    fprintf(out, " ?+%p", frame);
  }
}

__attribute__((constructor)) static void start(void) {
  // The first backtrace() loads the unwinder; do it here, not inside an allocation.
  void* frames[2];
  t_inside = 1;
  backtrace(frames, 2);
  t_inside = 0;
}

__attribute__((destructor)) static void report(void) {
  t_inside = 1;  // this thread's own allocations from here on are not the program's
  const char* path = getenv("MALLOC_COUNTER_OUT");
  FILE* out = path && path[0] ? fopen(path, "w") : stderr;
  if (!out) return;
  while (atomic_flag_test_and_set_explicit(&g_lock, memory_order_acquire)) {
  }
  fprintf(out, "total %ld\nunrecorded %ld\n", g_total, g_unrecorded);
  for (size_t i = 0; i < kSlots; ++i) {
    const Site* s = &g_sites[i];
    if (s->hash == 0) continue;
    fprintf(out, "%ld", s->count);
    for (int f = 0; f < s->depth; ++f) write_frame(out, s->frames[f]);
    fputc('\n', out);
  }
  atomic_flag_clear_explicit(&g_lock, memory_order_release);
  if (out != stderr) fclose(out);
}
