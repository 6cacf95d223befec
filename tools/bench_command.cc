// `tessera bench MODEL`: load time, latency percentiles over random inputs, peak memory.
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>

#include "core/float_types.h"
#include "core/logger.h"
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
Result<Tensor> random_tensor(const IoInfo& io, const std::map<std::string, int64_t>& dims, std::mt19937& rng) {
  if (io.kind != IoInfo::Kind::tensor) return invalid_argument("input '", io.name, "' is not a tensor; bench feeds tensors only");
  Shape shape;
  for (size_t i = 0; i < io.shape.size(); ++i) {
    if (io.shape[i] >= 0) {
      shape.push_back(io.shape[i]);
    } else {
      auto it = dims.find(io.dim_names[i]);
      shape.push_back(it == dims.end() ? 1 : it->second);
    }
  }
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

  auto options = session_options(args.threads, args.opt_level, args.log_level, args.profile);
  if (!options.is_ok()) return fail(options.status());
  auto start = Clock::now();
  auto session = Session::load(args.model, *options);
  if (!session.is_ok()) return fail(session.status());
  double load_ms = ms_since(start);

  for (const auto& [name, value] : dims) {
    bool known = false;
    for (const auto& in : session->inputs())
      known = known || std::find(in.dim_names.begin(), in.dim_names.end(), name) != in.dim_names.end();
    if (!known) return fail(invalid_argument("--dim ", name, ": model '", args.model, "' has no input dimension named '", name, "'"));
  }
  // A dimension no --dim sets is 1: said once per name (recorded in `dims`), or per unnamed dim.
  const Logger log(options->log_severity);
  for (const auto& in : session->inputs())
    for (size_t i = 0; i < in.shape.size(); ++i) {
      const std::string& name = in.dim_names[i];
      if (in.shape[i] >= 0 || dims.count(name)) continue;
      log.log(LogSeverity::warning, "model '", args.model, "': input '", in.name, "' dimension ", i,
              name.empty() ? " is not fixed" : " ('" + name + "') is symbolic", "; bench uses 1",
              name.empty() ? "" : " (--dim " + name + "=N sets it)");
      if (!name.empty()) dims[name] = 1;
    }

  std::mt19937 rng(42);
  Feeds feeds;
  for (const auto& in : session->inputs()) {
    auto t = random_tensor(in, dims, rng);
    if (!t.is_ok()) return fail(t.status());
    feeds.emplace_back(in.name, Value(std::move(t).value()));
  }
  for (int i = 0; i < args.warmup; ++i) {
    auto out = session->run(feeds);
    if (!out.is_ok()) return fail(out.status());
  }
  std::vector<double> times;
  for (int i = 0; i < args.runs; ++i) {
    auto run_start = Clock::now();
    auto out = session->run(feeds);
    times.push_back(ms_since(run_start));
    if (!out.is_ok()) return fail(out.status());
  }
  if (!args.profile.empty()) {
    auto written = session->end_profiling();
    if (!written.is_ok()) return fail(written.status());
  }
  std::sort(times.begin(), times.end());
  auto pct = [&](double p) { return times[std::min(times.size() - 1, static_cast<size_t>(p * times.size()))]; };
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << std::fixed << std::setprecision(3) << "model: " << args.model << "\nload_ms: " << load_ms
            << "\nruns: " << args.runs << "\nlatency_ms_p50: " << pct(0.5) << "\nlatency_ms_p90: " << pct(0.9)
            << "\nlatency_ms_p99: " << pct(0.99) << "\nlatency_ms_min: " << times.front()
            << "\npeak_rss_mb: " << usage.ru_maxrss / 1024.0 << "\n";
  return 0;
}

}  // namespace tessera::cli
