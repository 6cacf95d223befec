// The `tessera` CLI subcommands. Each returns the process exit code; errors are one line on
// stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/session_flags.h"

namespace tessera::cli {

struct RunArgs {
  std::string model;
  std::string data_dir;
  std::vector<std::string> inputs;  // [NAME=]FILE: .pb, .npy, .npz or an image
  bool random = false, zeros = false;  // made-up values for the inputs not given
  std::vector<std::string> dims;       // NAME=VALUE for symbolic dimensions of made-up inputs (default 1)
  std::vector<float> mean, std;        // image inputs: (pixel / 255 - mean) / std, per channel
  std::string output_dir;
  std::string compare_dir;  // check the outputs against output_K.pb files there
  double rtol = 1e-3, atol = 1e-7;
  int threads = 0;
  std::string opt_level = "all";
  std::string log_level = "warning";
  std::string ep;  // --ep NAME[:PATH],...: execution providers in priority order (empty: cpu)
  std::string profile;  // Chrome trace of the session and the run, when set
  int64_t timeout_ms = 0;  // the run stops with an error after this long; 0 = no limit
  LimitFlags limits;
};
int run_command(const RunArgs& args);

struct TestArgs {
  std::vector<std::string> dirs;
  int threads = 1;  // intra-op threads per case
  int jobs = 0;     // cases run at once; 0 = one per core
  int inter_op_threads = 1;  // --inter-op-threads: other than 1, each case's session runs in parallel mode
  int min_passed = -1;  // when >= 0, success means at least this many passed
  std::string expected_failures;  // file listing the cases expected to fail, with reasons
  bool verbose = false;
  std::string opt_level = "all";
  std::string log_level = "warning";
  std::string ep;  // --ep NAME[:PATH],...: execution providers in priority order (empty: cpu)
  std::optional<double> rtol, atol;  // override each case's tolerance (data.json, else 1e-3 / 1e-7)
};
int test_command(const TestArgs& args);

struct InfoArgs {
  std::string model;
  std::string opt_level = "all";
  std::string log_level = "warning";
  std::string ep;  // --ep NAME[:PATH],...: execution providers in priority order (empty: cpu)
  bool values = false;  // print every value with its inferred type
  bool json = false;    // one JSON object instead of lines
  bool strict_placement = false;  // --strict-placement: fail naming the nodes that would fall back
};
int info_command(const InfoArgs& args);

struct BenchArgs {
  std::string model;
  int threads = 0;
  int runs = 20;
  int warmup = 3;
  std::vector<std::string> dims;  // NAME=VALUE for symbolic dimensions (default 1)
  std::string opt_level = "all";
  std::string log_level = "warning";
  std::string ep;  // --ep NAME[:PATH],...: execution providers in priority order (empty: cpu)
  std::string profile;  // Chrome trace of the session and every run, when set
  bool json = false;      // one JSON object on stdout instead of key: value lines
  bool progress = false;  // a progress line on stderr every few seconds (always when stderr is a terminal)
  LimitFlags limits;
};
int bench_command(const BenchArgs& args);

struct OptimizeArgs {
  std::string model;
  std::string output;
  std::string opt_level = "all";
  std::string log_level = "warning";
  bool verbose = false;
};
int optimize_command(const OptimizeArgs& args);

struct OpsArgs {
  bool markdown = false;  // docs/operators.md's form instead of plain lines
};
int ops_command(const OpsArgs& args);

// `tessera serve`: the KServe v2 model server (src/serve, docs/serving.md).
struct ServeArgs {
  std::string model_repository;
  std::string host = "0.0.0.0";
  int http_port = 8000;  // 0: any free port (printed on stdout)
  int http_threads = 32;
  int grpc_port = -1;  // -1: no gRPC; 0: any free port (printed on stdout)
  int grpc_threads = 32;
  int threads = 0;  // intra-op threads of each run
  std::string opt_level = "all";
  std::string log_level = "warning";
  uint64_t max_body_bytes = uint64_t{64} << 20;
  uint64_t max_input_bytes = uint64_t{1} << 30;
  int64_t request_timeout_ms = 60000;
  bool no_access_log = false;
};
// Adds the `serve` subcommand and its flags to `app`.
CLI::App* add_serve_command(CLI::App& app, ServeArgs& args);
int serve_command(const ServeArgs& args);

}  // namespace tessera::cli
