// The feeds of `tessera run`, from the user's own data: a --data folder of input_K.pb files,
// --input [NAME=]FILE (.pb, .npy, .npz or an image), and --random / --zeros for the rest.
// Named files go to their input; the others fill the inputs left, in graph order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tessera/session.h"
#include "tools/synthetic_inputs.h"

namespace tessera::cli {

struct InputSources {
  std::string data_dir;             // --data: input_K.pb files
  std::vector<std::string> files;   // --input [NAME=]FILE
  std::optional<Fill> fill;         // --random / --zeros: every input not given otherwise
  std::vector<std::string> dims;    // --dim NAME=VALUE for the made-up inputs
  std::vector<float> mean, std;     // --mean / --std for image inputs
};

// Checks the command line against the model before any file is read: each NAME= names an input
// (else the error lists the valid names) and each --dim a symbolic dimension.
Status check_input_names(const InputSources& sources, const std::vector<IoInfo>& inputs, const std::string& model);

// Reads and matches every source. Fails naming the file and the input it was meant for, or the
// inputs left without a value.
Result<Feeds> gather_feeds(const InputSources& sources, const std::vector<IoInfo>& inputs, const std::string& model);

}  // namespace tessera::cli
