// The ONNX ops that draw random numbers. Their outputs differ from run to run (a seeded
// generator advances with each run), so passes never fold or merge them and session creation
// never warms up a graph that has one (a warm-up run would take the first draw).
#pragma once

#include <string>

namespace tessera {

inline bool is_random_op(const std::string& op_type) {
  return op_type == "RandomNormal" || op_type == "RandomUniform" || op_type == "RandomNormalLike" ||
         op_type == "RandomUniformLike" || op_type == "Bernoulli" || op_type == "Multinomial" ||
         op_type == "Dropout";  // Dropout draws in training mode
}

}  // namespace tessera
