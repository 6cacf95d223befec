/* The C API, compiled as C and linked against libtessera.so: metadata, runs over the caller's
 * buffers checked against PyTorch's outputs for the bundled digits model, errors with their
 * messages, and a create/run/release loop that must leave the heap where it was.
 * Usage: capi_test MODELS_DIGITS_DIR OUT_DIR */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tessera/tessera_c.h"

static char model_path[4096];
static char data_dir[4096];
static char out_dir[4096];

/* Checks that `status` is an error with `code` whose message holds each of the `needles`. */
static void check_error(TesseraStatus* status, TesseraStatusCode code, const char* needle1, const char* needle2, int line) {
  if (!status) {
    fprintf(stderr, "%s:%d: expected an error, got success\n", __FILE__, line);
    ++failures;
    return;
  }
  const char* message = tessera_status_message(status);
  if (tessera_status_code(status) != code || !strstr(message, needle1) || (needle2 && !strstr(message, needle2))) {
    fprintf(stderr, "%s:%d: expected code %d naming '%s'%s%s, got code %d: %s\n", __FILE__, line, (int)code, needle1,
            needle2 ? " and " : "", needle2 ? needle2 : "", (int)tessera_status_code(status), message);
    ++failures;
  }
  tessera_release_status(status);
}
#define CHECK_ERROR(expr, code, n1, n2) check_error((expr), (code), (n1), (n2), __LINE__)

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static unsigned char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char* bytes = malloc((size_t)n + 1);
  if (bytes && fread(bytes, 1, (size_t)n, f) != (size_t)n) {
    free(bytes);
    bytes = NULL;
  }
  if (bytes) bytes[n] = 0;
  fclose(f);
  *size = (size_t)n;
  return bytes;
}

/* The `count` floats of a TensorProto file whose raw_data (field 9) is its last field, as the
 * reference files are written: the tag 0x4a and a two-byte length come right before them. */
static int read_raw_floats(const char* name, float* out, size_t count) {
  char path[4300];
  snprintf(path, sizeof path, "%s/test_data_set_0/%s", data_dir, name);
  size_t size = 0;
  unsigned char* bytes = read_file(path, &size);
  size_t n = count * sizeof(float);
  int ok = bytes && size > n + 3 && bytes[size - n - 3] == 0x4a && (size_t)((bytes[size - n - 2] & 0x7f) | (bytes[size - n - 1] << 7)) == n;
  if (ok) memcpy(out, bytes + size - n, n);
  else fprintf(stderr, "cannot read %zu raw floats from %s\n", count, path);
  free(bytes);
  return ok;
}

static float images[10 * 64];      /* [10,1,8,8]: one sample per digit */
static float expected[10 * 10];    /* PyTorch's probabilities */
static const int64_t image_shape[4] = {10, 1, 8, 8};

static TesseraSessionOptions* options_with(int threads, TesseraOptimizationLevel level) {
  TesseraSessionOptions* options = NULL;
  CHECK_OK(tessera_create_session_options(&options));
  CHECK_OK(tessera_session_options_set_intra_op_threads(options, threads));
  CHECK_OK(tessera_session_options_set_optimization_level(options, level));
  CHECK_OK(tessera_session_options_set_log_severity(options, TESSERA_LOG_ERROR));
  return options;
}

static void test_version(void) {
  CHECK(tessera_api_version() == TESSERA_API_VERSION);
  CHECK(strcmp(tessera_version(), TESSERA_EXPECTED_VERSION) == 0);
  CHECK(tessera_status_code(NULL) == TESSERA_OK);
  CHECK(strcmp(tessera_status_message(NULL), "") == 0);
}

static void test_metadata(const TesseraSession* session) {
  CHECK(tessera_session_input_count(session) == 1);
  CHECK(tessera_session_output_count(session) == 1);
  const TesseraIoInfo* in = NULL;
  if (!CHECK_OK(tessera_session_input_info(session, 0, &in))) return;
  CHECK(strcmp(tessera_io_info_name(in), "image") == 0);
  CHECK(tessera_io_info_kind(in) == TESSERA_KIND_TENSOR);
  CHECK(tessera_io_info_dtype(in) == TESSERA_FLOAT);
  CHECK(tessera_io_info_rank(in) == 4);
  const int64_t* shape = tessera_io_info_shape(in);
  CHECK(shape && shape[0] == -1 && shape[1] == 1 && shape[2] == 8 && shape[3] == 8);
  CHECK(strcmp(tessera_io_info_dim_name(in, 0), "batch") == 0);
  CHECK(strcmp(tessera_io_info_dim_name(in, 1), "") == 0);
  CHECK(tessera_io_info_dim_name(in, 4) == NULL);
  const TesseraIoInfo* out = NULL;
  if (!CHECK_OK(tessera_session_output_info(session, 0, &out))) return;
  CHECK(strcmp(tessera_io_info_name(out), "probabilities") == 0);
  CHECK(tessera_io_info_rank(out) == 2);
  CHECK(tessera_io_info_shape(out)[1] == 10);
  CHECK_ERROR(tessera_session_output_info(session, 1, &out), TESSERA_INVALID_ARGUMENT, "index 1", "1 outputs");
}

/* Runs the sample batch (output named, or all outputs when `by_name` is 0) and compares the
 * probabilities with PyTorch's. */
static void run_and_compare(const TesseraSession* session, int by_name) {
  TesseraTensor* input = NULL;
  if (!CHECK_OK(tessera_create_tensor_over_buffer(TESSERA_FLOAT, image_shape, 4, images, sizeof images, &input))) return;
  CHECK(tessera_tensor_data(input) == (void*)images); /* no copy */
  const char* input_names[] = {"image"};
  const char* output_names[] = {"probabilities"};
  TesseraTensor* output = NULL;
  if (CHECK_OK(tessera_run(session, NULL, input_names, (const TesseraTensor* const*)&input, 1,
                           by_name ? output_names : NULL, 1, &output))) {
    CHECK(tessera_tensor_dtype(output) == TESSERA_FLOAT);
    CHECK(tessera_tensor_rank(output) == 2);
    CHECK(tessera_tensor_shape(output)[0] == 10 && tessera_tensor_shape(output)[1] == 10);
    CHECK(tessera_tensor_element_count(output) == 100);
    CHECK(tessera_tensor_byte_size(output) == 100 * sizeof(float));
    const float* probabilities = tessera_tensor_data(output);
    float worst = 0;
    for (int i = 0; i < 100; ++i) {
      float diff = probabilities[i] - expected[i];
      if (diff < 0) diff = -diff;
      if (diff > worst) worst = diff;
    }
    if (worst > 1e-4f) fprintf(stderr, "probabilities differ from PyTorch's by %g\n", worst);
    CHECK(worst <= 1e-4f);
    /* The samples are the digits 7 2 9 1 0 8 4 5 6 3 (samples/labels.json). */
    static const int labels[10] = {7, 2, 9, 1, 0, 8, 4, 5, 6, 3};
    for (int row = 0; row < 10; ++row) {
      int best = 0;
      for (int k = 1; k < 10; ++k)
        if (probabilities[row * 10 + k] > probabilities[row * 10 + best]) best = k;
      CHECK(best == labels[row]);
    }
    tessera_release_tensor(output);
  }
  tessera_release_tensor(input);
}

static void test_runs(void) {
  TesseraSessionOptions* options = options_with(1, TESSERA_OPT_ALL);
  TesseraSession* session = NULL;
  if (CHECK_OK(tessera_create_session(model_path, options, &session))) {
    test_metadata(session);
    run_and_compare(session, 1);
    run_and_compare(session, 0);
    tessera_release_session(session);
  }
  tessera_release_session_options(options);

  /* From bytes, with the graph as written: the same numbers. */
  size_t size = 0;
  unsigned char* bytes = read_file(model_path, &size);
  CHECK(bytes != NULL);
  options = options_with(2, TESSERA_OPT_DISABLED);
  session = NULL;
  if (bytes && CHECK_OK(tessera_create_session_from_bytes(bytes, size, options, &session))) {
    free(bytes); /* not needed after the call */
    bytes = NULL;
    run_and_compare(session, 1);
    tessera_release_session(session);
  }
  free(bytes);
  tessera_release_session_options(options);

  /* Parallel execution mode on two inter-op threads: the same numbers. */
  options = options_with(1, TESSERA_OPT_ALL);
  CHECK_OK(tessera_session_options_set_execution_mode(options, TESSERA_EXECUTION_PARALLEL));
  CHECK_OK(tessera_session_options_set_inter_op_threads(options, 2));
  session = NULL;
  if (CHECK_OK(tessera_create_session(model_path, options, &session))) {
    run_and_compare(session, 1);
    tessera_release_session(session);
  }
  tessera_release_session_options(options);
}

/* The optimized model is saved where the options say and runs with the same numbers; a
 * profiling session writes its trace where the options say. */
static void test_saved_model_and_profile(void) {
  char saved[4200], trace[4200];
  snprintf(saved, sizeof saved, "%s/capi_optimized.onnx", out_dir);
  snprintf(trace, sizeof trace, "%s/capi_profile.json", out_dir);
  remove(saved);
  remove(trace);
  TesseraSessionOptions* options = options_with(1, TESSERA_OPT_EXTENDED);
  CHECK_OK(tessera_session_options_set_optimized_model_path(options, saved));
  CHECK_OK(tessera_session_options_set_profile_path(options, trace));
  TesseraSession* session = NULL;
  if (CHECK_OK(tessera_create_session(model_path, options, &session))) {
    run_and_compare(session, 1);
    const char* written = NULL;
    if (CHECK_OK(tessera_session_end_profiling(session, &written))) CHECK(written && strcmp(written, trace) == 0);
    size_t size = 0;
    unsigned char* json = read_file(trace, &size);
    CHECK(json && size > 0 && strstr((const char*)json, "\"traceEvents\"") && strstr((const char*)json, "Conv"));
    free(json);
    CHECK_ERROR(tessera_session_end_profiling(session, NULL), TESSERA_INVALID_ARGUMENT, "profil", NULL);
    tessera_release_session(session);
  }
  tessera_release_session_options(options);
  session = NULL;
  if (CHECK_OK(tessera_create_session(saved, NULL, &session))) {
    run_and_compare(session, 1);
    tessera_release_session(session);
  }
}

/* Whether the file at `path` holds `needle`. */
static int file_contains(const char* path, const char* needle) {
  size_t size = 0;
  unsigned char* text = read_file(path, &size);
  int found = text && strstr((const char*)text, needle) != NULL;
  free(text);
  return found;
}

/* A free dimension override fixes the batch the session declares and runs at; the warm-up runs
 * at session creation (its phase is in the profile) unless switched off; bad overrides are
 * refused with the dim's name. */
static void test_free_dimension_override_and_warm_up(void) {
  char trace[4200];
  snprintf(trace, sizeof trace, "%s/capi_warm_up.json", out_dir);
  for (int warm_up = 0; warm_up <= 1; ++warm_up) {
    remove(trace);
    TesseraSessionOptions* options = options_with(1, TESSERA_OPT_ALL);
    CHECK_OK(tessera_session_options_add_free_dimension_override(options, "batch", 3));
    CHECK_OK(tessera_session_options_add_free_dimension_override(options, "batch", 10)); /* replaces 3 */
    CHECK_OK(tessera_session_options_set_warm_up(options, warm_up));
    CHECK_OK(tessera_session_options_set_profile_path(options, trace));
    TesseraSession* session = NULL;
    if (CHECK_OK(tessera_create_session(model_path, options, &session))) {
      const TesseraIoInfo* in = NULL;
      if (CHECK_OK(tessera_session_input_info(session, 0, &in))) CHECK(tessera_io_info_shape(in)[0] == 10);
      run_and_compare(session, 1);
      if (CHECK_OK(tessera_session_end_profiling(session, NULL)))
        CHECK(file_contains(trace, "\"warm_up\"") == warm_up);
      tessera_release_session(session);
    }
    tessera_release_session_options(options);
  }

  TesseraSessionOptions* options = NULL;
  CHECK_OK(tessera_create_session_options(&options));
  CHECK_ERROR(tessera_session_options_add_free_dimension_override(options, "batch", -1), TESSERA_INVALID_ARGUMENT,
              "'batch'", "-1");
  CHECK_ERROR(tessera_session_options_add_free_dimension_override(options, NULL, 1), TESSERA_INVALID_ARGUMENT, "NULL",
              NULL);
  CHECK_ERROR(tessera_session_options_add_free_dimension_override(NULL, "batch", 1), TESSERA_INVALID_ARGUMENT,
              "options is NULL", NULL);
  CHECK_ERROR(tessera_session_options_set_warm_up(NULL, 1), TESSERA_INVALID_ARGUMENT, "options is NULL", NULL);
  CHECK_OK(tessera_session_options_add_free_dimension_override(options, "sequence", 4));
  TesseraSession* session = NULL;
  CHECK_ERROR(tessera_create_session(model_path, options, &session), TESSERA_INVALID_ARGUMENT, "'sequence'",
              "image tensor(float)[batch,1,8,8]");
  CHECK(session == NULL);
  tessera_release_session_options(options);
}

/* A run past its timeout stops with TESSERA_DEADLINE_EXCEEDED: 50,000 images take far longer
 * than 1 ms (the deadline is checked before each node after the first). */
static void test_timeout(void) {
  enum { batch = 50000 };
  float* many = calloc((size_t)batch * 64, sizeof(float));
  TesseraSession* session = NULL;
  TesseraRunOptions* run_options = NULL;
  TesseraTensor* input = NULL;
  const int64_t shape[4] = {batch, 1, 8, 8};
  if (many && CHECK_OK(tessera_create_session(model_path, NULL, &session)) &&
      CHECK_OK(tessera_create_run_options(&run_options)) &&
      CHECK_OK(tessera_create_tensor_over_buffer(TESSERA_FLOAT, shape, 4, many, (size_t)batch * 64 * sizeof(float), &input))) {
    tessera_run_options_set_timeout_ms(run_options, 1);
    const char* name[] = {"image"};
    TesseraTensor* output = NULL;
    CHECK_ERROR(tessera_run(session, run_options, name, (const TesseraTensor* const*)&input, 1, NULL, 1, &output),
                TESSERA_DEADLINE_EXCEEDED, "model.onnx", NULL);
    CHECK(output == NULL);
  }
  tessera_release_tensor(input);
  tessera_release_run_options(run_options);
  tessera_release_session(session);
  free(many);
}

static void test_errors(void) {
  TesseraSession* session = NULL;
  CHECK_ERROR(tessera_create_session("no/such/model.onnx", NULL, &session), TESSERA_IO_ERROR, "no/such/model.onnx", NULL);
  CHECK(session == NULL);
  static const unsigned char garbage[] = {0xff, 0xff, 0xff, 0xff, 0x01};
  CHECK_ERROR(tessera_create_session_from_bytes(garbage, sizeof garbage, NULL, &session), TESSERA_INVALID_MODEL, "<bytes>",
              NULL);
  TesseraSessionOptions* options = NULL;
  CHECK_OK(tessera_create_session_options(&options));
  CHECK_ERROR(tessera_session_options_set_intra_op_threads(options, -2), TESSERA_INVALID_ARGUMENT, "-2", NULL);
  CHECK_ERROR(tessera_session_options_set_inter_op_threads(options, -3), TESSERA_INVALID_ARGUMENT, "-3", NULL);
  CHECK_ERROR(tessera_session_options_set_execution_mode(options, (TesseraExecutionMode)5), TESSERA_INVALID_ARGUMENT,
              "execution mode 5", NULL);
  CHECK_ERROR(tessera_session_options_set_optimization_level(options, (TesseraOptimizationLevel)7),
              TESSERA_INVALID_ARGUMENT, "optimization level 7", NULL);
  tessera_release_session_options(options);

  TesseraTensor* tensor = NULL;
  CHECK_ERROR(tessera_create_tensor_over_buffer(TESSERA_FLOAT, image_shape, 4, images, 100, &tensor),
              TESSERA_INVALID_ARGUMENT, "needs 2560 bytes", "has 100");
  CHECK_ERROR(tessera_create_tensor_over_buffer(TESSERA_STRING, image_shape, 4, images, sizeof images, &tensor),
              TESSERA_INVALID_ARGUMENT, "string", NULL);
  CHECK(tensor == NULL);

  if (!CHECK_OK(tessera_create_session(model_path, NULL, &session))) return;
  TesseraTensor* input = NULL;
  CHECK_OK(tessera_create_tensor_over_buffer(TESSERA_FLOAT, image_shape, 4, images, sizeof images, &input));
  int32_t ints[10 * 64] = {0};
  TesseraTensor* int_input = NULL;
  CHECK_OK(tessera_create_tensor_over_buffer(TESSERA_INT32, image_shape, 4, ints, sizeof ints, &int_input));
  TesseraTensor* output = NULL;
  const char* wrong_name[] = {"imag"};
  CHECK_ERROR(tessera_run(session, NULL, wrong_name, (const TesseraTensor* const*)&input, 1, NULL, 1, &output),
              TESSERA_INVALID_ARGUMENT, "no input named 'imag'", NULL);
  const char* name[] = {"image"};
  CHECK_ERROR(tessera_run(session, NULL, name, (const TesseraTensor* const*)&int_input, 1, NULL, 1, &output),
              TESSERA_INVALID_ARGUMENT, "input 'image'", "int32");
  const char* wrong_output[] = {"logits"};
  CHECK_ERROR(tessera_run(session, NULL, name, (const TesseraTensor* const*)&input, 1, wrong_output, 1, &output),
              TESSERA_INVALID_ARGUMENT, "no output named 'logits'", NULL);
  CHECK_ERROR(tessera_run(session, NULL, name, (const TesseraTensor* const*)&input, 1, NULL, 2, &output),
              TESSERA_INVALID_ARGUMENT, "1 outputs", NULL);
  /* A terminate flag set before the run stops it at the first node; cleared, runs go on. */
  TesseraRunOptions* run_options = NULL;
  CHECK_OK(tessera_create_run_options(&run_options));
  tessera_run_options_set_terminate(run_options, 1);
  CHECK_ERROR(tessera_run(session, run_options, name, (const TesseraTensor* const*)&input, 1, NULL, 1, &output),
              TESSERA_CANCELLED, "model.onnx", NULL);
  CHECK(output == NULL);
  tessera_run_options_set_terminate(run_options, 0);
  tessera_run_options_set_timeout_ms(run_options, 60000);
  if (CHECK_OK(tessera_run(session, run_options, name, (const TesseraTensor* const*)&input, 1, NULL, 1, &output)))
    tessera_release_tensor(output);
  tessera_release_run_options(run_options);
  tessera_release_tensor(int_input);
  tessera_release_tensor(input);
  tessera_release_session(session);
  /* Releasing NULL does nothing. */
  tessera_release_session(NULL);
  tessera_release_tensor(NULL);
  tessera_release_status(NULL);
}

/* Every handle released: after warm-up rounds (the heap settles within ~10 as process-wide
 * state is set up), rounds of sessions, runs and errors leave the heap's bytes in use where they
 * were. A leak of any handle grows them in every round; the runtime's own lazily grown state
 * (a few hundred bytes, seen in up to 7 rounds of 30 on a loaded machine, never a shrink) is not
 * a leak. */
static void test_release_leaks_nothing(void) {
  enum { warm_up = 15, rounds = 30 };
  size_t previous = 0;
  int grew = 0;
  for (int round = 0; round < warm_up + rounds; ++round) {
    test_runs();
    test_errors();
    size_t in_use = mallinfo2().uordblks;
    if (round >= warm_up && in_use > previous) ++grew;
    previous = in_use;
  }
  if (grew > rounds / 2) fprintf(stderr, "the heap grew in %d of %d rounds\n", grew, rounds);
  CHECK(grew <= rounds / 2);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: capi_test MODELS_DIGITS_DIR OUT_DIR\n");
    return 2;
  }
  snprintf(data_dir, sizeof data_dir, "%s", argv[1]);
  snprintf(model_path, sizeof model_path, "%s/model.onnx", argv[1]);
  snprintf(out_dir, sizeof out_dir, "%s", argv[2]);
  if (!read_raw_floats("input_0.pb", images, 10 * 64) || !read_raw_floats("output_0.pb", expected, 10 * 10)) return 1;
  test_version();
  test_runs();
  test_saved_model_and_profile();
  test_free_dimension_override_and_warm_up();
  test_timeout();
  test_errors();
  test_release_leaks_nothing();
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("all C API checks passed\n");
  return failures ? 1 : 0;
}
