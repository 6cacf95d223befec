// The v2 request and response codec on its own: JSON and binary inputs to tensors, checks against
// the model's declared inputs, outputs back to JSON and binary.
#include "src/serve/tensor_codec.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/serve/codec_test_models.h"

namespace tessera::serve {
namespace {

using codec_test::declared;

std::vector<IoInfo> inputs() { return {declared("x", DataType::float32, Shape{-1, 2}), declared("s", DataType::string, Shape{-1})}; }

std::vector<IoInfo> outputs() { return {declared("y", DataType::int64)}; }

Result<InferRequest> decode(const std::string& body, int64_t header_length = -1) {
  return decode_infer_request(body, header_length, inputs(), outputs(), CodecLimits{});
}

TEST(TensorCodec, JsonInputsInModelOrderNestedOrFlat) {
  auto request = decode(R"({"id": "7", "inputs": [
      {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["a", "bc"]},
      {"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2.5], [-3, 4]]}]})");
  ASSERT_TRUE(request.is_ok()) << request.status().message();
  EXPECT_EQ(request->id, "7");
  ASSERT_EQ(request->feeds.size(), 2u);
  EXPECT_EQ(request->feeds[0].first, "x");
  const Tensor& x = request->feeds[0].second.tensor();
  EXPECT_EQ(x.shape(), (Shape{2, 2}));
  EXPECT_EQ(std::vector<float>(x.span<float>().begin(), x.span<float>().end()), (std::vector<float>{1, 2.5f, -3, 4}));
  EXPECT_EQ(request->feeds[1].second.tensor().data<std::string>()[1], "bc");
}

TEST(TensorCodec, BinaryInputs) {
  std::string header = R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "parameters": {"binary_data_size": 8}},
      {"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 7}}]})";
  float values[2] = {0.5f, -2};
  std::string body = header + std::string(reinterpret_cast<const char*>(values), 8) + std::string("\3\0\0\0xyz", 7);
  auto request = decode(body, static_cast<int64_t>(header.size()));
  ASSERT_TRUE(request.is_ok()) << request.status().message();
  EXPECT_EQ(request->feeds[0].second.tensor().data<float>()[1], -2.0f);
  EXPECT_EQ(request->feeds[1].second.tensor().data<std::string>()[0], "xyz");
}

TEST(TensorCodec, ErrorsNameTheInputAndWhatWasExpected) {
  const std::string s = R"({"name": "s", "datatype": "BYTES", "shape": [1], "data": ["a"]})";
  auto message = [&](const std::string& x) {
    auto r = decode(R"({"inputs": [)" + s + "," + x + "]}");
    return r.is_ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(message(R"({"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]})"),
            "input 'x': shape [1,3], expected [-1,2] (-1: any size)");
  EXPECT_EQ(message(R"({"name": "x", "datatype": "INT64", "shape": [1, 2], "data": [1, 2]})"),
            "input 'x': datatype INT64, expected FP32");
  EXPECT_EQ(message(R"({"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1]})"),
            "input 'x': 1 data elements for shape [1,2] of 2 elements");
  EXPECT_EQ(message(R"({"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, true]})"),
            "input 'x': element 1 (true) is not a valid FP32");
  EXPECT_NE(decode("{\"inputs\": [").status().message().find("malformed JSON"), std::string::npos);
  EXPECT_NE(decode(std::string(1000, '[')).status().message().find("nested deeper than 64"), std::string::npos);
}

TEST(TensorCodec, IntegerRangesAreChecked) {
  const std::vector<IoInfo> in = {declared("b", DataType::uint8)};
  auto decode_b = [&](const std::string& data) {
    return decode_infer_request(R"({"inputs": [{"name": "b", "datatype": "UINT8", "shape": [2], "data": )" + data + "}]}",
                                -1, in, {}, CodecLimits{});
  };
  auto ok = decode_b("[0, 255]");
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->feeds[0].second.tensor().data<uint8_t>()[1], 255);
  EXPECT_FALSE(decode_b("[0, 256]").is_ok());
  EXPECT_FALSE(decode_b("[-1, 0]").is_ok());
  EXPECT_FALSE(decode_b("[0.5, 0]").is_ok());
}

TEST(TensorCodec, ResponseJsonAndBinary) {
  auto y = Tensor::from_vector<int64_t>(DataType::int64, {3}, {1, -2, 3});
  ASSERT_TRUE(y.is_ok());
  InferRequest request;
  request.id = "r";
  auto json = encode_infer_response("m", "1", request, outputs(), {Value(*y)});
  ASSERT_TRUE(json.is_ok());
  EXPECT_EQ(json->header_length, -1);
  EXPECT_EQ(json->body,
            R"({"id":"r","model_name":"m","model_version":"1","outputs":[{"data":[1,-2,3],"datatype":"INT64","name":"y","shape":[3]}]})");
  request.outputs = {{"y", true}};
  auto binary = encode_infer_response("m", "1", request, outputs(), {Value(*y)});
  ASSERT_TRUE(binary.is_ok());
  ASSERT_EQ(binary->body.size(), static_cast<size_t>(binary->header_length) + 24);
  int64_t second = 0;
  std::memcpy(&second, binary->body.data() + binary->header_length + 8, 8);
  EXPECT_EQ(second, -2);
  EXPECT_NE(binary->body.find(R"("binary_data_size":24)"), std::string::npos);
}

}  // namespace
}  // namespace tessera::serve
