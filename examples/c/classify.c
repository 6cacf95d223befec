/* The C API: load the digits model (models/digits), print its inputs and outputs, classify a
 * hand-drawn "7" held in our own buffer (no copy), print the probabilities.
 * Usage: classify_c models/digits/model.onnx */
#include <stdio.h>

#include "tessera/tessera_c.h"

static int fail(TesseraStatus* status) {
  fprintf(stderr, "error: %s\n", tessera_status_message(status));
  tessera_release_status(status);
  return 1;
}

static void print_info(const char* what, const TesseraIoInfo* info) {
  printf("%s %s: type %d, shape [", what, tessera_io_info_name(info), (int)tessera_io_info_dtype(info));
  for (int64_t axis = 0; axis < tessera_io_info_rank(info); ++axis) {
    const char* name = tessera_io_info_dim_name(info, (size_t)axis);
    if (axis) printf(",");
    if (*name) printf("%s", name);
    else printf("%lld", (long long)tessera_io_info_shape(info)[axis]);
  }
  printf("]\n");
}

int main(int argc, char** argv) {
  if (argc != 2) return fprintf(stderr, "usage: classify_c MODEL.onnx\n"), 2;
  printf("tessera %s (C API %u)\n", tessera_version(), tessera_api_version());

  TesseraSessionOptions* options = NULL;
  TesseraStatus* status = tessera_create_session_options(&options);
  if (!status) status = tessera_session_options_set_intra_op_threads(options, 1);
  TesseraSession* session = NULL;
  if (!status) status = tessera_create_session(argv[1], options, &session);
  tessera_release_session_options(options);
  if (status) return fail(status);

  const TesseraIoInfo* input = NULL;
  const TesseraIoInfo* output = NULL;
  if ((status = tessera_session_input_info(session, 0, &input)) || (status = tessera_session_output_info(session, 0, &output)))
    return tessera_release_session(session), fail(status);
  print_info("input", input);
  print_info("output", output);

  /* An 8x8 "7", pixels in [0,1] as the model was trained: a bar on top, a diagonal down. */
  static const char* drawing[8] = {"        ", " ###### ", "     ## ", "    ##  ",
                                   "    #   ", "   ##   ", "   #    ", "        "};
  float pixels[64];
  for (int i = 0; i < 64; ++i) pixels[i] = drawing[i / 8][i % 8] == '#' ? 1.0f : 0.0f;
  const int64_t shape[4] = {1, 1, 8, 8};
  TesseraTensor* image = NULL;
  if ((status = tessera_create_tensor_over_buffer(TESSERA_FLOAT, shape, 4, pixels, sizeof pixels, &image)))
    return tessera_release_session(session), fail(status);

  const char* input_names[1] = {tessera_io_info_name(input)};
  TesseraTensor* probabilities = NULL;
  status = tessera_run(session, NULL, input_names, (const TesseraTensor* const*)&image, 1, NULL, 1, &probabilities);
  tessera_release_tensor(image);
  tessera_release_session(session);
  if (status) return fail(status);

  const float* p = tessera_tensor_data(probabilities);
  int best = 0;
  for (int k = 0; k < 10; ++k) {
    printf("%d: %.4f\n", k, p[k]);
    if (p[k] > p[best]) best = k;
  }
  printf("predicted digit: %d\n", best);
  tessera_release_tensor(probabilities);
  return 0;
}
