// Cold and dynamic-shape figures of issue 9, measured through the public API
// (bench/cold_dynamic.sh runs it on the benchmark models). Not a test: it prints figures.
//
//   cold_dynamic cold MODEL [--threads N] [--runs 20] [--rounds 3] [--dim NAME=V]... [--fixed 1]
//       [--warm-up 0]
//       session creation, the first run and the steady runs after it: milliseconds and the page
//       faults of each (getrusage's minor faults, the whole process); first / steady median.
//       The session's options are the defaults (SessionOptions::warm_up on: the warm-up is at
//       the declared shape, symbolic dims taken as 1); --fixed 1: the --dim values become
//       SessionOptions::free_dimension_overrides; --warm-up 0 turns the warm-up off
//   cold_dynamic unseen DYNAMIC_MODEL STATIC_MODEL --dim NAME=V [--seen V1,V2,...] [--runs 20]
//       [--rounds 3] [--threads N]
//       the dynamic session runs at each --seen value until steady, then at V for the first time
//       and steadily; the static session (STATIC_MODEL: the same model with NAME fixed to V)
//       runs at V. Prints both first runs and steady medians, and dynamic / static
// Each figure is the best of --rounds rounds, each with sessions made anew. Symbolic dims not
// given are 1. Inputs: 0.5 for floats, 1 for integers.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "session_inputs.h"
#include "tessera/session.h"

namespace {

using namespace tessera;
using Clock = std::chrono::steady_clock;
using Dims = std::map<std::string, int64_t>;

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

[[noreturn]] void die(const std::string& message) { bench::die("cold_dynamic", message); }

Feeds make_feeds(const Session& session, const Dims& dims) { return bench::constant_feeds("cold_dynamic", session, dims); }

Session load(const std::string& model, int threads, SessionOptions options = {}) {
  return bench::load_session("cold_dynamic", model, threads, std::move(options));
}

struct Timed {
  double ms = 0;
  long faults = 0;
};

Timed timed_run(const Session& s, const Feeds& feeds) {
  const long f0 = minor_faults();
  const auto t0 = Clock::now();
  auto out = s.run(feeds);
  Timed t{ms_since(t0), minor_faults() - f0};
  if (!out.is_ok()) die(out.status().message());
  return t;
}

// The median and the best of `runs` runs, and the faults of all of them.
struct Steady {
  double median = 0, best = 0;
  long faults = 0;
};

Steady steady_runs(const Session& s, const Feeds& feeds, int runs) {
  std::vector<double> ms;
  Steady out;
  for (int i = 0; i < runs; ++i) {
    Timed t = timed_run(s, feeds);
    ms.push_back(t.ms);
    out.faults += t.faults;
  }
  std::sort(ms.begin(), ms.end());
  out.median = ms[ms.size() / 2];
  out.best = ms.front();
  return out;
}

// Best of `rounds` for each figure (a shared machine slows some runs by 2x and more); ratios are
// of the bests. Each round makes its sessions anew, so each has its own first run.
struct Best {
  double value = 1e300;
  long faults = 0;  // of the round that gave the best value
  void keep(double v, long f) {
    if (v < value) value = v, faults = f;
  }
};

int cold(const std::string& model, int threads, int runs, int rounds, const Dims& dims, bool fixed, bool warm_up) {
  Best creation, first, median, best;
  long steady_faults = 0;
  SessionOptions options;
  options.warm_up = warm_up;
  if (fixed) {
    // Only the dims the model has: the script passes the same --dim list for every model.
    Session probe = load(model, 1);
    for (const IoInfo& in : probe.inputs())
      for (const std::string& name : in.dim_names)
        if (dims.count(name)) options.free_dimension_overrides[name] = dims.at(name);
  }
  for (int r = 0; r < rounds; ++r) {
    const long f0 = minor_faults();
    const auto t0 = Clock::now();
    Session s = load(model, threads, options);
    creation.keep(ms_since(t0), minor_faults() - f0);
    Feeds feeds = make_feeds(s, dims);
    Timed t = timed_run(s, feeds);
    first.keep(t.ms, t.faults);
    Steady steady = steady_runs(s, feeds, runs);
    median.keep(steady.median, steady.faults);
    best.keep(steady.best, steady.faults);
    steady_faults = steady.faults;
  }
  std::printf("session_creation_ms: %.1f (faults %ld)\nfirst_run_ms: %.2f (faults %ld)\n"
              "steady_median_ms: %.2f, best %.2f (faults in %d runs: %ld)\nfirst_over_steady: %.2f (target 1.5)\n",
              creation.value, creation.faults, first.value, first.faults, median.value, best.value, runs, steady_faults,
              first.value / median.value);
  return 0;
}

int unseen(const std::string& dynamic_model, const std::string& static_model, int threads, int runs, int rounds,
           const Dims& dims, const std::string& dim, const std::vector<int64_t>& seen) {
  Best dyn_first, dyn_median, fixed_first, fixed_median;
  for (int r = 0; r < rounds; ++r) {
    Session dyn = load(dynamic_model, threads);
    for (int64_t v : seen) {
      Dims d = dims;
      d[dim] = v;
      steady_runs(dyn, make_feeds(dyn, d), 5);
    }
    Feeds feeds = make_feeds(dyn, dims);
    Timed t = timed_run(dyn, feeds);
    dyn_first.keep(t.ms, t.faults);
    Steady steady = steady_runs(dyn, feeds, runs);
    dyn_median.keep(steady.median, steady.faults);

    Session fixed = load(static_model, threads);
    Feeds fixed_feeds = make_feeds(fixed, dims);
    t = timed_run(fixed, fixed_feeds);
    fixed_first.keep(t.ms, t.faults);
    steady = steady_runs(fixed, fixed_feeds, runs);
    fixed_median.keep(steady.median, steady.faults);
  }
  std::printf("dynamic_first_at_new_shape_ms: %.2f (faults %ld)\ndynamic_steady_median_ms: %.2f\n"
              "static_first_ms: %.2f (faults %ld)\nstatic_steady_median_ms: %.2f\n"
              "new_shape_first_over_static_steady: %.2f (target 1.10)\ndynamic_over_static_steady: %.2f\n",
              dyn_first.value, dyn_first.faults, dyn_median.value, fixed_first.value, fixed_first.faults,
              fixed_median.value, dyn_first.value / fixed_median.value, dyn_median.value / fixed_median.value);
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: cold_dynamic cold MODEL [--threads N] [--runs N] [--rounds N] [--dim NAME=V]... [--fixed 0|1] [--warm-up 0|1]\n"
                       "       cold_dynamic unseen DYNAMIC_MODEL STATIC_MODEL --dim NAME=V [--seen V1,V2,...] "
                       "[--threads N] [--runs N] [--rounds N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string mode = argv[1];
  std::vector<std::string> models;
  int i = 2;
  for (; i < argc && argv[i][0] != '-'; ++i) models.push_back(argv[i]);
  int threads = 2, runs = 20, rounds = 3;
  bool fixed = false, warm_up = true;
  Dims dims;
  std::string last_dim;
  std::vector<int64_t> seen;
  for (; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--threads") threads = std::atoi(value.c_str());
    else if (flag == "--runs") runs = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--rounds") rounds = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--fixed") fixed = std::atoi(value.c_str()) != 0;
    else if (flag == "--warm-up") warm_up = std::atoi(value.c_str()) != 0;
    else if (flag == "--dim") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos) return usage();
      last_dim = value.substr(0, eq);
      dims[last_dim] = std::atoll(value.c_str() + eq + 1);
    } else if (flag == "--seen") {
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) seen.push_back(std::atoll(item.c_str()));
    } else {
      return usage();
    }
  }
  if (i != argc) return usage();
  if (mode == "cold" && models.size() == 1) return cold(models[0], threads, runs, rounds, dims, fixed, warm_up);
  if (mode == "unseen" && models.size() == 2 && !last_dim.empty())
    return unseen(models[0], models[1], threads, runs, rounds, dims, last_dim, seen);
  return usage();
}
