// Throughput of N caller threads sharing one session against N separate sessions, one thread
// each (SessionOptions::intra_op_threads = 1 in both, so both use N cores). Rounds alternate the
// two modes and the best round of each is kept, as timings on a shared machine are noisy.
//
//   concurrency_bench MODEL [--threads N] [--seconds S] [--rounds R] [--dim NAME=VALUE]...
//
// Inputs are zeros of the declared types; symbolic dims are 1 unless --dim gives them.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tessera/session.h"

using namespace tessera;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

Feeds zero_feeds(const Session& session, const std::map<std::string, int64_t>& dims) {
  Feeds feeds;
  for (const IoInfo& in : session.inputs()) {
    Shape shape;
    for (size_t i = 0; i < in.shape.size(); ++i) {
      auto it = i < in.dim_names.size() ? dims.find(in.dim_names[i]) : dims.end();
      shape.push_back(in.shape[i] >= 0 ? in.shape[i] : it != dims.end() ? it->second : 1);
    }
    auto t = Tensor::create(in.dtype, shape);
    if (!t.is_ok()) die(t.status().message());
    feeds.emplace_back(in.name, Value(*t));
  }
  return feeds;
}

// Runs per second of `threads` threads, thread t running sessions[t % sessions.size()].
double throughput(const std::vector<const Session*>& sessions, const Feeds& feeds, int threads, double seconds) {
  std::atomic<long> runs{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      const Session& s = *sessions[static_cast<size_t>(t) % sessions.size()];
      while (!stop.load(std::memory_order_relaxed)) {
        auto out = s.run(feeds);
        if (!out.is_ok()) die(out.status().message());
        runs.fetch_add(1, std::memory_order_relaxed);
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  return static_cast<double>(runs.load()) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: concurrency_bench MODEL [--threads N] [--seconds S] [--rounds R] [--dim NAME=VALUE]...");
  const std::string model = argv[1];
  int threads = 2, rounds = 3;
  double seconds = 3;
  std::map<std::string, int64_t> dims;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--threads") threads = std::atoi(value.c_str());
    else if (flag == "--seconds") seconds = std::atof(value.c_str());
    else if (flag == "--rounds") rounds = std::atoi(value.c_str());
    else if (flag == "--dim" && value.find('=') != std::string::npos)
      dims[value.substr(0, value.find('='))] = std::atoll(value.substr(value.find('=') + 1).c_str());
    else die("unknown flag " + flag);
  }
  SessionOptions options;
  options.intra_op_threads = 1;
  std::vector<Session> sessions;
  for (int t = 0; t < threads; ++t) {
    auto s = Session::load(model, options);
    if (!s.is_ok()) die(s.status().message());
    sessions.push_back(std::move(s).value());
  }
  const Feeds feeds = zero_feeds(sessions[0], dims);
  std::vector<const Session*> shared{&sessions[0]}, separate;
  for (const Session& s : sessions) separate.push_back(&s);
  throughput(shared, feeds, threads, 0.5);  // warm up both
  throughput(separate, feeds, threads, 0.5);
  double best_shared = 0, best_separate = 0;
  for (int r = 0; r < rounds; ++r) {
    best_shared = std::max(best_shared, throughput(shared, feeds, threads, seconds));
    best_separate = std::max(best_separate, throughput(separate, feeds, threads, seconds));
  }
  std::printf("%s, %d threads: one shared session %.1f runs/s, %d separate sessions %.1f runs/s, ratio %.3f\n",
              model.c_str(), threads, best_shared, threads, best_separate, best_shared / best_separate);
  return 0;
}
