// tessera: run, test, inspect, benchmark and optimize ONNX models.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <new>

#include "tools/commands.h"
#include "tools/session_flags.h"

int main(int argc, char** argv) {
  using namespace tessera::cli;
  CLI::App app{"Tessera: a runtime for ONNX models"};
  app.require_subcommand(1);

  RunArgs run;
  auto* run_cmd = app.add_subcommand("run", "Run a model on inputs read from .pb files");
  run_cmd->add_option("model", run.model, "model.onnx")->required();
  run_cmd->add_option("--data", run.data_dir, "folder with input_K.pb files");
  run_cmd->add_option("--input", run.inputs, "NAME=FILE.pb (repeatable)");
  run_cmd->add_option("--output-dir", run.output_dir, "write output_K.pb files here");
  run_cmd->add_option("--threads", run.threads, "intra-op threads (0 = one per core)");
  run_cmd->add_option("--opt-level", run.opt_level, kOptLevelHelp);
  run_cmd->add_option("--log-level", run.log_level, kLogLevelHelp);
  run_cmd->add_option("--ep", run.ep, kEpHelp);
  run_cmd->add_option("--profile", run.profile, kProfileHelp);
  run_cmd->add_option("--timeout-ms", run.timeout_ms, "stop the run with an error after N ms (0 = no limit)");
  add_limit_flags(*run_cmd, run.limits);

  TestArgs test;
  auto* test_cmd = app.add_subcommand("test", "Run ONNX conformance case folders");
  test_cmd->add_option("dirs", test.dirs, "case folders or folders of cases")->required();
  test_cmd->add_option("--threads", test.threads, "intra-op threads per case");
  test_cmd->add_option("--jobs", test.jobs, "cases run at once (0 = one per core)");
  test_cmd->add_option("--min-passed", test.min_passed, "succeed when at least this many cases pass");
  test_cmd->add_option("--expected-failures", test.expected_failures,
                       "file of SUITE/CASE lines expected to fail; any other failure, or a listed case that passes, is an error");
  test_cmd->add_flag("--verbose", test.verbose, "also list passing cases");
  test_cmd->add_option("--opt-level", test.opt_level, kOptLevelHelp);
  test_cmd->add_option("--log-level", test.log_level, kLogLevelHelp);
  test_cmd->add_option("--ep", test.ep, kEpHelp);

  InfoArgs info;
  auto* info_cmd = app.add_subcommand("info", "Describe a model and the graph it runs as at an optimization level");
  info_cmd->add_option("model", info.model, "model.onnx")->required();
  info_cmd->add_option("--opt-level", info.opt_level, kOptLevelHelp);
  info_cmd->add_option("--log-level", info.log_level, kLogLevelHelp);
  info_cmd->add_option("--ep", info.ep, kEpHelp);
  info_cmd->add_flag("--values", info.values, "Also print every value with its inferred type and shape");
  info_cmd->add_flag("--strict-placement", info.strict_placement, "fail, naming the nodes, when a node would fall back to the CPU EP");

  BenchArgs bench;
  auto* bench_cmd = app.add_subcommand("bench", "Time a model on random inputs");
  bench_cmd->add_option("model", bench.model, "model.onnx")->required();
  bench_cmd->add_option("--threads", bench.threads, "intra-op threads (0 = one per core)");
  bench_cmd->add_option("--runs", bench.runs, "timed runs");
  bench_cmd->add_option("--warmup", bench.warmup, "untimed runs first");
  bench_cmd->add_option("--dim", bench.dims, "NAME=VALUE for a symbolic dimension (default 1)");
  bench_cmd->add_option("--opt-level", bench.opt_level, kOptLevelHelp);
  bench_cmd->add_option("--log-level", bench.log_level, kLogLevelHelp);
  bench_cmd->add_option("--ep", bench.ep, kEpHelp);
  bench_cmd->add_option("--profile", bench.profile, kProfileHelp);
  add_limit_flags(*bench_cmd, bench.limits);
  bench_cmd->add_flag("--json", bench.json, "print one JSON object (load time, latency statistics, throughput, peak RSS, threads, ISA, input shapes)");
  bench_cmd->add_flag("--progress", bench.progress, "report progress on stderr every few seconds (default when stderr is a terminal)");

  OptimizeArgs optimize;
  auto* optimize_cmd = app.add_subcommand("optimize", "Save the graph a session runs at an optimization level as ONNX");
  optimize_cmd->add_option("model", optimize.model, "model.onnx")->required();
  optimize_cmd->add_option("-o,--output", optimize.output, "OUT.onnx (large weights go to OUT.onnx.data)")->required();
  optimize_cmd->add_option("--opt-level", optimize.opt_level, kOptLevelHelp);
  optimize_cmd->add_option("--log-level", optimize.log_level, kLogLevelHelp);
  optimize_cmd->add_flag("--verbose", optimize.verbose, "print the node counts per op before and after");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // The commands report errors as Status; this is the last guard, so that even a bug never ends
  // the process with an abort instead of one clear line.
  try {
    if (*run_cmd) return run_command(run);
    if (*test_cmd) return test_command(test);
    if (*info_cmd) return info_command(info);
    if (*bench_cmd) return bench_command(bench);
    if (*optimize_cmd) return optimize_command(optimize);
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
