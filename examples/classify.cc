// The C++ API in 17 lines: load a model, feed a tensor, read the scores.
#include <iostream>

#include "tessera/session.h"

int main(int argc, char** argv) {
  if (argc < 2) return std::cerr << "usage: classify MODEL.onnx\n", 2;
  tessera::SessionOptions options;
  options.intra_op_threads = 2;
  auto session = tessera::Session::load(argv[1], options);
  if (!session.is_ok()) return std::cerr << session.status().message() << "\n", 1;
  const tessera::IoInfo& input = session->inputs().at(0);
  tessera::Shape shape;
  for (int64_t d : input.shape) shape.push_back(d < 0 ? 1 : d);  // symbolic dims -> 1
  auto x = tessera::Tensor::create(tessera::DataType::float32, shape);  // zeros; fill with your data
  if (!x.is_ok()) return std::cerr << x.status().message() << "\n", 1;
  auto outputs = session->run({{input.name, *x}});
  if (!outputs.is_ok()) return std::cerr << outputs.status().message() << "\n", 1;
  const tessera::Tensor& scores = (*outputs)[0].tensor();
  std::cout << input.name << " -> " << tessera::shape_to_string(scores.shape()) << "\n";
}
