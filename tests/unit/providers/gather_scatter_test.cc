// Gather, GatherElements, GatherND, ScatterElements/Scatter, ScatterND: values on small odd
// shapes, negative indices, reductions, strings, and out-of-range indices as errors.
#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

TEST(Gather, AxesAndNegativeIndices) {
  Tensor x = iota_f({3, 5});
  expect_f(run1({"Gather", 13, {x, ti64({2}, {2, -3})}}), {2, 5}, {10, 11, 12, 13, 14, 0, 1, 2, 3, 4});
  expect_f(run1({"Gather", 13, {x, ti32({2, 1}, {4, -5})}, {attr_i("axis", 1)}}), {3, 2, 1}, {4, 0, 9, 5, 14, 10});
  expect_f(run1({"Gather", 13, {x, ti64({}, {1})}}), {5}, {5, 6, 7, 8, 9});
  EXPECT_EQ(values_of<std::string>(run1({"Gather", 13, {ts({3}, {"a", "b", "c"}), ti64({3}, {2, 2, 0})}})),
            (std::vector<std::string>{"c", "c", "a"}));
}

TEST(Gather, ThreadedBig) {
  Tensor x = iota_f({64, 300});
  std::vector<int64_t> idx;
  for (int i = 0; i < 500; ++i) idx.push_back((i * 37) % 64 - (i % 2 ? 64 : 0));
  OpCall call{"Gather", 13, {x, ti64({500}, idx)}};
  call.threads = 4;
  Tensor y = run1(call);
  for (int i = 0; i < 500; ++i) {
    int64_t row = idx[i] < 0 ? idx[i] + 64 : idx[i];
    ASSERT_EQ(y.data<float>()[i * 300 + 299], static_cast<float>(row * 300 + 299));
  }
}

TEST(Gather, MissingInputIsNamedAsTheSchemaNamesIt) {
  expect_error({"Gather", 13, {iota_f({3}), std::nullopt}}, "node 'n0' (Gather): input 1 'indices' is required but missing");
  expect_error({"Gather", 13, {iota_f({3}), Value::sequence({}, DataType::float32)}}, "input 1 'indices' must be a tensor");
}

TEST(Gather, OutOfRangeIsError) {
  expect_error({"Gather", 13, {iota_f({3}), ti64({1}, {3})}}, "out of range");
  expect_error({"Gather", 13, {iota_f({3}), ti64({1}, {-4})}}, "out of range");
  expect_error({"Gather", 13, {iota_f({3}), tf({1}, {0})}}, "int32 or int64");
}

TEST(GatherElements, Axis1AndSmallerIndices) {
  Tensor x = iota_f({3, 3});
  expect_f(run1({"GatherElements", 13, {x, ti64({2, 2}, {0, -1, 1, 0})}, {attr_i("axis", 1)}}), {2, 2}, {0, 2, 4, 3});
  expect_f(run1({"GatherElements", 13, {x, ti32({1, 3}, {2, 0, 1})}}), {1, 3}, {6, 1, 5});
  expect_error({"GatherElements", 13, {x, ti64({1, 1}, {3})}}, "out of range");
}

TEST(GatherND, BatchDimsAndSlices) {
  Tensor x = iota_f({2, 2, 3});
  expect_f(run1({"GatherND", 13, {x, ti64({2, 2}, {1, 0, 0, 1})}}), {2, 3}, {6, 7, 8, 3, 4, 5});
  expect_f(run1({"GatherND", 13, {x, ti64({2, 3}, {0, 1, 2, -1, 0, -3})}}), {2}, {5, 6});
  // batch_dims=1: per batch, index the [2,3] slab.
  expect_f(run1({"GatherND", 13, {x, ti64({2, 1, 2}, {1, 2, 0, 0})}, {attr_i("batch_dims", 1)}}), {2, 1}, {5, 6});
  expect_error({"GatherND", 13, {x, ti64({1, 1}, {2})}}, "out of range");
}

TEST(ScatterElements, NoneAndReductions) {
  Tensor data = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor idx = ti64({2, 2}, {2, 0, -1, 2});
  Tensor upd = tf({2, 2}, {10, 20, 30, 40});
  expect_f(run1({"ScatterElements", 18, {data, idx, upd}, {attr_i("axis", 1)}}), {2, 3}, {20, 2, 10, 4, 5, 40});
  expect_f(run1({"ScatterElements", 18, {data, idx, upd}, {attr_i("axis", 1), attr_s("reduction", "add")}}), {2, 3},
           {21, 2, 13, 4, 5, 76});
  expect_f(run1({"ScatterElements", 18, {data, idx, upd}, {attr_i("axis", 1), attr_s("reduction", "mul")}}), {2, 3},
           {20, 2, 30, 4, 5, 7200});
  expect_f(run1({"ScatterElements", 18, {data, ti64({1, 2}, {1, 0}), tf({1, 2}, {0, 9})}, {attr_s("reduction", "max")}}), {2, 3},
           {1, 9, 3, 4, 5, 6});
  expect_f(run1({"ScatterElements", 18, {data, ti64({1, 2}, {1, 0}), tf({1, 2}, {0, 9})}, {attr_s("reduction", "min")}}), {2, 3},
           {1, 2, 3, 0, 5, 6});
  // Deprecated Scatter is ScatterElements without reduction.
  expect_f(run1({"Scatter", 9, {data, ti64({1, 1}, {1}), tf({1, 1}, {-7})}}), {2, 3}, {1, 2, 3, -7, 5, 6});
  expect_error({"ScatterElements", 18, {data, ti64({1, 1}, {2}), tf({1, 1}, {0})}}, "out of range");
  expect_error({"ScatterElements", 18, {data, idx, upd}, {attr_s("reduction", "avg")}}, "unknown reduction");
}

TEST(ScatterND, SlicesAndReductions) {
  Tensor data = iota_f({3, 2});
  expect_f(run1({"ScatterND", 18, {data, ti64({2, 1}, {2, -3}), tf({2, 2}, {10, 11, 12, 13})}}), {3, 2}, {12, 13, 2, 3, 10, 11});
  expect_f(run1({"ScatterND", 18, {data, ti64({2, 2}, {1, 1, 1, 1}), tf({2}, {10, 5})}, {attr_s("reduction", "add")}}), {3, 2},
           {0, 1, 2, 18, 4, 5});
  expect_f(run1({"ScatterND", 18, {data, ti64({1, 2}, {2, 0}), tf({1}, {-1})}, {attr_s("reduction", "min")}}), {3, 2},
           {0, 1, 2, 3, -1, 5});
  EXPECT_EQ(values_of<std::string>(run1({"ScatterND", 18, {ts({2}, {"a", "b"}), ti64({1, 1}, {1}), ts({1}, {"z"})}})),
            (std::vector<std::string>{"a", "z"}));
  expect_error({"ScatterND", 18, {data, ti64({1, 1}, {3}), tf({1, 2}, {0, 0})}}, "out of range");
  expect_error({"ScatterND", 18, {data, ti64({1, 1}, {0}), tf({1, 3}, {0, 0, 0})}}, "updates shape");
}

TEST(TensorScatter, LinearCircularAndOverflow) {
  Tensor cache = zeros(DataType::float32, {2, 3, 2});
  Tensor upd = tf({2, 1, 2}, {1, 2, 3, 4});
  expect_f(run1({"TensorScatter", 24, {cache, upd, ti64({2}, {2, 0})}}), {2, 3, 2}, {0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0});
  expect_f(run1({"TensorScatter", 24, {cache, upd}}), {2, 3, 2}, {1, 2, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0});
  Tensor upd2 = tf({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  expect_f(run1({"TensorScatter", 24, {cache, upd2, ti64({2}, {2, 4})}, {attr_s("mode", "circular"), attr_i("axis", 1)}}), {2, 3, 2},
           {3, 4, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8});
  expect_error({"TensorScatter", 24, {cache, upd2, ti64({2}, {2, 0})}}, "exceeds");
}

}  // namespace
}  // namespace tessera::kernel_test
