/* The C API's training part, compiled as C and linked against libtessera.so: artifacts from the
 * bundled digits model, a session from them that trains (the loss falls), eval steps, a
 * checkpoint that reloads to identical parameters, the exported inference model run in an
 * ordinary session (same outputs as the eval step), and errors naming what is wrong.
 * Usage: training_capi_test MODELS_DIGITS_DIR OUT_DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tessera/tessera_c.h"

/* An error with `code` whose message holds `needle`; releases it. */
static void check_error(TesseraStatus* status, TesseraStatusCode code, const char* needle, int line) {
  if (!status || tessera_status_code(status) != code || !strstr(tessera_status_message(status), needle)) {
    fprintf(stderr, "%s:%d: expected code %d naming '%s', got %s\n", __FILE__, line, (int)code, needle,
            status ? tessera_status_message(status) : "success");
    ++failures;
  }
  tessera_release_status(status);
}
#define CHECK_ERROR(expr, code, needle) check_error((expr), (code), (needle), __LINE__)

enum { kBatch = 10, kSteps = 80 };
static float images[kBatch * 64];
static int64_t labels[kBatch];
static const int64_t image_shape[4] = {kBatch, 1, 8, 8};
static const int64_t label_shape[1] = {kBatch};

/* Made-up 8x8 images: image k lights a 3x3 block at a place that depends on k, labelled k. */
static void make_batch(void) {
  for (int k = 0; k < kBatch; ++k) {
    labels[k] = k;
    for (int p = 0; p < 64; ++p) {
      const int row = p / 8, col = p % 8, r0 = (k * 3) % 6, c0 = (k * 5) % 6;
      images[k * 64 + p] = (row >= r0 && row < r0 + 3 && col >= c0 && col < c0 + 3) ? 1.0f : 0.05f * (float)((p + k) % 4);
    }
  }
}

/* Feeds image and target; returns 1 when both tensors were made. */
static int make_feeds(TesseraTensor* feeds[2]) {
  feeds[0] = feeds[1] = NULL;
  return CHECK_OK(tessera_create_tensor_over_buffer(TESSERA_FLOAT, image_shape, 4, images, sizeof images, &feeds[0])) &&
         CHECK_OK(tessera_create_tensor_over_buffer(TESSERA_INT64, label_shape, 1, labels, sizeof labels, &feeds[1]));
}

static const char* const feed_names[2] = {"image", "target"};

/* How many of the batch's images the eval step's probabilities classify as their label. */
static int correct_of(TesseraTensor* probabilities) {
  const float* p = (const float*)tessera_tensor_data(probabilities);
  int correct = 0;
  for (int k = 0; k < kBatch; ++k) {
    int best = 0;
    for (int c = 1; c < 10; ++c) best = p[k * 10 + c] > p[k * 10 + best] ? c : best;
    correct += best == labels[k];
  }
  return correct;
}

/* 1 when every parameter of `a` equals `b`'s bit for bit. */
static int same_parameters(const TesseraTrainingSession* a, const TesseraTrainingSession* b) {
  if (tessera_training_parameter_count(a) != tessera_training_parameter_count(b)) return 0;
  int same = 1;
  for (size_t k = 0; k < tessera_training_parameter_count(a); ++k) {
    TesseraTensor *pa = NULL, *pb = NULL;
    if (CHECK_OK(tessera_training_parameter(a, k, &pa)) && CHECK_OK(tessera_training_parameter(b, k, &pb)))
      same = same && tessera_tensor_byte_size(pa) == tessera_tensor_byte_size(pb) &&
             memcmp(tessera_tensor_data(pa), tessera_tensor_data(pb), tessera_tensor_byte_size(pa)) == 0;
    tessera_release_tensor(pa);
    tessera_release_tensor(pb);
  }
  return same;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODELS_DIGITS_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  char model[4096], path[4200], ckpt[4200], exported[4200];
  snprintf(model, sizeof model, "%s/model.onnx", argv[1]);
  snprintf(ckpt, sizeof ckpt, "%s/trained.ckpt", argv[2]);
  snprintf(exported, sizeof exported, "%s/trained_inference.onnx", argv[2]);
  /* The classifier head; with the first convolution's weights too, the gradient flows through
   * both MaxPools at the model's opset 13 (com.tessera MaxPoolGrad, no ScatterElements). */
  const char* const trainable[] = {"classifier.1.weight", "classifier.1.bias", "classifier.4.weight", "classifier.4.bias",
                                   "features.0.weight"};
  make_batch();

  CHECK_ERROR(tessera_generate_training_artifacts(model, trainable, 4, "HingeLoss", "AdamW", 1e-3, argv[2]),
              TESSERA_INVALID_ARGUMENT, "HingeLoss");
  const char* const missing[] = {"no.such.weight"};
  CHECK_ERROR(tessera_generate_training_artifacts(model, missing, 1, "CrossEntropyLoss", "AdamW", 1e-3, argv[2]),
              TESSERA_INVALID_ARGUMENT, "no.such.weight");
  CHECK_OK(tessera_generate_training_artifacts(model, trainable, 5, "CrossEntropyLoss", "AdamW", 5e-3, argv[2]));
  if (!CHECK_OK(tessera_generate_training_artifacts(model, trainable, 4, "CrossEntropyLoss", "AdamW", 5e-3, argv[2]))) return 1;

  TesseraTrainingSession* session = NULL;
  if (!CHECK_OK(tessera_create_training_session_from_directory(argv[2], &session))) return 1;
  CHECK(tessera_training_parameter_count(session) == 4);
  CHECK(strcmp(tessera_training_parameter_name(session, 3), "classifier.4.bias") == 0);
  CHECK(tessera_training_parameter_name(session, 4) == NULL);
  double lr = 0;
  CHECK_OK(tessera_training_get_learning_rate(session, &lr));
  CHECK(lr == 5e-3);
  CHECK_OK(tessera_training_set_learning_rate(session, 2e-2));
  CHECK_OK(tessera_training_get_learning_rate(session, &lr));
  CHECK(lr == 2e-2);
  CHECK_ERROR(tessera_training_optimizer_step(session), TESSERA_INVALID_ARGUMENT, "before any train_step");

  TesseraTensor* feeds[2];
  if (!make_feeds(feeds)) return 1;
  int correct_before = kBatch;
  {
    TesseraTensor* before = NULL;
    float loss = 0;
    if (CHECK_OK(tessera_training_eval_step(session, feed_names, (const TesseraTensor* const*)feeds, 2, &loss, 1, &before)))
      correct_before = correct_of(before);
    tessera_release_tensor(before);
  }
  float first = 0, last = 0;
  for (int step = 0; step < kSteps; ++step) {
    float loss = 0;
    CHECK_OK(tessera_training_lazy_reset_grad(session));
    if (!CHECK_OK(tessera_training_train_step(session, feed_names, (const TesseraTensor* const*)feeds, 2, &loss))) break;
    CHECK_OK(tessera_training_optimizer_step(session));
    if (step == 0) first = loss;
    last = loss;
  }
  /* The model ends in Softmax, so the cross entropy of its probabilities cannot fall below
   * -log(e / (e + 9)) = 1.46: a fall from 2.4 toward it is what training can do. */
  printf("loss: step 0 %.4f, step %d %.4f\n", first, kSteps - 1, last);
  CHECK(isfinite(first) && last < 0.9f * first);
  CHECK(tessera_training_step_count(session) == kSteps);
  CHECK_ERROR(tessera_training_train_step(session, feed_names, (const TesseraTensor* const*)feeds, 1, &last),
              TESSERA_INVALID_ARGUMENT, "target");

  /* Eval: the loss and the probabilities. */
  size_t eval_outputs = 0;
  CHECK_OK(tessera_training_eval_output_count(session, &eval_outputs));
  CHECK(eval_outputs == 1);
  TesseraTensor* probabilities = NULL;
  float eval_loss = 0;
  if (CHECK_OK(tessera_training_eval_step(session, feed_names, (const TesseraTensor* const*)feeds, 2, &eval_loss, 1, &probabilities))) {
    CHECK(fabsf(eval_loss - last) < 0.5f * first);
    CHECK(tessera_tensor_rank(probabilities) == 2 && tessera_tensor_shape(probabilities)[1] == 10);
    const int correct = correct_of(probabilities);
    printf("eval: loss %.4f, %d of %d images classified as their label (%d before training)\n", eval_loss, correct,
           kBatch, correct_before);
    CHECK(correct > correct_before);
  }

  /* A checkpoint reloads to identical parameters, both ways a session takes it. */
  CHECK_OK(tessera_training_save_checkpoint(session, ckpt));
  TesseraTrainingSession* reloaded = NULL;
  snprintf(path, sizeof path, "%s/training_model.onnx", argv[2]);
  char optimizer[4200], initial[4200];
  snprintf(optimizer, sizeof optimizer, "%s/optimizer.cfg", argv[2]);
  snprintf(initial, sizeof initial, "%s/checkpoint.ckpt", argv[2]);
  if (CHECK_OK(tessera_create_training_session(path, NULL, optimizer, ckpt, &reloaded))) {
    CHECK(same_parameters(session, reloaded));
    CHECK(tessera_training_step_count(reloaded) == kSteps);
    tessera_release_training_session(reloaded);
  }
  reloaded = NULL;
  if (CHECK_OK(tessera_create_training_session(path, NULL, optimizer, initial, &reloaded))) {
    CHECK(!same_parameters(session, reloaded));
    CHECK_OK(tessera_training_load_checkpoint(reloaded, ckpt));
    CHECK(same_parameters(session, reloaded));
    CHECK_ERROR(tessera_training_load_checkpoint(reloaded, model), TESSERA_INVALID_ARGUMENT, "not a Tessera checkpoint");
    tessera_release_training_session(reloaded);
  }

  /* The exported inference model gives the eval step's probabilities. */
  TesseraSession* inference = NULL;
  if (probabilities && CHECK_OK(tessera_training_export_inference_model(session, exported)) &&
      CHECK_OK(tessera_create_session(exported, NULL, &inference))) {
    CHECK(tessera_session_input_count(inference) == 1);
    TesseraTensor* out = NULL;
    const char* const image_name[1] = {"image"};
    if (CHECK_OK(tessera_run(inference, NULL, image_name, (const TesseraTensor* const*)feeds, 1, NULL, 1, &out))) {
      const float* a = (const float*)tessera_tensor_data(out);
      const float* b = (const float*)tessera_tensor_data(probabilities);
      float worst = 0;
      for (int i = 0; i < kBatch * 10; ++i) worst = fmaxf(worst, fabsf(a[i] - b[i]));
      CHECK(worst < 1e-5f);
      tessera_release_tensor(out);
    }
    tessera_release_session(inference);
  }
  CHECK_ERROR(tessera_create_training_session_from_directory("/nonexistent", &reloaded), TESSERA_IO_ERROR, "training_model.onnx");

  tessera_release_tensor(probabilities);
  tessera_release_tensor(feeds[0]);
  tessera_release_tensor(feeds[1]);
  tessera_release_training_session(session);
  tessera_release_training_session(NULL);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("training C API: all checks passed\n");
  return failures ? 1 : 0;
}
