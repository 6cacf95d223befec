// `tessera run MODEL [--data DIR] [--input [NAME=]FILE]... [--random|--zeros] [--output-dir OUT]
// [--compare DIR]`: feeds from the user's files (user_inputs.h), outputs as .pb and .npy.
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "model/value_io.h"
#include "tessera/session.h"
#include "tools/cli_errors.h"
#include "tools/commands.h"
#include "tools/compare.h"
#include "tools/io_files.h"
#include "tools/numpy_files.h"
#include "tools/session_flags.h"
#include "tools/user_inputs.h"

namespace fs = std::filesystem;

namespace tessera::cli {

namespace {

// One line per output: type, shape, a few values, and for [N, classes] scores the top class.
void print_summary(const std::string& name, const Value& value) {
  std::cout << name << ": ";
  if (!value.is_tensor()) {
    std::cout << value_type_string(value);
    if (value.is_sequence()) std::cout << " of " << value.items().size() << " items";
    if (value.is_map()) std::cout << " of " << value.map_keys().size() << " entries";
    std::cout << "\n";
    return;
  }
  const Tensor& t = value.tensor();
  std::cout << dtype_name(t.dtype()) << shape_to_string(t.shape());
  if (t.dtype() == DataType::string) {
    std::cout << (t.size() ? " \"" + t.data<std::string>()[0] + "\"..." : "") << "\n";
    return;
  }
  std::cout << " values:";
  for (int64_t i = 0; i < std::min<int64_t>(t.size(), 8); ++i) std::cout << " " << element_as_double(t, i);
  if (t.size() > 8) std::cout << " ...";
  std::cout << "\n";
  if (t.rank() == 2 && is_float_dtype(t.dtype()) && t.dim(1) > 1) {
    std::cout << "  top class per row:";
    for (int64_t r = 0; r < t.dim(0); ++r) {
      int64_t best = 0;
      for (int64_t c = 1; c < t.dim(1); ++c)
        if (element_as_double(t, r * t.dim(1) + c) > element_as_double(t, r * t.dim(1) + best)) best = c;
      std::cout << " " << best;
    }
    std::cout << "\n";
  }
}


// Writes output_K.pb for every output and output_K.npy for each tensor output NumPy can hold.
Status write_outputs(const std::string& dir, const Session& s, const std::vector<Value>& outputs) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("cannot create output folder '", dir, "': ", ec.message());
  for (size_t k = 0; k < outputs.size(); ++k) {
    const fs::path base = fs::path(dir) / ("output_" + std::to_string(k));
    TS_RETURN_IF_ERROR(write_value_file(base.string() + ".pb", s.outputs()[k].name, outputs[k], type_for(s.outputs()[k])));
    if (outputs[k].is_tensor() && numpy_can_hold(outputs[k].tensor().dtype()))
      TS_RETURN_IF_ERROR(write_npy_file(base.string() + ".npy", outputs[k].tensor()));
  }
  return Status::ok();
}

// --compare DIR: each output against DIR/output_K.pb; one line per output. False on a mismatch.
Result<bool> compare_outputs(const std::string& dir, const Session& s, const std::vector<Value>& outputs, const Tolerance& tolerance) {
  TS_ASSIGN_OR_RETURN(std::vector<std::string> files, numbered_files(dir, "output"));
  if (files.size() != outputs.size())
    return invalid_argument("--compare: '", dir, "' holds ", files.size(), " output_K.pb files but the model has ", outputs.size(),
                            " outputs");
  bool all_match = true;
  for (size_t k = 0; k < outputs.size(); ++k) {
    TS_ASSIGN_OR_RETURN(NamedValue want, read_value_file(files[k], type_for(s.outputs()[k])));
    const Comparison c = compare_values(outputs[k], want.value, tolerance);
    all_match = all_match && c.difference.empty();
    std::cout << (c.difference.empty() ? "match    " : "MISMATCH ") << "output " << k << " '" << s.outputs()[k].name << "': ";
    if (c.difference.empty())
      std::cout << "max abs error " << c.max_abs << ", max rel error " << c.max_rel << " (" << c.elements << " elements, rtol "
                << tolerance.rtol << ", atol " << tolerance.atol << ")";
    else
      std::cout << c.difference;
    std::cout << "\n";
  }
  return all_match;
}

}  // namespace

int run_command(const RunArgs& args) {
  if (args.timeout_ms < 0)
    return report_error(invalid_argument("--timeout-ms: expected a number of milliseconds of at least 0, got ", args.timeout_ms), "",
                        kExitUsage);
  if (args.random && args.zeros) return report_error(invalid_argument("--random and --zeros exclude each other"), "", kExitUsage);
  auto options = session_options(args.threads, args.opt_level, args.log_level, args.profile, args.ep, args.limits);
  if (!options.is_ok()) return report_error(options.status(), "", kExitUsage);
  auto load_start = std::chrono::steady_clock::now();
  auto session = Session::load(args.model, *options);
  if (!session.is_ok()) return report_error(session.status(), args.model, session_load_exit_code(session.status(), args.limits));
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
  const Session& s = *session;

  InputSources sources{args.data_dir, args.inputs, std::nullopt, args.dims, args.mean, args.std};
  if (args.random) sources.fill = Fill::random;
  if (args.zeros) sources.fill = Fill::zeros;
  Status names = check_input_names(sources, s.inputs(), args.model);
  if (!names.is_ok()) return report_error(names, args.model, kExitUsage);
  auto feeds = gather_feeds(sources, s.inputs(), args.model);
  if (!feeds.is_ok()) return report_error(feeds.status(), args.model);

  // The timeout counts from here: loading the model and reading the feeds are not the run.
  RunOptions run_options;
  if (args.timeout_ms > 0) run_options = RunOptions::with_timeout(std::chrono::milliseconds(args.timeout_ms));
  auto run_start = std::chrono::steady_clock::now();
  auto outputs = s.run(*feeds, {}, run_options);
  double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_start).count();
  if (!args.profile.empty()) {  // written for a failed run too: the trace shows where it stopped
    auto written = s.end_profiling();
    if (!written.is_ok() && outputs.is_ok()) return report_error(written.status(), args.model);
  }
  if (!outputs.is_ok()) {
    const Status& status = outputs.status();
    if (status.code() != StatusCode::deadline_exceeded) return report_error(status, args.model);
    return report_error(Status(status.code(), str_cat(status.message(), " (--timeout-ms ", args.timeout_ms, ")")), args.model);
  }

  if (!args.output_dir.empty()) {
    Status written = write_outputs(args.output_dir, s, *outputs);
    if (!written.is_ok()) return report_error(written, args.model);
  } else if (args.compare_dir.empty()) {
    for (size_t k = 0; k < outputs->size(); ++k) print_summary(s.outputs()[k].name, (*outputs)[k]);
  }
  bool matched = true;
  if (!args.compare_dir.empty()) {
    auto compared = compare_outputs(args.compare_dir, s, *outputs, Tolerance{args.rtol, args.atol});
    if (!compared.is_ok()) return report_error(compared.status(), args.model);
    matched = *compared;
  }
  std::cout << std::fixed << std::setprecision(2) << "load " << load_ms << " ms, run " << run_ms << " ms\n";
  if (!matched) return report_error(invalid_argument("outputs differ from '", args.compare_dir, "' beyond the tolerance"), args.model);
  return 0;
}

}  // namespace tessera::cli
