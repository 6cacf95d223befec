// tessera: run, test, inspect, benchmark, optimize and serve ONNX models.
#include <CLI/CLI.hpp>

#include "tessera/tessera_c.h"
#include "tools/cli_errors.h"

#include <exception>
#include <iostream>
#include <new>

#include "tools/commands.h"
#include "tools/session_flags.h"

int main(int argc, char** argv) {
  using namespace tessera::cli;
  CLI::App app{"Tessera: a runtime for ONNX models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tessera ") + tessera_version());
  app.option_defaults()->always_capture_default();
  // Usage errors are one line too, like every other error.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("error: ") + e.what() + " (see tessera help)\n";
  });  // every option's help shows its default
  app.footer(
      "Run `tessera help COMMAND` (or `tessera COMMAND --help`) for a command's options.\n"
      "Exit codes: 0 success; 1 error (the model, the data or the run failed, outputs differ, cases failed); "
      "2 usage (an unknown flag, a bad value, a name the model does not have). Errors are one line on stderr "
      "naming the model.");

  std::string help_topic;
  auto* help_cmd = app.add_subcommand("help", "Print this help, or a command's");
  help_cmd->add_option("command", help_topic, "the command to describe");

  RunArgs run;
  auto* run_cmd = app.add_subcommand("run", "Run a model on your data: .pb, .npy, .npz, images, or made-up inputs");
  run_cmd->add_option("model", run.model, "model.onnx")->required();
  run_cmd->add_option("--data", run.data_dir, "folder with input_K.pb files (a conformance test_data_set_N)");
  run_cmd->add_option("--input", run.inputs,
                      "[NAME=]FILE, repeatable: a .pb TensorProto, a .npy array, a .npz of arrays (matched by name, else "
                      "by position) or an image (PNG, JPEG, BMP, PNM, TIFF, WebP: resized to the input's H x W, NCHW "
                      "float in [0, 1] before --mean/--std); without NAME= files fill the inputs left, in order");
  auto* random_flag = run_cmd->add_flag("--random", run.random, "random values for the inputs not given (floats in [0, 1), ints in [0, 100))");
  run_cmd->add_flag("--zeros", run.zeros, "zeros for the inputs not given")->excludes(random_flag);
  run_cmd->add_option("--dim", run.dims, "NAME=VALUE for a symbolic dimension of a --random/--zeros input (default 1)");
  run_cmd->add_option("--mean", run.mean, "image inputs: per-channel mean subtracted from pixels in [0, 1] (one value or C)")
      ->delimiter(',');
  run_cmd->add_option("--std", run.std, "image inputs: per-channel divisor after --mean (one value or C)")->delimiter(',');
  run_cmd->add_option("--output-dir", run.output_dir, "write output_K.pb and output_K.npy files here (else print a summary)");
  run_cmd->add_option("--compare", run.compare_dir,
                      "check the outputs against DIR/output_K.pb: max abs/rel error and mismatches per output; exit 1 on a mismatch");
  run_cmd->add_option("--rtol", run.rtol, "--compare: relative tolerance, |got - want| <= atol + rtol * |want|");
  run_cmd->add_option("--atol", run.atol, "--compare: absolute tolerance");
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
  test_cmd->add_option("--inter-op-threads", test.inter_op_threads, kInterOpHelp)->check(CLI::Range(0, 1024));
  test_cmd->add_option("--min-passed", test.min_passed, "succeed when at least this many cases pass");
  test_cmd->add_option("--expected-failures", test.expected_failures,
                       "file of SUITE/CASE lines expected to fail; any other failure, or a listed case that passes, is an error");
  test_cmd->add_flag("--verbose", test.verbose, "also list passing cases");
  test_cmd->add_option("--rtol", test.rtol, "relative tolerance for every case (default: the case's data.json, else 1e-3)");
  test_cmd->add_option("--atol", test.atol, "absolute tolerance for every case (default: the case's data.json, else 1e-7)");
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
  info_cmd->add_flag("--json", info.json, "print one JSON object (metadata, inputs, outputs, weights, node counts, runnable)");

  OpsArgs ops;
  auto* ops_cmd = app.add_subcommand("ops", "List every operator version Tessera implements, per domain, with its types");
  ops_cmd->add_flag("--markdown", ops.markdown, "print docs/operators.md (build/tessera ops --markdown > docs/operators.md)");

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

  ServeArgs serve;
  CLI::App* serve_cmd = add_serve_command(app, serve);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;  // --help and --version exit 0
  }
  if (*help_cmd) {
    if (help_topic.empty()) {  // app.help() would describe the selected subcommand, `help` itself
      std::cout << app.get_formatter()->make_help(&app, "tessera", CLI::AppFormatMode::Normal);
      return 0;
    }
    for (CLI::App* sub : app.get_subcommands({}))
      if (sub->get_name() == help_topic) {
        std::cout << sub->help();
        return 0;
      }
    std::cerr << "error: no command '" << help_topic << "' (commands: run, test, info, bench, optimize, ops, help)\n";
    return kExitUsage;
  }
  // The commands report errors as Status; this is the last guard, so that even a bug never ends
  // the process with an abort instead of one clear line.
  try {
    if (*run_cmd) return run_command(run);
    if (*test_cmd) return test_command(test);
    if (*info_cmd) return info_command(info);
    if (*bench_cmd) return bench_command(bench);
    if (*optimize_cmd) return optimize_command(optimize);
    if (*ops_cmd) return ops_command(ops);
    if (*serve_cmd) return serve_command(serve);
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory\n";
    return kExitError;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitError;
  }
  return kExitUsage;
}
