// SessionOptions::profile_path and log_severity end to end: the trace a profiling session writes
// (parsed as JSON), that a session without a profile path writes nothing, and what each log
// severity prints.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "onnx.pb.h"
#include "tessera/session.h"
#include "tests/unit/temp_dir.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
namespace pb = tessera::onnx;
using nlohmann::json;

// y = Relu(Identity(x + w)) with x: float [n, 3] and w = [1, 2, 3]; the Add is named "add", the
// Identity "ident" (noop_elimination removes it at basic), the Relu has no name (the loader gives
// it one).
std::string add_relu_model() {
  pb::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("add_relu");
  auto node = [&](const std::string& name, const std::string& op, std::vector<std::string> in, const std::string& out) {
    auto* n = g->add_node();
    n->set_name(name);
    n->set_op_type(op);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
  };
  node("add", "Add", {"x", "w"}, "s");
  node("ident", "Identity", {"s"}, "i");
  node("", "Relu", {"i"}, "y");
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  w->add_dims(3);
  for (float v : {1.f, 2.f, 3.f}) w->add_float_data(v);
  for (auto [info, name] : {std::pair{g->add_input(), "x"}, std::pair{g->add_output(), "y"}}) {
    info->set_name(name);
    auto* t = info->mutable_type()->mutable_tensor_type();
    t->set_elem_type(1);
    t->mutable_shape()->add_dim()->set_dim_param("n");
    t->mutable_shape()->add_dim()->set_dim_value(3);
  }
  return m.SerializeAsString();
}

Result<Session> load(const SessionOptions& options) {
  const std::string bytes = add_relu_model();
  return Session::load_from_bytes(bytes.data(), bytes.size(), options);
}

Feeds feeds_2x3() {
  return {{"x", Value(tensor_of(DataType::float32, {2, 3}, std::vector<float>{-5, 0, 1, -1, -2, -3}))}};
}

json read_json(const std::string& path) {
  std::ifstream file(path);
  return json::parse(file);  // throws, failing the test, on anything that is not JSON
}

std::vector<json> events_of(const json& trace, const std::string& category, const std::string& name = "") {
  std::vector<json> out;
  for (const json& e : trace.at("traceEvents"))
    if (e.at("cat") == category && (name.empty() || e.at("name") == name)) out.push_back(e);
  return out;
}

TEST(Profiling, TraceHasEveryPhasePassAndNodeOfEachRun) {
  TempDir dir("tessera_profiling_test");
  SessionOptions options;
  options.optimization_level = OptimizationLevel::basic;
  options.profile_path = (fs::path(dir.path()) / "trace.json").string();
  auto session = load(options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  for (int r = 0; r < 2; ++r) {
    auto out = session->run(feeds_2x3());
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    const Tensor& y = out->at(0).tensor();
    EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + y.size()), (std::vector<float>{0, 2, 4, 0, 0, 0}));
  }
  EXPECT_FALSE(fs::exists(options.profile_path));  // written by end_profiling only
  auto path = session->end_profiling();
  ASSERT_TRUE(path.is_ok()) << path.status().message();
  EXPECT_EQ(*path, options.profile_path);
  const json trace = read_json(*path);

  for (const json& e : trace.at("traceEvents")) {
    EXPECT_EQ(e.at("ph"), "X");
    EXPECT_GE(e.at("ts").get<double>(), 0.0);
    EXPECT_GE(e.at("dur").get<double>(), 0.0);
    EXPECT_TRUE(e.contains("pid") && e.contains("tid") && e.at("args").is_object());
  }
  // The session phases; the check runs before the optimizer and again on the optimized graph.
  for (const char* phase : {"model_load", "session_creation", "function_inlining", "optimize", "partition", "kernel_creation",
                            "memory_plan"})
    EXPECT_EQ(events_of(trace, "session", phase).size(), 1u) << phase;
  EXPECT_EQ(events_of(trace, "session", "check").size(), 2u);
  // Each pass of each round by name, with its rewrites: the Identity goes in round 1, round 2
  // finds nothing left to do.
  const auto noop = events_of(trace, "optimizer", "noop_elimination");
  ASSERT_EQ(noop.size(), 2u);
  EXPECT_EQ(noop[0].at("args").at("round"), 1);
  EXPECT_EQ(noop[0].at("args").at("rewrites"), 1);
  EXPECT_EQ(noop[1].at("args").at("rewrites"), 0);
  EXPECT_EQ(events_of(trace, "optimizer", "constant_folding").size(), 2u);

  // One event per run, and one per node of each run (the Identity was optimized away), inside it.
  const auto runs = events_of(trace, "session", "run");
  ASSERT_EQ(runs.size(), 2u);
  const auto nodes = events_of(trace, "node");
  ASSERT_EQ(nodes.size(), 4u);
  for (size_t k = 0; k < nodes.size(); ++k) {
    const json& e = nodes[k];
    const json& run = runs[k / 2];
    EXPECT_EQ(e.at("args").at("ep"), "CPU");
    EXPECT_EQ(e.at("tid"), run.at("tid"));
    EXPECT_GE(e.at("ts").get<double>(), run.at("ts").get<double>());
    EXPECT_LE(e.at("ts").get<double>() + e.at("dur").get<double>(),
              run.at("ts").get<double>() + run.at("dur").get<double>() + 0.001);
    if (k % 2 == 0) {  // named by the node
      EXPECT_EQ(e.at("name"), "add");
      EXPECT_EQ(e.at("args").at("op_type"), "Add");
      EXPECT_EQ(e.at("args").at("input_shapes"), json::parse("[[2,3],[3]]"));
    } else {  // the loader names a node without one by its op and index
      EXPECT_EQ(e.at("name"), "Relu_2");
      EXPECT_EQ(e.at("args").at("op_type"), "Relu");
      EXPECT_EQ(e.at("args").at("input_shapes"), json::parse("[[2,3]]"));
    }
    EXPECT_EQ(e.at("args").at("output_shapes"), json::parse("[[2,3]]"));
  }

  // Profiling has ended: a later run is not recorded and a second end_profiling is an error.
  ASSERT_TRUE(session->run(feeds_2x3()).is_ok());
  auto again = session->end_profiling();
  ASSERT_FALSE(again.is_ok());
  EXPECT_NE(again.status().message().find("profiling has already ended"), std::string::npos) << again.status().message();
  EXPECT_EQ(events_of(read_json(*path), "session", "run").size(), 2u);
}

TEST(Profiling, ConcurrentRunsEachGetTheirEvents) {
  TempDir dir("tessera_profiling_test");
  SessionOptions options;
  options.optimization_level = OptimizationLevel::disabled;  // the Identity stays: 3 nodes per run
  options.profile_path = (fs::path(dir.path()) / "trace.json").string();
  auto session = load(options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int r = 0; r < 5; ++r) EXPECT_TRUE(session->run(feeds_2x3()).is_ok());
    });
  for (auto& t : threads) t.join();
  auto path = session->end_profiling();
  ASSERT_TRUE(path.is_ok()) << path.status().message();
  const json trace = read_json(*path);
  EXPECT_EQ(events_of(trace, "session", "run").size(), 20u);
  EXPECT_EQ(events_of(trace, "node", "ident").size(), 20u);
  EXPECT_EQ(events_of(trace, "node").size(), 60u);
  EXPECT_TRUE(events_of(trace, "optimizer").empty());  // level disabled runs no pass
}

TEST(Profiling, OffWritesNothingAndEndProfilingSaysWhy) {
  TempDir dir("tessera_profiling_test");
  auto session = load({});
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  ASSERT_TRUE(session->run(feeds_2x3()).is_ok());
  auto path = session->end_profiling();
  ASSERT_FALSE(path.is_ok());
  EXPECT_NE(path.status().message().find("profile_path is empty"), std::string::npos) << path.status().message();
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(Profiling, UnwritablePathIsAnErrorNamingIt) {
  SessionOptions options;
  options.profile_path = "/no/such/folder/trace.json";
  auto session = load(options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto path = session->end_profiling();
  ASSERT_FALSE(path.is_ok());
  EXPECT_NE(path.status().message().find("cannot write the profile to '/no/such/folder/trace.json'"), std::string::npos)
      << path.status().message();
}

// Everything written to stderr while `fn` runs.
template <class Fn>
std::string stderr_of(Fn fn) {
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  fn();
  std::cerr.rdbuf(old);
  return captured.str();
}

std::string log_of_session(LogSeverity severity) {
  SessionOptions options;
  options.log_severity = severity;
  options.optimization_level = OptimizationLevel::basic;
  return stderr_of([&] {
    auto session = load(options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    ASSERT_TRUE(session->run(feeds_2x3()).is_ok());
  });
}

TEST(Logging, SeverityChoosesWhatIsPrinted) {
  const std::string warning = log_of_session(LogSeverity::warning);
  EXPECT_EQ(warning.find("[tessera info]"), std::string::npos) << warning;
  EXPECT_EQ(warning.find("[tessera verbose]"), std::string::npos) << warning;

  const std::string info = log_of_session(LogSeverity::info);
  EXPECT_NE(info.find("[tessera info] model '<bytes>': optimized at level basic: 6 passes made 1 rewrites (noop_elimination 1)"),
            std::string::npos)
      << info;
  EXPECT_NE(info.find("[tessera info] model '<bytes>': session created: 2 nodes (3 before optimization at level basic)"),
            std::string::npos)
      << info;
  EXPECT_EQ(info.find("[tessera verbose]"), std::string::npos) << info;

  const std::string verbose = log_of_session(LogSeverity::verbose);
  for (const char* phase : {"session model_load ", "session partition ", "session kernel_creation ", "session memory_plan ",
                            "optimizer noop_elimination "})
    EXPECT_NE(verbose.find(std::string("[tessera verbose] model '<bytes>': ") + phase), std::string::npos) << phase << "\n" << verbose;
  EXPECT_NE(verbose.find(" ms {\"round\":1,\"rewrites\":1}"), std::string::npos) << verbose;
  EXPECT_NE(verbose.find("[tessera info]"), std::string::npos) << verbose;
}

TEST(Logging, SeverityNamesRoundTrip) {
  for (LogSeverity s : {LogSeverity::verbose, LogSeverity::info, LogSeverity::warning, LogSeverity::error, LogSeverity::fatal}) {
    auto parsed = parse_log_severity(log_severity_name(s));
    ASSERT_TRUE(parsed.is_ok());
    EXPECT_EQ(*parsed, s);
  }
  auto bad = parse_log_severity("loud");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(), "unknown log level 'loud' (expected verbose, info, warning, error or fatal)");
}

}  // namespace
}  // namespace tessera
