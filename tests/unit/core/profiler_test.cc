// The profiler's trace is JSON that a JSON parser reads back (names with quotes, backslashes and
// control characters escaped), and it is written only once.
#include "core/profiler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/unit/temp_dir.h"

namespace tessera {
namespace {

using nlohmann::json;

TEST(Profiler, EscapesWhatJsonRequires) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
  EXPECT_EQ(JsonArgs().add("op_type", "Conv").add("round", int64_t{2}).add_json("shapes", "[[1,2]]").take(),
            "\"op_type\":\"Conv\",\"round\":2,\"shapes\":[[1,2]]");
}

TEST(Profiler, TraceParsesBackWithItsEvents) {
  Profiler profiler;
  const auto start = Profiler::Clock::now();
  const auto end = start + std::chrono::microseconds(1500);
  const std::string odd_name = "node \"q\\k\"\n\x02";
  profiler.add({odd_name, "node", start, end, Profiler::thread_id(), JsonArgs().add("op_type", "MatMul").take()});
  profiler.add({"run", "session", start, end, 7, ""});
  const json trace = json::parse(profiler.to_json());
  ASSERT_EQ(trace.at("traceEvents").size(), 2u);
  const json& e = trace.at("traceEvents")[0];
  EXPECT_EQ(e.at("name"), odd_name);
  EXPECT_EQ(e.at("cat"), "node");
  EXPECT_EQ(e.at("ph"), "X");
  EXPECT_GE(e.at("ts").get<double>(), 0.0);
  EXPECT_NEAR(e.at("dur").get<double>(), 1500.0, 1e-6);
  EXPECT_EQ(e.at("args").at("op_type"), "MatMul");
  EXPECT_EQ(trace.at("traceEvents")[1].at("tid"), 7);
  EXPECT_TRUE(trace.at("traceEvents")[1].at("args").empty());
}

TEST(Profiler, ThreadIdsDifferPerThreadAndStayTheSame) {
  const uint64_t mine = Profiler::thread_id();
  EXPECT_EQ(Profiler::thread_id(), mine);
  uint64_t other = mine;
  std::thread([&] { other = Profiler::thread_id(); }).join();
  EXPECT_NE(other, mine);
}

TEST(Profiler, WritesOnceThenRecordsNothing) {
  TempDir dir("tessera_profiler_test");
  const std::string path = dir.path() + "/trace.json";
  Profiler profiler;
  const auto now = Profiler::Clock::now();
  profiler.add({"first", "session", now, now, 1, ""});
  ASSERT_TRUE(profiler.stop_and_write(path).is_ok());
  EXPECT_FALSE(profiler.recording());
  profiler.add({"late", "session", now, now, 1, ""});
  std::ifstream file(path);
  const json trace = json::parse(file);
  ASSERT_EQ(trace.at("traceEvents").size(), 1u);
  EXPECT_EQ(trace.at("traceEvents")[0].at("name"), "first");
  const Status again = profiler.stop_and_write(path);
  EXPECT_FALSE(again.is_ok());
  EXPECT_EQ(again.message(), "profiling has already ended");
}

}  // namespace
}  // namespace tessera
