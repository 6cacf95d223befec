// `tessera bench MODEL`: load time, latency statistics over random inputs, peak memory; as
// key: value lines or, with --json, one JSON object (what bench/compare reads).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/cpu_isa.h"
#include "tessera/session.h"
#include "tools/cli_errors.h"
#include "tools/commands.h"
#include "tools/session_flags.h"
#include "tools/synthetic_inputs.h"

namespace tessera::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

const char* isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::avx512: return "avx512";
    case CpuIsa::avx2: return "avx2";
    case CpuIsa::portable: return "portable";
  }
  return "unknown";
}

// Latency statistics of the timed runs, in milliseconds.
struct LatencyStats {
  double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0, stddev = 0;
};

LatencyStats latency_stats(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  auto pct = [&](double p) { return times[std::min(times.size() - 1, static_cast<size_t>(p * times.size()))]; };
  LatencyStats s;
  s.min = times.front();
  for (double t : times) s.mean += t;
  s.mean /= static_cast<double>(times.size());
  for (double t : times) s.stddev += (t - s.mean) * (t - s.mean);
  s.stddev = std::sqrt(s.stddev / static_cast<double>(times.size()));
  s.p50 = pct(0.5);
  s.p90 = pct(0.9);
  s.p99 = pct(0.99);
  return s;
}

// Prints "bench: N/M runs" on stderr at most every few seconds.
class Progress {
 public:
  Progress(bool enabled, int total) : enabled_(enabled), total_(total), last_(Clock::now()) {}
  void done(int runs, const char* phase) {
    if (!enabled_ || ms_since(last_) < kIntervalMs) return;
    last_ = Clock::now();
    std::cerr << "bench: " << phase << " " << runs << "/" << total_ << " runs\n";
  }

 private:
  static constexpr double kIntervalMs = 3000;
  bool enabled_;
  int total_;
  Clock::time_point last_;
};

}  // namespace

int bench_command(const BenchArgs& args) {
  auto fail = [&](const Status& s, int code = kExitError) { return report_error(s, args.model, code); };
  if (args.runs < 1) return fail(invalid_argument("--runs must be at least 1"), kExitUsage);
  if (args.warmup < 0) return fail(invalid_argument("--warmup must be at least 0"), kExitUsage);

  auto options = session_options(args.threads, args.opt_level, args.log_level, args.profile, args.ep, args.limits);
  if (!options.is_ok()) return report_error(options.status(), "", kExitUsage);
  auto start = Clock::now();
  auto session = Session::load(args.model, *options);
  if (!session.is_ok()) return fail(session.status(), session_load_exit_code(session.status(), args.limits));
  double load_ms = ms_since(start);

  auto dims = parse_dims(args.dims, session->inputs(), args.model);
  if (!dims.is_ok()) return fail(dims.status(), kExitUsage);
  std::mt19937 rng(42);
  Feeds feeds;
  std::set<std::string> defaulted;
  std::vector<std::pair<std::string, Shape>> shapes;
  for (const auto& in : session->inputs()) {
    Shape shape = input_shape(in, *dims, defaulted);
    auto t = synthetic_tensor(in, shape, Fill::random, rng);
    if (!t.is_ok()) return fail(t.status());
    shapes.emplace_back(in.name, shape);
    feeds.emplace_back(in.name, Value(std::move(t).value()));
  }
  // Said once per name (or per unnamed dim), unless --log-level is above warning.
  if (options->log_severity <= LogSeverity::warning) warn_defaulted_dims(defaulted);

  Progress progress(args.progress || isatty(STDERR_FILENO), args.warmup + args.runs);
  // The first run pays what a session defers to its first input (per-shape plans, first-touch
  // pages): reported apart, as first_run_ms.
  double first_run_ms = 0;
  for (int i = 0; i < args.warmup; ++i) {
    auto run_start = Clock::now();
    auto out = session->run(feeds);
    if (i == 0) first_run_ms = ms_since(run_start);
    if (!out.is_ok()) return fail(out.status());
    progress.done(i + 1, "warmup");
  }
  std::vector<double> times;
  times.reserve(static_cast<size_t>(args.runs));
  const auto timed_start = Clock::now();
  for (int i = 0; i < args.runs; ++i) {
    auto run_start = Clock::now();
    auto out = session->run(feeds);
    times.push_back(ms_since(run_start));
    if (!out.is_ok()) return fail(out.status());
    progress.done(args.warmup + i + 1, "timed");
  }
  const double throughput = args.runs / (ms_since(timed_start) / 1000.0);
  if (!args.profile.empty()) {
    auto written = session->end_profiling();
    if (!written.is_ok()) return fail(written.status());
  }
  const LatencyStats stats = latency_stats(times);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double peak_rss_mb = usage.ru_maxrss / 1024.0;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = args.threads > 0 ? args.threads : cores;
  const int inter_op_threads = args.limits.inter_op_threads > 0 ? args.limits.inter_op_threads : cores;  // 1: sequential
  const char* isa = isa_name(cpu_isa());

  std::ostringstream out;
  out << std::fixed << std::setprecision(3);
  if (args.json) {
    out << "{\"model\": " << json_string(args.model) << ", \"load_ms\": " << load_ms
        << ", \"first_run_ms\": " << first_run_ms << ", \"runs\": " << args.runs
        << ", \"warmup\": " << args.warmup << ", \"latency_ms\": {\"min\": " << stats.min << ", \"mean\": " << stats.mean
        << ", \"p50\": " << stats.p50 << ", \"p90\": " << stats.p90 << ", \"p99\": " << stats.p99
        << ", \"stddev\": " << stats.stddev << "}, \"throughput_per_s\": " << throughput
        << ", \"peak_rss_mb\": " << peak_rss_mb << ", \"threads\": " << threads
        << ", \"inter_op_threads\": " << inter_op_threads << ", \"isa\": \"" << isa
        << "\", \"inputs\": {";
    for (size_t i = 0; i < shapes.size(); ++i) {
      out << (i ? ", " : "") << json_string(shapes[i].first) << ": [";
      for (size_t d = 0; d < shapes[i].second.size(); ++d) out << (d ? ", " : "") << shapes[i].second[d];
      out << "]";
    }
    out << "}}\n";
  } else {
    out << "model: " << args.model;
    for (const auto& [name, shape] : shapes) out << "\ninput: " << name << " " << shape_to_string(shape);
    out << "\nthreads: " << threads << "\ninter_op_threads: " << inter_op_threads << "\nisa: " << isa << "\nload_ms: " << load_ms;
    if (args.warmup > 0) out << "\nfirst_run_ms: " << first_run_ms;
    out << "\nruns: " << args.runs
        << "\nlatency_ms_p50: " << stats.p50 << "\nlatency_ms_p90: " << stats.p90 << "\nlatency_ms_p99: " << stats.p99
        << "\nlatency_ms_min: " << stats.min << "\nlatency_ms_mean: " << stats.mean << "\nlatency_ms_stddev: " << stats.stddev
        << "\nthroughput_per_s: " << throughput << "\npeak_rss_mb: " << peak_rss_mb << "\n";
  }
  std::cout << out.str();
  return 0;
}

}  // namespace tessera::cli
