// Training artifacts: the files a TrainingSession is made from, and generate_artifacts, which
// writes them from an inference model. In one directory (docs/training.md):
//   training_model.onnx  the forward graph; output 0 is the scalar loss, then the model's outputs
//   eval_model.onnx      optional: the same for evaluation (e.g. exported in eval mode)
//   optimizer.cfg        text, one "key value" per line (optimizer, learning_rate, ...)
//   checkpoint.ckpt      checkpoint.h: the trainable parameters by name (these say which
//                        initializers train), optimizer state, step
// The gradient graph is not stored: the session builds it from the training model when created.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/status.h"
#include "training/optimizers.h"

namespace tessera {

struct ArtifactPaths {
  std::string training_model;
  std::string eval_model;  // "" when there is none
  std::string optimizer;
  std::string checkpoint;
  // The standard names in `directory`; eval_model only when that file exists.
  static ArtifactPaths in(const std::string& directory);
};

struct OptimizerArtifact {
  OptimizerConfig config;
  LinearSchedule schedule;
};
Status write_optimizer_config(const OptimizerArtifact& optimizer, const std::string& path);
// Unknown keys and bad values are errors naming the file and line.
Result<OptimizerArtifact> read_optimizer_config(const std::string& path);

// The losses generate_artifacts appends, PyTorch's definitions with reduction "mean".
enum class LossKind { cross_entropy, mse, bce_with_logits, l1 };
// "CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss", "L1Loss".
Result<LossKind> parse_loss_kind(const std::string& name);

// `model` with the loss of its output `output` ("" for the first output) against a new graph
// input `target` (CrossEntropyLoss: int64 class indices, the output's shape without axis 1; the
// others: float32 of the output's shape) as a new first output named "loss".
Result<Model> append_loss(Model model, LossKind loss, const std::string& output = "", const std::string& target = "target");

struct ArtifactOptions {
  std::vector<std::string> requires_grad;  // float32 initializers of the model
  LossKind loss = LossKind::cross_entropy;
  std::string output;                      // the output the loss reads; "" for the first
  OptimizerArtifact optimizer;
  std::optional<Model> eval_model;         // else no eval_model.onnx (eval runs the training forward)
};
// Writes the artifacts of `model` into `directory` (which must exist).
Status generate_artifacts(Model model, const ArtifactOptions& options, const std::string& directory);

}  // namespace tessera
