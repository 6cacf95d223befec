// `tessera bench MODEL`: load time, latency statistics over random inputs, peak memory; as
// key: value lines or, with --json, one JSON object (what bench/compare reads).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
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
#include "core/float_types.h"
#include "tessera/session.h"
#include "tools/commands.h"
#include "tools/session_flags.h"

namespace tessera::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Random values in a range every model accepts: [0, 1) for floats, small non-negative ints
// (valid as indices into most embedding tables), true/false for bool.
// The shape fed to `io`: fixed dims as declared, symbolic ones from --dim, else 1 (the names of
// those defaulted are added to `defaulted`).
Shape input_shape(const IoInfo& io, const std::map<std::string, int64_t>& dims, std::set<std::string>& defaulted) {
  Shape shape;
  for (size_t i = 0; i < io.shape.size(); ++i) {
    if (io.shape[i] >= 0) {
      shape.push_back(io.shape[i]);
      continue;
    }
    auto it = dims.find(io.dim_names[i]);
    if (it == dims.end()) defaulted.insert(io.dim_names[i].empty() ? io.name + "[" + std::to_string(i) + "]" : io.dim_names[i]);
    shape.push_back(it == dims.end() ? 1 : it->second);
  }
  return shape;
}

Result<Tensor> random_tensor(const IoInfo& io, const Shape& shape, std::mt19937& rng) {
  if (io.kind != IoInfo::Kind::tensor) return invalid_argument("input '", io.name, "' is not a tensor; bench feeds tensors only");
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::create(io.dtype, shape));
  std::uniform_real_distribution<float> real(0.f, 1.f);
  std::uniform_int_distribution<int> small(0, 99);
  for (int64_t i = 0; i < t.size(); ++i) {
    switch (io.dtype) {
      case DataType::float32: t.data<float>()[i] = real(rng); break;
      case DataType::float64: t.data<double>()[i] = real(rng); break;
      case DataType::float16: t.data<uint16_t>()[i] = float_to_half(real(rng)); break;
      case DataType::int64: t.data<int64_t>()[i] = small(rng); break;
      case DataType::int32: t.data<int32_t>()[i] = small(rng); break;
      case DataType::boolean: t.data<bool>()[i] = small(rng) % 2; break;
      case DataType::uint8: t.data<uint8_t>()[i] = static_cast<uint8_t>(small(rng)); break;
      default: return not_implemented("input '", io.name, "': bench cannot make random ", dtype_name(io.dtype), " values");
    }
  }
  return t;
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
  auto fail = [](const Status& s) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  };
  std::map<std::string, int64_t> dims;
  for (const auto& spec : args.dims) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return fail(invalid_argument("--dim expects NAME=VALUE, got '", spec, "'"));
    const std::string text = spec.substr(eq + 1);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1)
      return fail(invalid_argument("--dim ", spec.substr(0, eq), ": expected a whole number of at least 1, got '", text, "'"));
    dims[spec.substr(0, eq)] = value;
  }
  if (args.runs < 1) return fail(invalid_argument("--runs must be at least 1"));
  if (args.warmup < 0) return fail(invalid_argument("--warmup must be at least 0"));

  auto options = session_options(args.threads, args.opt_level, args.log_level, args.profile, args.ep, args.limits);
  if (!options.is_ok()) return fail(options.status());
  auto start = Clock::now();
  auto session = Session::load(args.model, *options);
  if (!session.is_ok()) return fail(session.status());
  double load_ms = ms_since(start);

  std::set<std::string> known_dims;
  for (const auto& in : session->inputs())
    for (const auto& name : in.dim_names)
      if (!name.empty()) known_dims.insert(name);
  for (const auto& [name, value] : dims) {
    if (known_dims.count(name)) continue;
    std::string known;
    for (const auto& k : known_dims) known += (known.empty() ? "'" : ", '") + k + "'";
    return fail(invalid_argument("--dim ", name, ": model '", args.model, "' has no input dimension named '", name,
                                 "' (its symbolic dimensions: ", known.empty() ? "none" : known, ")"));
  }
  std::mt19937 rng(42);
  Feeds feeds;
  std::set<std::string> defaulted;
  std::vector<std::pair<std::string, Shape>> shapes;
  for (const auto& in : session->inputs()) {
    Shape shape = input_shape(in, dims, defaulted);
    auto t = random_tensor(in, shape, rng);
    if (!t.is_ok()) return fail(t.status());
    shapes.emplace_back(in.name, shape);
    feeds.emplace_back(in.name, Value(std::move(t).value()));
  }
  // Said once per name (or per unnamed dim), unless --log-level is above warning.
  if (options->log_severity <= LogSeverity::warning)
    for (const auto& name : defaulted)
      std::cerr << "warning: symbolic dimension '" << name << "' defaulted to 1 (set it with --dim " << name << "=VALUE)\n";

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
  const int threads = args.threads > 0 ? args.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const char* isa = isa_name(cpu_isa());

  std::ostringstream out;
  out << std::fixed << std::setprecision(3);
  if (args.json) {
    out << "{\"model\": " << json_string(args.model) << ", \"load_ms\": " << load_ms
        << ", \"first_run_ms\": " << first_run_ms << ", \"runs\": " << args.runs
        << ", \"warmup\": " << args.warmup << ", \"latency_ms\": {\"min\": " << stats.min << ", \"mean\": " << stats.mean
        << ", \"p50\": " << stats.p50 << ", \"p90\": " << stats.p90 << ", \"p99\": " << stats.p99
        << ", \"stddev\": " << stats.stddev << "}, \"throughput_per_s\": " << throughput
        << ", \"peak_rss_mb\": " << peak_rss_mb << ", \"threads\": " << threads << ", \"isa\": \"" << isa
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
    out << "\nthreads: " << threads << "\nisa: " << isa << "\nload_ms: " << load_ms;
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
