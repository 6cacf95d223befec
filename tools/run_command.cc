// `tessera run MODEL --data DIR [--output-dir OUT] [--profile TRACE.json] [--timeout-ms N]`.
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "model/value_io.h"
#include "tessera/session.h"
#include "tools/commands.h"
#include "tools/compare.h"
#include "tools/io_files.h"
#include "tools/session_flags.h"

namespace fs = std::filesystem;

namespace tessera::cli {

namespace {

int fail(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return 1;
}

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

}  // namespace

int run_command(const RunArgs& args) {
  if (args.timeout_ms < 0)
    return fail(invalid_argument("--timeout-ms: expected a number of milliseconds of at least 0, got ", args.timeout_ms));
  auto options = session_options(args.threads, args.opt_level, args.log_level, args.profile, args.ep, args.limits);
  if (!options.is_ok()) return fail(options.status());
  auto load_start = std::chrono::steady_clock::now();
  auto session = Session::load(args.model, *options);
  if (!session.is_ok()) return fail(session.status());
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
  const Session& s = *session;

  Feeds feeds;
  if (!args.data_dir.empty()) {
    auto files = numbered_files(args.data_dir, "input");
    if (!files.is_ok()) return fail(files.status());
    auto read = read_feeds(*files, s.inputs());
    if (!read.is_ok()) return fail(read.status());
    feeds = std::move(read).value();
  }
  for (const auto& spec : args.inputs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos) return fail(invalid_argument("--input expects NAME=FILE.pb, got '", spec, "'"));
    std::string name = spec.substr(0, eq);
    const IoInfo* info = nullptr;
    for (const auto& in : s.inputs())
      if (in.name == name) info = &in;
    if (!info) return fail(invalid_argument("model '", args.model, "' has no input named '", name, "'"));
    auto value = read_value_file(spec.substr(eq + 1), type_for(*info));
    if (!value.is_ok()) return fail(value.status());
    feeds.emplace_back(name, std::move(value->value));
  }

  // The timeout counts from here: loading the model and reading the feeds are not the run.
  RunOptions run_options;
  if (args.timeout_ms > 0) run_options = RunOptions::with_timeout(std::chrono::milliseconds(args.timeout_ms));
  auto run_start = std::chrono::steady_clock::now();
  auto outputs = s.run(feeds, {}, run_options);
  double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_start).count();
  if (!args.profile.empty()) {  // written for a failed run too: the trace shows where it stopped
    auto written = s.end_profiling();
    if (!written.is_ok() && outputs.is_ok()) return fail(written.status());
  }
  if (!outputs.is_ok()) {
    const Status& status = outputs.status();
    if (status.code() != StatusCode::deadline_exceeded) return fail(status);
    return fail(Status(status.code(), str_cat(status.message(), " (--timeout-ms ", args.timeout_ms, ")")));
  }

  if (!args.output_dir.empty()) {
    std::error_code ec;
    fs::create_directories(args.output_dir, ec);
    if (ec) return fail(io_error("cannot create output folder '", args.output_dir, "': ", ec.message()));
    for (size_t k = 0; k < outputs->size(); ++k) {
      std::string path = (fs::path(args.output_dir) / ("output_" + std::to_string(k) + ".pb")).string();
      Status written = write_value_file(path, s.outputs()[k].name, (*outputs)[k], type_for(s.outputs()[k]));
      if (!written.is_ok()) return fail(written);
    }
  } else {
    for (size_t k = 0; k < outputs->size(); ++k) print_summary(s.outputs()[k].name, (*outputs)[k]);
  }
  std::cout << std::fixed << std::setprecision(2) << "load " << load_ms << " ms, run " << run_ms << " ms\n";
  return 0;
}

}  // namespace tessera::cli
