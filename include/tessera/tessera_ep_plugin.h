/* Tessera execution-provider plugins: a small, versioned C ABI.
 *
 * A plugin is a shared library exporting
 *
 *     const TesseraEpPlugin* tessera_ep_plugin(void);
 *
 * which returns a table that lives as long as the library is loaded. Tessera loads it when a
 * session lists it (SessionOptions::providers, `--ep NAME:PATH`), refuses it when abi_version is
 * not TESSERA_EP_PLUGIN_ABI_VERSION or its name is not the one asked for, then:
 *   - asks `supports` about every node of the main graph (its op, domain, opset, attributes, the
 *     dtype and shape of each input and output as inferred before any run, and the contents of
 *     inputs that are constant initializers: weights);
 *   - makes a kernel per claimed node with `create_kernel` (once, at session creation) and calls
 *     `compute` on it for every run, possibly from several threads at once;
 *   - for a plugin with memory of its own (TESSERA_EP_MEMORY_DEVICE), gives the kernel inputs in
 *     that memory and allocates its outputs there through `allocate`, copying values to and from
 *     host memory with `copy` exactly where a value crosses between a host node and a plugin node
 *     (graph inputs and outputs live on the host); a TESSERA_EP_MEMORY_HOST plugin computes in
 *     host memory, needs no copies, and leaves allocate, free and copy NULL.
 * Pointers in a TesseraEpNode (names, dims, attribute values, constant data) are valid only during
 * the call that gets it: a kernel copies what it keeps.
 * Every function that can fail returns 0 on success and writes a message into `error`
 * (at most error_size bytes, NUL included) otherwise. Only C types cross the boundary.
 */
#ifndef TESSERA_EP_PLUGIN_H
#define TESSERA_EP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TESSERA_EP_PLUGIN_ABI_VERSION 2
#define TESSERA_EP_PLUGIN_ENTRY "tessera_ep_plugin"

/* Element types use ONNX's TensorProto.DataType numbers: 1 float, 6 int32, 7 int64, 10 float16... */
typedef int32_t TesseraEpDataType;
#define TESSERA_EP_FLOAT 1

/* The type of a value as inferred before any run. rank -1: unknown; a dim of -1: not fixed.
 * `data` holds the value's contents (dense, row-major, `bytes` long) when it is a constant: an
 * input that is an initializer the caller cannot feed, or a tensor attribute; NULL otherwise
 * (and for string tensors). */
typedef struct TesseraEpValueInfo {
  TesseraEpDataType dtype; /* 0: unknown or not a tensor */
  int32_t rank;
  const int64_t* dims;
  const void* data;
  size_t bytes;
} TesseraEpValueInfo;

/* Attribute kinds use ONNX's AttributeProto.AttributeType numbers. */
typedef enum TesseraEpAttributeType {
  TESSERA_EP_ATTR_FLOAT = 1,
  TESSERA_EP_ATTR_INT = 2,
  TESSERA_EP_ATTR_STRING = 3,
  TESSERA_EP_ATTR_TENSOR = 4,
  TESSERA_EP_ATTR_FLOATS = 6,
  TESSERA_EP_ATTR_INTS = 7,
  TESSERA_EP_ATTR_STRINGS = 8
} TesseraEpAttributeType;

/* One attribute of a node; only the fields of its type are set. Graph-valued attributes (If,
 * Loop, Scan bodies) are not passed: such nodes always run on the host. */
typedef struct TesseraEpAttribute {
  const char* name;
  TesseraEpAttributeType type;
  int64_t i;
  float f;
  const char* s; /* NUL-terminated; s_size bytes without the NUL (a string may hold NULs) */
  size_t s_size;
  size_t count; /* elements of ints, floats or strings */
  const int64_t* ints;
  const float* floats;
  const char* const* strings;
  TesseraEpValueInfo tensor; /* TESSERA_EP_ATTR_TENSOR: its dtype, dims and data */
} TesseraEpAttribute;

/* One node, as `supports` and `create_kernel` see it. Omitted inputs have dtype 0 and rank -1. */
typedef struct TesseraEpNode {
  const char* name;
  const char* op_type;
  const char* domain; /* "" for the default ONNX domain */
  int64_t opset;      /* the model's import for the domain */
  size_t input_count;
  const TesseraEpValueInfo* inputs;
  size_t output_count;
  const TesseraEpValueInfo* outputs;
  size_t attribute_count;
  const TesseraEpAttribute* attributes; /* in name order */
} TesseraEpNode;

/* What a kernel is made for: the session's options that concern it. */
typedef struct TesseraEpKernelConfig {
  int32_t threads; /* the session's intra-op threads (SessionOptions::intra_op_threads); 0: one per core */
} TesseraEpKernelConfig;

/* A tensor during a run: in the plugin's memory, dense, row-major. */
typedef struct TesseraEpTensor {
  TesseraEpDataType dtype;
  int32_t rank;
  const int64_t* dims;
  void* data;
} TesseraEpTensor;

/* What `compute` gets besides its inputs: allocates output `index` (in the plugin's memory, through
 * the plugin's `allocate`) and returns its data, or NULL with the reason in the run's error. */
typedef struct TesseraEpOutputs {
  void* context;
  void* (*allocate)(void* context, size_t index, TesseraEpDataType dtype, int32_t rank, const int64_t* dims);
} TesseraEpOutputs;

typedef enum TesseraEpCopyDirection { TESSERA_EP_HOST_TO_DEVICE = 0, TESSERA_EP_DEVICE_TO_HOST = 1 } TesseraEpCopyDirection;

/* Where a plugin's tensors live. */
typedef enum TesseraEpMemory { TESSERA_EP_MEMORY_DEVICE = 0, TESSERA_EP_MEMORY_HOST = 1 } TesseraEpMemory;

typedef struct TesseraEpPlugin {
  uint32_t abi_version; /* TESSERA_EP_PLUGIN_ABI_VERSION */
  const char* name;     /* what `--ep NAME:PATH` must call it */
  int16_t device_id;    /* tensors in its memory are tagged other:device_id (TESSERA_EP_MEMORY_DEVICE) */
  TesseraEpMemory memory;

  /* 1 when it runs `node`; 0 otherwise, with why in `reason` ("op", "dtype", ...: a short text). */
  int (*supports)(const TesseraEpNode* node, char* reason, size_t reason_size);
  /* A kernel for a node `supports` claimed; *kernel is what compute and release_kernel get. */
  int (*create_kernel)(const TesseraEpNode* node, const TesseraEpKernelConfig* config, void** kernel, char* error,
                       size_t error_size);
  int (*compute)(const void* kernel, const TesseraEpTensor* inputs, size_t input_count, const TesseraEpOutputs* outputs,
                 char* error, size_t error_size);
  void (*release_kernel)(void* kernel);

  /* The plugin's memory (TESSERA_EP_MEMORY_DEVICE only; NULL for a host-memory plugin): NULL when it
   * has none left. */
  void* (*allocate)(size_t bytes);
  void (*free)(void* data);
  /* Copies `bytes` between host memory and the plugin's (one side of each is the plugin's). */
  int (*copy)(void* dst, const void* src, size_t bytes, TesseraEpCopyDirection direction, char* error, size_t error_size);
} TesseraEpPlugin;

typedef const TesseraEpPlugin* (*TesseraEpPluginEntry)(void);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_EP_PLUGIN_H */
