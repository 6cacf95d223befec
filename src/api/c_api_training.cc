// The C API's training part (tessera_c.h, "Training") over training/training_session.h and
// training/artifacts.h, with c_api.cc's conventions: statuses, no exception leaves, handles own
// their C++ objects.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/c_api_internal.h"
#include "model/model_loader.h"
#include "training/training_session.h"

struct TesseraTrainingSession {
  std::unique_ptr<tessera::TrainingSession> session;
};

using namespace tessera::c_api;  // NOLINT: the C API's shared helpers (c_api_internal.h)

namespace {

// The feeds of a train or eval step; fails naming `fn` and the input at fault.
TesseraStatus* to_feeds(const char* fn, const char* const* names, const TesseraTensor* const* inputs, size_t count,
                        tessera::Feeds& feeds) {
  if (count > 0 && (!names || !inputs)) return invalid(fn, ": input_names or inputs is NULL");
  for (size_t i = 0; i < count; ++i) {
    if (!names[i] || !inputs[i]) return invalid(fn, ": input ", i, " has a NULL name or tensor");
    feeds.emplace_back(names[i], tessera::Value(inputs[i]->tensor));
  }
  return nullptr;
}

TesseraStatus* create(const tessera::ArtifactPaths& paths, TesseraTrainingSession** out) {
  auto made = tessera::TrainingSession::create(paths);
  if (!made.is_ok()) return to_c(made.status());
  *out = new TesseraTrainingSession{std::move(made).value()};
  return nullptr;
}

}  // namespace

extern "C" {

TesseraStatus* tessera_generate_training_artifacts(const char* model_path, const char* const* requires_grad,
                                                   size_t requires_grad_count, const char* loss, const char* optimizer,
                                                   double learning_rate, const char* directory) {
  return guarded([&]() -> TesseraStatus* {
    const char* fn = "tessera_generate_training_artifacts";
    if (!model_path || !loss || !optimizer || !directory) return invalid(fn, ": model_path, loss, optimizer or directory is NULL");
    if (requires_grad_count > 0 && !requires_grad) return invalid(fn, ": requires_grad is NULL");
    tessera::ArtifactOptions options;
    for (size_t i = 0; i < requires_grad_count; ++i) {
      if (!requires_grad[i]) return invalid(fn, ": requires_grad[", i, "] is NULL");
      options.requires_grad.emplace_back(requires_grad[i]);
    }
    tessera::Result<tessera::LossKind> kind = tessera::parse_loss_kind(loss);
    if (!kind.is_ok()) return to_c(kind.status().with_context(fn));
    options.loss = *kind;
    const std::string opt = optimizer;
    if (opt != "AdamW" && opt != "SGD") return invalid(fn, ": optimizer '", opt, "' is not AdamW or SGD");
    options.optimizer.config.kind = opt == "AdamW" ? tessera::OptimizerConfig::Kind::adamw : tessera::OptimizerConfig::Kind::sgd;
    options.optimizer.config.learning_rate = learning_rate;
    if (opt == "AdamW") options.optimizer.config.weight_decay = 0.01;  // PyTorch's AdamW default
    tessera::Result<tessera::Model> model = tessera::load_model_file(model_path);
    if (!model.is_ok()) return to_c(model.status());
    return to_c(tessera::generate_artifacts(std::move(model).value(), options, directory));
  });
}

TesseraStatus* tessera_create_training_session(const char* training_model, const char* eval_model,
                                               const char* optimizer_config, const char* checkpoint,
                                               TesseraTrainingSession** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!out) return invalid("tessera_create_training_session: out is NULL");
    if (!training_model || !optimizer_config || !checkpoint)
      return invalid("tessera_create_training_session: training_model, optimizer_config or checkpoint is NULL");
    return create({training_model, eval_model ? eval_model : "", optimizer_config, checkpoint}, out);
  });
}

TesseraStatus* tessera_create_training_session_from_directory(const char* directory, TesseraTrainingSession** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!out || !directory) return invalid("tessera_create_training_session_from_directory: directory or out is NULL");
    return create(tessera::ArtifactPaths::in(directory), out);
  });
}

void tessera_release_training_session(TesseraTrainingSession* session) { delete session; }

TesseraStatus* tessera_training_train_step(TesseraTrainingSession* session, const char* const* input_names,
                                           const TesseraTensor* const* inputs, size_t input_count, float* loss_out) {
  return guarded([&]() -> TesseraStatus* {
    const char* fn = "tessera_training_train_step";
    if (!session || !loss_out) return invalid(fn, ": session or loss_out is NULL");
    tessera::Feeds feeds;
    if (TesseraStatus* bad = to_feeds(fn, input_names, inputs, input_count, feeds)) return bad;
    tessera::Result<float> loss = session->session->train_step(feeds);
    if (!loss.is_ok()) return to_c(loss.status());
    *loss_out = *loss;
    return nullptr;
  });
}

TesseraStatus* tessera_training_eval_output_count(TesseraTrainingSession* session, size_t* out) {
  return guarded([&]() -> TesseraStatus* {
    if (!session || !out) return invalid("tessera_training_eval_output_count: session or out is NULL");
    tessera::Result<std::vector<std::string>> names = session->session->eval_output_names();
    if (!names.is_ok()) return to_c(names.status());
    *out = names->size();
    return nullptr;
  });
}

TesseraStatus* tessera_training_eval_step(TesseraTrainingSession* session, const char* const* input_names,
                                          const TesseraTensor* const* inputs, size_t input_count, float* loss_out,
                                          size_t output_count, TesseraTensor** outputs) {
  return guarded([&]() -> TesseraStatus* {
    const char* fn = "tessera_training_eval_step";
    if (!session || !loss_out) return invalid(fn, ": session or loss_out is NULL");
    if (output_count > 0 && !outputs) return invalid(fn, ": outputs is NULL");
    tessera::Feeds feeds;
    if (TesseraStatus* bad = to_feeds(fn, input_names, inputs, input_count, feeds)) return bad;
    tessera::Result<tessera::EvalResult> result = session->session->eval_step(feeds);
    if (!result.is_ok()) return to_c(result.status());
    if (output_count != 0 && output_count != result->outputs.size())
      return invalid(fn, ": output_count must be 0 or the eval model's ", result->outputs.size(), " outputs, got ", output_count);
    std::vector<std::unique_ptr<TesseraTensor>> made;
    for (size_t i = 0; i < output_count; ++i) {
      if (!result->outputs[i].is_tensor()) return invalid(fn, ": output ", i, " is not a tensor; the C API returns tensors only");
      made.push_back(std::make_unique<TesseraTensor>(TesseraTensor{std::move(result->outputs[i].tensor())}));
    }
    for (size_t i = 0; i < output_count; ++i) outputs[i] = made[i].release();
    *loss_out = result->loss;
    return nullptr;
  });
}

TesseraStatus* tessera_training_optimizer_step(TesseraTrainingSession* session) {
  return guarded([&]() -> TesseraStatus* {
    if (!session) return invalid("tessera_training_optimizer_step: session is NULL");
    return to_c(session->session->optimizer_step());
  });
}

TesseraStatus* tessera_training_lazy_reset_grad(TesseraTrainingSession* session) {
  if (!session) return invalid("tessera_training_lazy_reset_grad: session is NULL");
  session->session->lazy_reset_grad();
  return nullptr;
}

TesseraStatus* tessera_training_get_learning_rate(const TesseraTrainingSession* session, double* out) {
  if (!session || !out) return invalid("tessera_training_get_learning_rate: session or out is NULL");
  *out = session->session->learning_rate();
  return nullptr;
}

TesseraStatus* tessera_training_set_learning_rate(TesseraTrainingSession* session, double learning_rate) {
  if (!session) return invalid("tessera_training_set_learning_rate: session is NULL");
  if (!(learning_rate >= 0)) return invalid("tessera_training_set_learning_rate: the learning rate must be >= 0, got ", learning_rate);
  session->session->set_learning_rate(learning_rate);
  return nullptr;
}

int64_t tessera_training_step_count(const TesseraTrainingSession* session) { return session ? session->session->step() : 0; }

TesseraStatus* tessera_training_save_checkpoint(const TesseraTrainingSession* session, const char* path) {
  return guarded([&]() -> TesseraStatus* {
    if (!session || !path) return invalid("tessera_training_save_checkpoint: session or path is NULL");
    return to_c(session->session->save_checkpoint(path));
  });
}

TesseraStatus* tessera_training_load_checkpoint(TesseraTrainingSession* session, const char* path) {
  return guarded([&]() -> TesseraStatus* {
    if (!session || !path) return invalid("tessera_training_load_checkpoint: session or path is NULL");
    return to_c(session->session->load_checkpoint(path));
  });
}

TesseraStatus* tessera_training_export_inference_model(const TesseraTrainingSession* session, const char* path) {
  return guarded([&]() -> TesseraStatus* {
    if (!session || !path) return invalid("tessera_training_export_inference_model: session or path is NULL");
    return to_c(session->session->export_inference_model(path));
  });
}

size_t tessera_training_parameter_count(const TesseraTrainingSession* session) {
  return session ? session->session->parameter_names().size() : 0;
}

const char* tessera_training_parameter_name(const TesseraTrainingSession* session, size_t index) {
  if (!session || index >= session->session->parameter_names().size()) return nullptr;
  return session->session->parameter_names()[index].c_str();
}

TesseraStatus* tessera_training_parameter(const TesseraTrainingSession* session, size_t index, TesseraTensor** out) {
  return guarded([&]() -> TesseraStatus* {
    if (!session || !out) return invalid("tessera_training_parameter: session or out is NULL");
    const size_t count = session->session->parameter_names().size();
    if (index >= count) return invalid("tessera_training_parameter: index ", index, " is out of range (", count, " parameters)");
    tessera::Result<tessera::Tensor> copy = session->session->parameter(index).clone();
    if (!copy.is_ok()) return to_c(copy.status());
    *out = new TesseraTensor{std::move(copy).value()};
    return nullptr;
  });
}

}  // extern "C"
