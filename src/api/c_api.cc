// The C API (include/tessera/tessera_c.h) over the C++ API (tessera/session.h). Each handle is a
// struct holding the C++ object; every entry point that can fail runs inside `guarded`, so no
// exception reaches a C caller, and turns a tessera::Status into a TesseraStatus*.
#include "tessera/tessera_c.h"

#include <chrono>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "api/c_api_internal.h"
#include "tessera/session.h"

struct TesseraSessionOptions {
  tessera::SessionOptions options;
};

struct TesseraSession {
  tessera::Session session;
  std::string profile_written;  // what tessera_session_end_profiling's path points to
};

struct TesseraRunOptions {
  std::shared_ptr<std::atomic<bool>> terminate = std::make_shared<std::atomic<bool>>(false);
  int64_t timeout_ms = 0;
};

// The C enums are the C++ ones by number; these keep them so.
static_assert(TESSERA_INVALID_ARGUMENT == static_cast<int>(tessera::StatusCode::invalid_argument));
static_assert(TESSERA_DEADLINE_EXCEEDED == static_cast<int>(tessera::StatusCode::deadline_exceeded));
static_assert(TESSERA_BFLOAT16 == static_cast<int>(tessera::DataType::bfloat16));
static_assert(TESSERA_LOG_FATAL == static_cast<int>(tessera::LogSeverity::fatal));
static_assert(TESSERA_OPT_ALL == static_cast<int>(tessera::OptimizationLevel::all));
static_assert(TESSERA_KIND_UNKNOWN == static_cast<int>(tessera::IoInfo::Kind::unknown));

using namespace tessera::c_api;  // NOLINT: the C API's shared helpers (c_api_internal.h)

namespace {

const tessera::IoInfo* cpp(const TesseraIoInfo* info) { return reinterpret_cast<const tessera::IoInfo*>(info); }

TesseraStatus* io_info(const std::vector<tessera::IoInfo>& infos, const char* what, size_t index,
                       const TesseraIoInfo** out) {
  if (!out) return invalid("tessera_session_", what, "_info: out is NULL");
  if (index >= infos.size())
    return invalid("tessera_session_", what, "_info: index ", index, " is out of range (the model has ", infos.size(), " ",
                   what, "s)");
  *out = reinterpret_cast<const TesseraIoInfo*>(&infos[index]);
  return nullptr;
}

template <class Load>
TesseraStatus* create_session(const TesseraSessionOptions* options, TesseraSession** out, const Load& load) {
  if (!out) return invalid("tessera_create_session: out is NULL");
  const tessera::SessionOptions defaults;  // not a temporary in the ?: (GCC 12 fails on one: internal compiler error)
  tessera::Result<tessera::Session> session = load(options ? options->options : defaults);
  if (!session.is_ok()) return to_c(session.status());
  *out = new TesseraSession{std::move(session).value(), {}};
  return nullptr;
}

TesseraStatus* set_path(TesseraSessionOptions* options, std::string tessera::SessionOptions::*field, const char* path,
                        const char* function) {
  if (!options) return invalid(function, ": options is NULL");
  options->options.*field = path ? path : "";
  return nullptr;
}

}  // namespace

extern "C" {

const char* tessera_version(void) { return TESSERA_VERSION_STRING; }
uint32_t tessera_api_version(void) { return TESSERA_API_VERSION; }

TesseraStatusCode tessera_status_code(const TesseraStatus* status) { return status ? status->code : TESSERA_OK; }
const char* tessera_status_message(const TesseraStatus* status) { return status ? status->message.c_str() : ""; }
void tessera_release_status(TesseraStatus* status) {
  if (status != &out_of_memory_status) delete status;
}

TesseraStatus* tessera_create_session_options(TesseraSessionOptions** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!out) return invalid("tessera_create_session_options: out is NULL");
    *out = new TesseraSessionOptions;
    return nullptr;
  });
}

void tessera_release_session_options(TesseraSessionOptions* options) { delete options; }

TesseraStatus* tessera_session_options_set_intra_op_threads(TesseraSessionOptions* options, int threads) {
  return guarded([&]() -> TesseraStatus* {
    if (!options) return invalid("tessera_session_options_set_intra_op_threads: options is NULL");
    if (threads < 0) return invalid("intra-op threads must be 0 (one per core) or more, got ", threads);
    options->options.intra_op_threads = threads;
    return nullptr;
  });
}

TesseraStatus* tessera_session_options_set_execution_mode(TesseraSessionOptions* options, TesseraExecutionMode mode) {
  return guarded([&]() -> TesseraStatus* {
    if (!options) return invalid("tessera_session_options_set_execution_mode: options is NULL");
    if (mode != TESSERA_EXECUTION_SEQUENTIAL && mode != TESSERA_EXECUTION_PARALLEL)
      return invalid("unknown execution mode ", static_cast<int>(mode), " (expected 0 sequential or 1 parallel)");
    options->options.execution_mode =
        mode == TESSERA_EXECUTION_PARALLEL ? tessera::ExecutionMode::parallel : tessera::ExecutionMode::sequential;
    return nullptr;
  });
}

TesseraStatus* tessera_session_options_set_inter_op_threads(TesseraSessionOptions* options, int threads) {
  return guarded([&]() -> TesseraStatus* {
    if (!options) return invalid("tessera_session_options_set_inter_op_threads: options is NULL");
    if (threads < 0) return invalid("inter-op threads must be 0 (one per core) or more, got ", threads);
    options->options.inter_op_threads = threads;
    return nullptr;
  });
}

TesseraStatus* tessera_session_options_set_optimization_level(TesseraSessionOptions* options,
                                                              TesseraOptimizationLevel level) {
  return guarded([&]() -> TesseraStatus* {
    if (!options) return invalid("tessera_session_options_set_optimization_level: options is NULL");
    if (level < TESSERA_OPT_DISABLED || level > TESSERA_OPT_ALL)
      return invalid("unknown optimization level ", static_cast<int>(level), " (expected 0 disabled .. 3 all)");
    options->options.optimization_level = static_cast<tessera::OptimizationLevel>(level);
    return nullptr;
  });
}

TesseraStatus* tessera_session_options_set_optimized_model_path(TesseraSessionOptions* options, const char* path) {
  return guarded([&] {
    return set_path(options, &tessera::SessionOptions::optimized_model_path, path,
                    "tessera_session_options_set_optimized_model_path");
  });
}

TesseraStatus* tessera_session_options_set_profile_path(TesseraSessionOptions* options, const char* path) {
  return guarded([&] {
    return set_path(options, &tessera::SessionOptions::profile_path, path, "tessera_session_options_set_profile_path");
  });
}

TesseraStatus* tessera_session_options_set_log_severity(TesseraSessionOptions* options, TesseraLogSeverity severity) {
  return guarded([&]() -> TesseraStatus* {
    if (!options) return invalid("tessera_session_options_set_log_severity: options is NULL");
    if (severity < TESSERA_LOG_VERBOSE || severity > TESSERA_LOG_FATAL)
      return invalid("unknown log severity ", static_cast<int>(severity), " (expected 0 verbose .. 4 fatal)");
    options->options.log_severity = static_cast<tessera::LogSeverity>(severity);
    return nullptr;
  });
}

TesseraStatus* tessera_session_options_add_free_dimension_override(TesseraSessionOptions* options, const char* dim_name,
                                                                   int64_t value) {
  return guarded([&]() -> TesseraStatus* {
    if (!options) return invalid("tessera_session_options_add_free_dimension_override: options is NULL");
    if (!dim_name || !*dim_name)
      return invalid("tessera_session_options_add_free_dimension_override: the dim name is NULL or empty");
    if (value < 0)
      return invalid("tessera_session_options_add_free_dimension_override: dim '", dim_name, "' set to ", value,
                     "; a dim is >= 0");
    options->options.free_dimension_overrides[dim_name] = value;
    return nullptr;
  });
}

TesseraStatus* tessera_session_options_set_warm_up(TesseraSessionOptions* options, int enabled) {
  return guarded([&]() -> TesseraStatus* {
    if (!options) return invalid("tessera_session_options_set_warm_up: options is NULL");
    options->options.warm_up = enabled != 0;
    return nullptr;
  });
}

TesseraStatus* tessera_create_session(const char* model_path, const TesseraSessionOptions* options,
                                      TesseraSession** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!model_path) return invalid("tessera_create_session: model_path is NULL");
    return create_session(options, out, [&](const tessera::SessionOptions& o) { return tessera::Session::load(model_path, o); });
  });
}

TesseraStatus* tessera_create_session_from_bytes(const void* data, size_t size, const TesseraSessionOptions* options,
                                                 TesseraSession** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!data && size > 0) return invalid("tessera_create_session_from_bytes: data is NULL");
    return create_session(options, out,
                          [&](const tessera::SessionOptions& o) { return tessera::Session::load_from_bytes(data, size, o); });
  });
}

void tessera_release_session(TesseraSession* session) { delete session; }

TesseraStatus* tessera_session_end_profiling(TesseraSession* session, const char** path_out) {
  return guarded([&]() -> TesseraStatus* {
    if (!session) return invalid("tessera_session_end_profiling: session is NULL");
    tessera::Result<std::string> path = session->session.end_profiling();
    if (!path.is_ok()) return to_c(path.status());
    session->profile_written = std::move(path).value();
    if (path_out) *path_out = session->profile_written.c_str();
    return nullptr;
  });
}

size_t tessera_session_input_count(const TesseraSession* session) {
  return session ? session->session.inputs().size() : 0;
}
size_t tessera_session_output_count(const TesseraSession* session) {
  return session ? session->session.outputs().size() : 0;
}

TesseraStatus* tessera_session_input_info(const TesseraSession* session, size_t index, const TesseraIoInfo** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!session) return invalid("tessera_session_input_info: session is NULL");
    return io_info(session->session.inputs(), "input", index, out);
  });
}

TesseraStatus* tessera_session_output_info(const TesseraSession* session, size_t index, const TesseraIoInfo** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!session) return invalid("tessera_session_output_info: session is NULL");
    return io_info(session->session.outputs(), "output", index, out);
  });
}

const char* tessera_io_info_name(const TesseraIoInfo* info) { return info ? cpp(info)->name.c_str() : ""; }
TesseraValueKind tessera_io_info_kind(const TesseraIoInfo* info) {
  return info ? static_cast<TesseraValueKind>(cpp(info)->kind) : TESSERA_KIND_UNKNOWN;
}
TesseraDataType tessera_io_info_dtype(const TesseraIoInfo* info) {
  return info ? static_cast<TesseraDataType>(cpp(info)->dtype) : TESSERA_UNDEFINED;
}
int64_t tessera_io_info_rank(const TesseraIoInfo* info) {
  return info && cpp(info)->has_shape ? static_cast<int64_t>(cpp(info)->shape.size()) : -1;
}
const int64_t* tessera_io_info_shape(const TesseraIoInfo* info) {
  return info && cpp(info)->has_shape && !cpp(info)->shape.empty() ? cpp(info)->shape.data() : nullptr;
}
const char* tessera_io_info_dim_name(const TesseraIoInfo* info, size_t axis) {
  if (!info || !cpp(info)->has_shape || axis >= cpp(info)->shape.size()) return nullptr;
  const std::vector<std::string>& names = cpp(info)->dim_names;
  return axis < names.size() ? names[axis].c_str() : "";
}

TesseraStatus* tessera_create_tensor_over_buffer(TesseraDataType dtype, const int64_t* shape, size_t rank, void* data,
                                                 size_t byte_size, TesseraTensor** out) {
  return guarded([&]() -> TesseraStatus* {
    const char* fn = "tessera_create_tensor_over_buffer";
    if (!out) return invalid(fn, ": out is NULL");
    if (!tessera::is_known_dtype(dtype) || dtype == TESSERA_UNDEFINED) return invalid(fn, ": unknown element type ", dtype);
    const auto type = static_cast<tessera::DataType>(dtype);
    if (type == tessera::DataType::string) return invalid(fn, ": string tensors cannot be made over a C buffer");
    if (!shape && rank > 0) return invalid(fn, ": shape is NULL for rank ", rank);
    tessera::Shape dims(shape, shape + rank);
    tessera::Result<size_t> needed = tessera::checked_byte_size(type, dims);
    if (!needed.is_ok()) return to_c(needed.status().with_context(fn));
    if (*needed != byte_size)
      return invalid(fn, ": shape ", tessera::shape_to_string(dims), " of ", tessera::dtype_name(type), " needs ", *needed,
                     " bytes, the buffer has ", byte_size);
    if (!data && byte_size > 0) return invalid(fn, ": data is NULL");
    // The caller owns the buffer: the tensor holds it through an owner that frees nothing, so
    // the run never takes it over and outputs that would alias it are copied.
    std::shared_ptr<const void> owner(data, [](const void*) {});
    *out = new TesseraTensor{tessera::Tensor::view(type, std::move(dims), std::move(owner), data)};
    return nullptr;
  });
}

void tessera_release_tensor(TesseraTensor* tensor) { delete tensor; }

TesseraDataType tessera_tensor_dtype(const TesseraTensor* tensor) {
  return tensor ? static_cast<TesseraDataType>(tensor->tensor.dtype()) : TESSERA_UNDEFINED;
}
size_t tessera_tensor_rank(const TesseraTensor* tensor) { return tensor ? tensor->tensor.rank() : 0; }
const int64_t* tessera_tensor_shape(const TesseraTensor* tensor) {
  return tensor && tensor->tensor.rank() > 0 ? tensor->tensor.shape().data() : nullptr;
}
int64_t tessera_tensor_element_count(const TesseraTensor* tensor) { return tensor ? tensor->tensor.size() : 0; }
size_t tessera_tensor_byte_size(const TesseraTensor* tensor) {
  return tensor && tensor->tensor.dtype() != tessera::DataType::string ? tensor->tensor.byte_size() : 0;
}
void* tessera_tensor_data(TesseraTensor* tensor) {
  return tensor && tensor->tensor.dtype() != tessera::DataType::string ? tensor->tensor.raw_data() : nullptr;
}

TesseraStatus* tessera_tensor_string(const TesseraTensor* tensor, size_t index, const char** data, size_t* length) {
  return guarded([&]() -> TesseraStatus* {
    if (!tensor || !data || !length) return invalid("tessera_tensor_string: tensor, data and length must not be NULL");
    const tessera::Tensor& t = tensor->tensor;
    if (t.dtype() != tessera::DataType::string)
      return invalid("tessera_tensor_string: the tensor holds ", tessera::dtype_name(t.dtype()), ", not string");
    if (index >= static_cast<size_t>(t.size()))
      return invalid("tessera_tensor_string: index ", index, " is out of range (", t.size(), " elements)");
    const std::string& s = t.data<std::string>()[index];
    *data = s.data();
    *length = s.size();
    return nullptr;
  });
}

TesseraStatus* tessera_create_run_options(TesseraRunOptions** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!out) return invalid("tessera_create_run_options: out is NULL");
    *out = new TesseraRunOptions;
    return nullptr;
  });
}

void tessera_release_run_options(TesseraRunOptions* options) { delete options; }

void tessera_run_options_set_terminate(TesseraRunOptions* options, int terminate) {
  if (options) options->terminate->store(terminate != 0);
}

void tessera_run_options_set_timeout_ms(TesseraRunOptions* options, int64_t milliseconds) {
  if (options) options->timeout_ms = milliseconds;
}

TesseraStatus* tessera_run(const TesseraSession* session, const TesseraRunOptions* run_options,
                           const char* const* input_names, const TesseraTensor* const* inputs, size_t input_count,
                           const char* const* output_names, size_t output_count, TesseraTensor** outputs) {
  return guarded([&]() -> TesseraStatus* {
    if (!session) return invalid("tessera_run: session is NULL");
    if (input_count > 0 && (!input_names || !inputs)) return invalid("tessera_run: input_names or inputs is NULL");
    if (output_count > 0 && !outputs) return invalid("tessera_run: outputs is NULL");
    const std::vector<tessera::IoInfo>& declared = session->session.outputs();
    if (!output_names && output_count != declared.size())
      return invalid("tessera_run: output_names is NULL, so output_count must be the model's ", declared.size(),
                     " outputs, got ", output_count);
    tessera::Feeds feeds;
    feeds.reserve(input_count);
    for (size_t i = 0; i < input_count; ++i) {
      if (!input_names[i] || !inputs[i]) return invalid("tessera_run: input ", i, " has a NULL name or tensor");
      feeds.emplace_back(input_names[i], tessera::Value(inputs[i]->tensor));
    }
    std::vector<std::string> names;
    for (size_t i = 0; output_names && i < output_count; ++i) {
      if (!output_names[i]) return invalid("tessera_run: output name ", i, " is NULL");
      names.emplace_back(output_names[i]);
    }
    tessera::RunOptions options;
    if (run_options) {
      options.terminate = run_options->terminate;
      if (run_options->timeout_ms > 0)
        options.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_options->timeout_ms);
    }
    tessera::Result<std::vector<tessera::Value>> values = session->session.run(feeds, names, options);
    if (!values.is_ok()) return to_c(values.status());
    std::vector<std::unique_ptr<TesseraTensor>> made;
    for (size_t i = 0; i < output_count; ++i) {
      tessera::Value& value = (*values)[i];
      if (!value.is_tensor())
        return make_status(TESSERA_NOT_IMPLEMENTED,
                           tessera::str_cat("tessera_run: output '", names.empty() ? declared[i].name : names[i], "' is ",
                                            tessera::value_type_string(value), "; the C API returns tensors only"));
      made.push_back(std::make_unique<TesseraTensor>(TesseraTensor{std::move(value.tensor())}));
    }
    for (size_t i = 0; i < output_count; ++i) outputs[i] = made[i].release();
    return nullptr;
  });
}

}  // extern "C"
