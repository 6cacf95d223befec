// The v2 gRPC codec on its own: a request's bytes parsed with limits, typed contents and
// raw_input_contents to feeds, the checks shared with the HTTP codec and the gRPC codes they give,
// outputs back typed or raw.
#include "src/serve/grpc_codec.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/serve/codec_test_models.h"

namespace tessera::serve {
namespace {

using codec_test::declared;

std::vector<IoInfo> inputs() { return {declared("x", DataType::float32, Shape{-1, 2}), declared("k", DataType::int8, Shape{-1})}; }

std::vector<IoInfo> outputs() { return {declared("y", DataType::float16), declared("n", DataType::uint16)}; }

inference::ModelInferRequest typed_request() {
  inference::ModelInferRequest m;
  auto* k = m.add_inputs();
  k->set_name("k");
  k->set_datatype("INT8");
  k->add_shape(3);
  for (int v : {-128, 0, 127}) k->mutable_contents()->add_int_contents(v);
  auto* x = m.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(1);
  x->add_shape(2);
  x->mutable_contents()->add_fp32_contents(1.5f);
  x->mutable_contents()->add_fp32_contents(-2.0f);
  return m;
}

grpc::Status decode(const inference::ModelInferRequest& m, InferRequest& request, int64_t max_tensor_bytes = 1 << 20) {
  CodecLimits limits;
  limits.max_tensor_bytes = max_tensor_bytes;
  return decode_model_infer(m, inputs(), outputs(), limits, request);
}

TEST(GrpcCodec, TypedContentsInModelOrder) {
  InferRequest request;
  auto m = typed_request();
  m.set_id("r7");
  ASSERT_TRUE(decode(m, request).ok());
  EXPECT_EQ(request.id, "r7");
  EXPECT_FALSE(request.binary_outputs);
  ASSERT_EQ(request.feeds.size(), 2u);
  EXPECT_EQ(request.feeds[0].first, "x");
  const Tensor& x = request.feeds[0].second.tensor();
  EXPECT_EQ(x.shape(), (Shape{1, 2}));
  EXPECT_EQ(x.data<float>()[1], -2.0f);
  const Tensor& k = request.feeds[1].second.tensor();
  EXPECT_EQ(k.data<int8_t>()[0], -128);
  EXPECT_EQ(k.data<int8_t>()[2], 127);
}

TEST(GrpcCodec, RawContentsAnswerRaw) {
  auto m = typed_request();
  for (auto& input : *m.mutable_inputs()) input.clear_contents();
  const int8_t k[3] = {5, -6, 7};
  const float x[2] = {0.25f, 8.0f};
  m.add_raw_input_contents(std::string(reinterpret_cast<const char*>(k), sizeof k));
  m.add_raw_input_contents(std::string(reinterpret_cast<const char*>(x), sizeof x));
  InferRequest request;
  ASSERT_TRUE(decode(m, request).ok());
  EXPECT_TRUE(request.binary_outputs);
  EXPECT_EQ(request.feeds[0].second.tensor().data<float>()[0], 0.25f);
  EXPECT_EQ(request.feeds[1].second.tensor().data<int8_t>()[1], -6);
}

TEST(GrpcCodec, ErrorsNameTheInputWithTheirCode) {
  struct Case {
    void (*edit)(inference::ModelInferRequest&);
    grpc::StatusCode code;
    const char* text;
  };
  const Case cases[] = {
      {[](inference::ModelInferRequest& m) { m.mutable_inputs(0)->mutable_contents()->set_int_contents(0, 128); },
       grpc::StatusCode::INVALID_ARGUMENT, "input 'k': element 0 (128) is out of range for INT8"},
      {[](inference::ModelInferRequest& m) { m.mutable_inputs(1)->mutable_contents()->add_fp32_contents(1); },
       grpc::StatusCode::INVALID_ARGUMENT, "input 'x': 3 values in contents.fp32_contents for shape [1,2] of 2 elements"},
      {[](inference::ModelInferRequest& m) { m.mutable_inputs(1)->set_datatype("FP64"); },
       grpc::StatusCode::INVALID_ARGUMENT, "input 'x': datatype FP64, expected FP32"},
      {[](inference::ModelInferRequest& m) { m.mutable_inputs(1)->set_shape(1, 3); },
       grpc::StatusCode::INVALID_ARGUMENT, "input 'x': shape [1,3], expected [-1,2]"},
      {[](inference::ModelInferRequest& m) { m.mutable_inputs(1)->set_shape(0, -4); },
       grpc::StatusCode::INVALID_ARGUMENT, "has a negative dimension"},
      {[](inference::ModelInferRequest& m) { m.mutable_inputs(1)->set_name("z"); },
       grpc::StatusCode::INVALID_ARGUMENT, "unknown input 'z'; the model's inputs: x, k"},
      {[](inference::ModelInferRequest& m) { m.mutable_inputs()->RemoveLast(); },
       grpc::StatusCode::INVALID_ARGUMENT, "missing input 'x'"},
      {[](inference::ModelInferRequest& m) { *m.add_inputs() = m.inputs(0); },
       grpc::StatusCode::INVALID_ARGUMENT, "input 'k' is given twice"},
      {[](inference::ModelInferRequest& m) { m.mutable_inputs(1)->set_shape(0, int64_t{1} << 20); },
       grpc::StatusCode::RESOURCE_EXHAUSTED, "over the server's limit of 1048576 bytes"},
      {[](inference::ModelInferRequest& m) { m.add_raw_input_contents("abc"); },
       grpc::StatusCode::INVALID_ARGUMENT, "raw_input_contents has 1 entries for 2 inputs"},
      {[](inference::ModelInferRequest& m) {
         m.add_raw_input_contents("abc");
         m.add_raw_input_contents("12345678");
       },
       grpc::StatusCode::INVALID_ARGUMENT, "input 'k': both contents and raw_input_contents"},
      {[](inference::ModelInferRequest& m) { m.add_outputs()->set_name("q"); },
       grpc::StatusCode::INVALID_ARGUMENT, "unknown output 'q'; the model's outputs: y, n"},
      {[](inference::ModelInferRequest& m) { (*m.mutable_parameters())["binary_data_output"].set_int64_param(1); },
       grpc::StatusCode::INVALID_ARGUMENT, "binary_data_output must be a bool_param"},
  };
  for (const Case& c : cases) {
    auto m = typed_request();
    c.edit(m);
    InferRequest request;
    grpc::Status status = decode(m, request);
    EXPECT_EQ(status.error_code(), c.code) << c.text << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.text), std::string::npos) << status.error_message();
  }
}

TEST(GrpcCodec, RawSizeMismatch) {
  auto m = typed_request();
  for (auto& input : *m.mutable_inputs()) input.clear_contents();
  m.add_raw_input_contents("abc");
  m.add_raw_input_contents("1234567");
  InferRequest request;
  grpc::Status status = decode(m, request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("input 'x': 7 bytes of raw data, expected 8"), std::string::npos)
      << status.error_message();
}

std::vector<Value> model_outputs() {
  auto y = Tensor::create(DataType::float16, {2});
  auto n = Tensor::create(DataType::uint16, {3});
  std::memcpy(y->raw_data(), "\x00\x3c\x00\xc0", 4);  // 1.0, -2.0
  for (int i = 0; i < 3; ++i) n->data<uint16_t>()[i] = static_cast<uint16_t>(65533 + i);
  std::vector<Value> values;
  values.emplace_back(std::move(y).value());
  values.emplace_back(std::move(n).value());
  return values;
}

TEST(GrpcCodec, TypedOutputsWhereThereIsAField) {
  InferRequest request;
  request.id = "a";
  request.outputs.push_back({"n", false});
  inference::ModelInferResponse response;
  ASSERT_TRUE(encode_model_infer("m", "3", request, outputs(), model_outputs(), response).ok());
  EXPECT_EQ(response.model_name(), "m");
  EXPECT_EQ(response.model_version(), "3");
  EXPECT_EQ(response.id(), "a");
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).datatype(), "UINT16");
  EXPECT_EQ(response.raw_output_contents_size(), 0);
  ASSERT_EQ(response.outputs(0).contents().uint_contents_size(), 3);
  EXPECT_EQ(response.outputs(0).contents().uint_contents(2), 65535u);
}

TEST(GrpcCodec, Fp16OutputsMakeEveryOutputRaw) {
  InferRequest request;  // no outputs named: all of them
  inference::ModelInferResponse response;
  ASSERT_TRUE(encode_model_infer("m", "1", request, outputs(), model_outputs(), response).ok());
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(0).datatype(), "FP16");
  EXPECT_EQ(response.outputs(0).shape(0), 2);
  ASSERT_EQ(response.raw_output_contents_size(), 2);
  EXPECT_EQ(response.raw_output_contents(0), std::string("\x00\x3c\x00\xc0", 4));
  EXPECT_EQ(response.raw_output_contents(1), std::string("\xfd\xff\xfe\xff\xff\xff", 6));
  EXPECT_FALSE(response.outputs(1).has_contents());
}

grpc::ByteBuffer bytes_of(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(GrpcCodec, ParsesARequestFromItsBytes) {
  auto m = typed_request();
  m.set_model_name("digits");
  const std::string wire = m.SerializeAsString();
  inference::ModelInferRequest parsed;
  ASSERT_TRUE(parse_message(bytes_of(wire), wire.size(), parsed).ok());
  EXPECT_EQ(parsed.model_name(), "digits");
  ASSERT_EQ(parsed.inputs_size(), 2);
  EXPECT_EQ(parsed.inputs(1).contents().fp32_contents(1), -2.0f);
}

TEST(GrpcCodec, BytesThatAreNotTheRequestAreInvalidArgument) {
  // A varint that never ends; a length past the end; a field number 0; an end-group tag with no
  // group; 32 nested groups in an unknown field (protobuf's own limit, 100, would take them).
  const std::string nested = std::string(32, '\x7b') + std::string(32, '\x7c');  // field 15: start, end group
  const std::string cases[] = {std::string(10, '\xff') + '\x01', std::string("\x0a\x05" "ab"), std::string("\x00\x01", 2),
                               std::string("\x0c"), nested};
  for (const std::string& bytes : cases) {
    inference::ModelInferRequest parsed;
    grpc::Status status = parse_message(bytes_of(bytes), 1 << 20, parsed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_NE(status.error_message().find("malformed protobuf: the request's " + std::to_string(bytes.size()) +
                                          " bytes are not a inference.ModelInferRequest"),
              std::string::npos)
        << status.error_message();
  }
  // Nesting within the limit parses (the groups are kept as unknown fields).
  const std::string shallow =
      std::string(kMaxMessageNesting - 1, '\x7b') + std::string(kMaxMessageNesting - 1, '\x7c');
  inference::ModelInferRequest parsed;
  EXPECT_TRUE(parse_message(bytes_of(shallow), 1 << 20, parsed).ok());
}

TEST(GrpcCodec, RequestOverTheLimitIsRefusedBeforeParsing) {
  const std::string garbage(100, '\xff');  // would be INVALID_ARGUMENT if it were parsed
  inference::ServerLiveRequest parsed;
  grpc::Status status = parse_message(bytes_of(garbage), 99, parsed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "the request is 100 bytes, over the server's limit of 99 bytes");
  EXPECT_TRUE(parse_message(bytes_of(""), 99, parsed).ok());  // an empty message is a valid one
}

}  // namespace
}  // namespace tessera::serve
