/* Tessera's stable C API: load an ONNX model once, run it many times, over your own buffers.
 *
 * Conventions (as ONNX Runtime's C API):
 *   - Every function that can fail returns a TesseraStatus*: NULL means success; otherwise read
 *     tessera_status_code / tessera_status_message and free it with tessera_release_status.
 *     Output parameters are written only on success.
 *   - Accessors that cannot fail (names, counts, shapes of a valid handle) return their value.
 *   - Every handle made by a tessera_create_* function is freed by its tessera_release_*
 *     function; releasing NULL does nothing. Strings and arrays returned by accessors belong to
 *     the handle and stay valid while it lives.
 *   - No C++ exception ever leaves these functions; a session may be run from many threads at once.
 *
 *   TesseraSession* session = NULL;
 *   TesseraStatus* status = tessera_create_session("model.onnx", NULL, &session);
 *   if (status) { fprintf(stderr, "%s\n", tessera_status_message(status)); ... }
 *
 * The ABI is versioned: TESSERA_API_VERSION grows when functions are added, and a program can
 * compare it with tessera_api_version() of the library it loaded.
 */
#ifndef TESSERA_TESSERA_C_H_
#define TESSERA_TESSERA_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TESSERA_API_VERSION 3 /* 2: training; execution mode and inter-op threads. 3: free dimension overrides, warm-up */

/* Opaque handles. */
typedef struct TesseraStatus TesseraStatus;
typedef struct TesseraSessionOptions TesseraSessionOptions;
typedef struct TesseraSession TesseraSession;
typedef struct TesseraRunOptions TesseraRunOptions;
typedef struct TesseraTensor TesseraTensor;
typedef struct TesseraIoInfo TesseraIoInfo; /* a graph input or output; owned by its session */
typedef struct TesseraTrainingSession TesseraTrainingSession;

typedef enum TesseraStatusCode {
  TESSERA_OK = 0,
  TESSERA_INVALID_ARGUMENT = 1, /* bad feed, option or call */
  TESSERA_INVALID_MODEL = 2,    /* malformed or inconsistent model */
  TESSERA_NOT_IMPLEMENTED = 3,  /* valid ONNX that Tessera does not support yet */
  TESSERA_IO_ERROR = 4,         /* file missing or unreadable */
  TESSERA_RUNTIME_ERROR = 5,    /* failure while computing, or out of memory */
  TESSERA_CANCELLED = 6,        /* a run stopped by its terminate flag */
  TESSERA_DEADLINE_EXCEEDED = 7 /* a run stopped at its timeout */
} TesseraStatusCode;

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum TesseraDataType {
  TESSERA_UNDEFINED = 0,
  TESSERA_FLOAT = 1,
  TESSERA_UINT8 = 2,
  TESSERA_INT8 = 3,
  TESSERA_UINT16 = 4,
  TESSERA_INT16 = 5,
  TESSERA_INT32 = 6,
  TESSERA_INT64 = 7,
  TESSERA_STRING = 8, /* outputs only: read with tessera_tensor_string */
  TESSERA_BOOL = 9,   /* one byte per element */
  TESSERA_FLOAT16 = 10,
  TESSERA_DOUBLE = 11,
  TESSERA_UINT32 = 12,
  TESSERA_UINT64 = 13,
  TESSERA_COMPLEX64 = 14,
  TESSERA_COMPLEX128 = 15,
  TESSERA_BFLOAT16 = 16
  /* Other ONNX numbers (float8, 4- and 2-bit types) are valid too; sub-byte types take one byte
   * per element in memory. */
} TesseraDataType;

/* How far the graph is rewritten before it runs (ONNX Runtime's levels). */
typedef enum TesseraOptimizationLevel {
  TESSERA_OPT_DISABLED = 0,
  TESSERA_OPT_BASIC = 1,
  TESSERA_OPT_EXTENDED = 2,
  TESSERA_OPT_ALL = 3 /* the default */
} TesseraOptimizationLevel;

/* How a run orders the graph's nodes (ONNX Runtime's ExecutionMode): one at a time, or independent
 * nodes at once on the inter-op threads (If/Loop/Scan bodies stay sequential). */
typedef enum TesseraExecutionMode {
  TESSERA_EXECUTION_SEQUENTIAL = 0, /* the default */
  TESSERA_EXECUTION_PARALLEL = 1
} TesseraExecutionMode;

/* Messages at or above this severity go to stderr (ONNX Runtime's levels). */
typedef enum TesseraLogSeverity {
  TESSERA_LOG_VERBOSE = 0,
  TESSERA_LOG_INFO = 1,
  TESSERA_LOG_WARNING = 2, /* the default */
  TESSERA_LOG_ERROR = 3,
  TESSERA_LOG_FATAL = 4
} TesseraLogSeverity;

/* What a graph input or output holds. The C API feeds and returns tensors only. */
typedef enum TesseraValueKind {
  TESSERA_KIND_TENSOR = 0,
  TESSERA_KIND_SEQUENCE = 1,
  TESSERA_KIND_MAP = 2,
  TESSERA_KIND_OPTIONAL = 3,
  TESSERA_KIND_UNKNOWN = 4
} TesseraValueKind;

/* ---- Versions ---- */
const char* tessera_version(void);   /* the library's version: "0.1.0" */
uint32_t tessera_api_version(void);  /* TESSERA_API_VERSION the library was built with */

/* ---- Status ---- */
TesseraStatusCode tessera_status_code(const TesseraStatus* status);  /* TESSERA_OK for NULL */
const char* tessera_status_message(const TesseraStatus* status);     /* "" for NULL */
void tessera_release_status(TesseraStatus* status);

/* ---- Session options (defaults: intra-op threads 0 = one per core, sequential, TESSERA_OPT_ALL,
 * warning) ---- */
TesseraStatus* tessera_create_session_options(TesseraSessionOptions** out);
void tessera_release_session_options(TesseraSessionOptions* options);
/* Threads one run may use for a single op; 0 = one per core. Negative is an error. */
TesseraStatus* tessera_session_options_set_intra_op_threads(TesseraSessionOptions* options, int threads);
TesseraStatus* tessera_session_options_set_execution_mode(TesseraSessionOptions* options, TesseraExecutionMode mode);
/* TESSERA_EXECUTION_PARALLEL: threads running independent nodes at once (the caller's counts; 0 =
 * one per core; default 1, which runs as sequential). Negative is an error. */
TesseraStatus* tessera_session_options_set_inter_op_threads(TesseraSessionOptions* options, int threads);
TesseraStatus* tessera_session_options_set_optimization_level(TesseraSessionOptions* options,
                                                              TesseraOptimizationLevel level);
/* Saves the graph as optimized (ONNX) here when a session is created; NULL or "" for none. */
TesseraStatus* tessera_session_options_set_optimized_model_path(TesseraSessionOptions* options, const char* path);
/* Profiles the session; tessera_session_end_profiling writes a Chrome trace here. NULL or "": off. */
TesseraStatus* tessera_session_options_set_profile_path(TesseraSessionOptions* options, const char* path);
TesseraStatus* tessera_session_options_set_log_severity(TesseraSessionOptions* options, TesseraLogSeverity severity);
/* Fixes every input dim whose symbolic name is `dim_name` ("batch") to `value` before the graph
 * is optimized (ONNX Runtime's free dimension override by name); a later call for the same name
 * replaces the value. `value` < 0, or a NULL or empty name, is an error here; a name no input of
 * the model has fails tessera_create_session, naming it and the inputs. */
TesseraStatus* tessera_session_options_add_free_dimension_override(TesseraSessionOptions* options, const char* dim_name,
                                                                   int64_t value);
/* Nonzero (the default): session creation fills the session's buffer pool with the blocks a run
 * at the declared shapes (dims still symbolic taken as 1) takes, their pages touched, computing
 * nothing, so the first run at that shape does not page-fault on fresh memory; 0: the first run
 * pays that cost instead (SessionOptions::warm_up). */
TesseraStatus* tessera_session_options_set_warm_up(TesseraSessionOptions* options, int enabled);

/* ---- Sessions ---- */
/* `options` may be NULL (defaults); it may be released once the session is created. */
TesseraStatus* tessera_create_session(const char* model_path, const TesseraSessionOptions* options,
                                      TesseraSession** out);
/* `data` holds a serialized ModelProto (no external data); it is not needed after the call. */
TesseraStatus* tessera_create_session_from_bytes(const void* data, size_t size, const TesseraSessionOptions* options,
                                                 TesseraSession** out);
void tessera_release_session(TesseraSession* session);
/* Writes the profile to the options' profile path; *path_out (may be NULL) receives that path,
 * valid while the session lives. */
TesseraStatus* tessera_session_end_profiling(TesseraSession* session, const char** path_out);

/* ---- Inputs and outputs as the model declares them (initializers excluded) ---- */
size_t tessera_session_input_count(const TesseraSession* session);
size_t tessera_session_output_count(const TesseraSession* session);
TesseraStatus* tessera_session_input_info(const TesseraSession* session, size_t index, const TesseraIoInfo** out);
TesseraStatus* tessera_session_output_info(const TesseraSession* session, size_t index, const TesseraIoInfo** out);
const char* tessera_io_info_name(const TesseraIoInfo* info);
TesseraValueKind tessera_io_info_kind(const TesseraIoInfo* info);
/* The tensor element type (of the element, for a sequence or optional). */
TesseraDataType tessera_io_info_dtype(const TesseraIoInfo* info);
/* -1 when the rank is unknown. */
int64_t tessera_io_info_rank(const TesseraIoInfo* info);
/* `rank` dims; -1 for a dim that is not fixed (symbolic or unknown). NULL when the rank is 0 or unknown. */
const int64_t* tessera_io_info_shape(const TesseraIoInfo* info);
/* The symbolic name of dim `axis` ("batch"), "" when it has none, NULL when axis >= rank. */
const char* tessera_io_info_dim_name(const TesseraIoInfo* info, size_t axis);

/* ---- Tensors ---- */
/* A tensor over the caller's buffer, without a copy: `data` holds `byte_size` bytes, exactly the
 * shape's element count times the element size, row-major. The buffer must stay valid, and
 * unchanged during runs that read it, until the tensor is released. Not for TESSERA_STRING. */
TesseraStatus* tessera_create_tensor_over_buffer(TesseraDataType dtype, const int64_t* shape, size_t rank, void* data,
                                                 size_t byte_size, TesseraTensor** out);
void tessera_release_tensor(TesseraTensor* tensor);
TesseraDataType tessera_tensor_dtype(const TesseraTensor* tensor);
size_t tessera_tensor_rank(const TesseraTensor* tensor);
const int64_t* tessera_tensor_shape(const TesseraTensor* tensor); /* `rank` dims */
int64_t tessera_tensor_element_count(const TesseraTensor* tensor);
size_t tessera_tensor_byte_size(const TesseraTensor* tensor);      /* 0 for TESSERA_STRING */
/* The elements, row-major (an output's belong to it, writable); NULL for TESSERA_STRING tensors. */
void* tessera_tensor_data(TesseraTensor* tensor);
/* Element `index` of a TESSERA_STRING tensor: its bytes (not NUL-terminated if they hold NULs)
 * and length, valid while the tensor lives. */
TesseraStatus* tessera_tensor_string(const TesseraTensor* tensor, size_t index, const char** data, size_t* length);

/* ---- Run options: stop a run early ---- */
TesseraStatus* tessera_create_run_options(TesseraRunOptions** out);
void tessera_release_run_options(TesseraRunOptions* options);
/* Nonzero stops every run using these options, from any thread, at the next node; runs then
 * return TESSERA_CANCELLED. Zero lets later runs go on. */
void tessera_run_options_set_terminate(TesseraRunOptions* options, int terminate);
/* Each run using these options stops with TESSERA_DEADLINE_EXCEEDED once it has taken
 * `milliseconds` (counted from its start); 0 or less: no timeout. */
void tessera_run_options_set_timeout_ms(TesseraRunOptions* options, int64_t milliseconds);

/* ---- Running ---- */
/* Feeds `inputs[i]` as the input named `input_names[i]` and returns the outputs named
 * `output_names` (NULL: all outputs in graph order; then output_count must equal
 * tessera_session_output_count). On success `outputs[0..output_count)` receive new tensors the
 * caller releases; outputs never share memory with the inputs or the session. `run_options`
 * may be NULL. Non-tensor outputs (sequences, maps, empty optionals) are an error naming them. */
TesseraStatus* tessera_run(const TesseraSession* session, const TesseraRunOptions* run_options,
                           const char* const* input_names, const TesseraTensor* const* inputs, size_t input_count,
                           const char* const* output_names, size_t output_count, TesseraTensor** outputs);

/* ---- Training (docs/training.md: the artifact files and what each call does) ---- */
/* Writes the training artifacts of the inference model at `model_path` into the existing
 * `directory`: `requires_grad[0..requires_grad_count)` name its trainable float32 initializers;
 * `loss` is "CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss" or "L1Loss" (of the model's first
 * output against a new input "target"); `optimizer` "AdamW" or "SGD" at `learning_rate`. */
TesseraStatus* tessera_generate_training_artifacts(const char* model_path, const char* const* requires_grad,
                                                   size_t requires_grad_count, const char* loss, const char* optimizer,
                                                   double learning_rate, const char* directory);
/* A training session from artifact files; `eval_model` may be NULL (eval steps then run the
 * training model's forward in inference mode). The checkpoint's step and learning rate apply. */
TesseraStatus* tessera_create_training_session(const char* training_model, const char* eval_model,
                                               const char* optimizer_config, const char* checkpoint,
                                               TesseraTrainingSession** out);
/* The same with the standard file names in `directory` (eval_model.onnx when it exists). */
TesseraStatus* tessera_create_training_session_from_directory(const char* directory, TesseraTrainingSession** out);
void tessera_release_training_session(TesseraTrainingSession* session);
/* Forward and backward on the feeds (the model's inputs and "target"); *loss_out gets the loss.
 * Gradients add up over train steps until tessera_training_lazy_reset_grad. A training session is
 * used from one thread at a time. */
TesseraStatus* tessera_training_train_step(TesseraTrainingSession* session, const char* const* input_names,
                                           const TesseraTensor* const* inputs, size_t input_count, float* loss_out);
/* The eval forward on the feeds: *loss_out gets the loss and `outputs[0..output_count)` new
 * tensors (the caller releases them) for the model's outputs other than the loss, in order;
 * output_count must be 0 or tessera_training_eval_output_count's. */
TesseraStatus* tessera_training_eval_step(TesseraTrainingSession* session, const char* const* input_names,
                                          const TesseraTensor* const* inputs, size_t input_count, float* loss_out,
                                          size_t output_count, TesseraTensor** outputs);
TesseraStatus* tessera_training_eval_output_count(TesseraTrainingSession* session, size_t* out);
/* Updates the parameters from the accumulated gradients; the next train step starts them anew. */
TesseraStatus* tessera_training_optimizer_step(TesseraTrainingSession* session);
TesseraStatus* tessera_training_lazy_reset_grad(TesseraTrainingSession* session);
TesseraStatus* tessera_training_get_learning_rate(const TesseraTrainingSession* session, double* out);
TesseraStatus* tessera_training_set_learning_rate(TesseraTrainingSession* session, double learning_rate);
/* Optimizer steps taken (a resumed checkpoint's included). */
int64_t tessera_training_step_count(const TesseraTrainingSession* session);
/* Parameters, optimizer state, buffers, step and learning rate; load checks them against the session. */
TesseraStatus* tessera_training_save_checkpoint(const TesseraTrainingSession* session, const char* path);
TesseraStatus* tessera_training_load_checkpoint(TesseraTrainingSession* session, const char* path);
/* The forward model without the loss, the trained parameters as initializers, as ONNX. */
TesseraStatus* tessera_training_export_inference_model(const TesseraTrainingSession* session, const char* path);
/* The trainable parameters: their count, names and values (a copy the caller releases). */
size_t tessera_training_parameter_count(const TesseraTrainingSession* session);
const char* tessera_training_parameter_name(const TesseraTrainingSession* session, size_t index); /* NULL out of range */
TesseraStatus* tessera_training_parameter(const TesseraTrainingSession* session, size_t index, TesseraTensor** out);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_TESSERA_C_H_ */
