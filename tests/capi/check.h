/* The C API tests' checks: CHECK(cond) and CHECK_OK(status) count failures in `failures` and
 * print where they failed; CHECK_OK releases the status and returns 1 on success. */
#ifndef TESSERA_TESTS_CAPI_CHECK_H_
#define TESSERA_TESTS_CAPI_CHECK_H_

#include <stdio.h>

#include "tessera/tessera_c.h"

static int failures = 0;

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                             \
    }                                                                         \
  } while (0)

/* Fails the test, printing the message, when `status` is an error; releases it. */
#define CHECK_OK(expr) check_ok((expr), #expr, __LINE__)
static int check_ok(TesseraStatus* status, const char* what, int line) {
  if (!status) return 1;
  fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, line, what, tessera_status_message(status));
  tessera_release_status(status);
  ++failures;
  return 0;
}

#endif /* TESSERA_TESTS_CAPI_CHECK_H_ */
