// A session's profile (SessionOptions::profile_path): timed events, written as Chrome trace JSON
// ({"traceEvents": [...]}, complete "X" events in microseconds), which chrome://tracing and
// Perfetto open. Events come from session creation (tracing.h) and from each run
// (framework/run_profiler.h); a session without a profiler records nothing and reads no clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/status.h"

namespace tessera {

class Profiler {
 public:
  using Clock = std::chrono::steady_clock;

  struct Event {
    std::string name;      // "Conv_3", "constant_folding", "run"
    std::string category;  // "session", "optimizer", "node"
    Clock::time_point start, end;
    uint64_t thread = 0;   // thread_id() of the thread that did the work
    std::string args;      // the members of the event's "args" object as JSON (JsonArgs), may be empty
  };

  // Time 0 of the trace is the profiler's creation.
  Profiler() : origin_(Clock::now()) {}
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  // False once stopped: runs then record nothing.
  bool recording() const { return recording_.load(std::memory_order_relaxed); }
  // Thread-safe; events arriving after stop() are dropped.
  void add(Event event);
  void add(std::vector<Event> events);

  // The trace of every event so far, oldest first.
  std::string to_json() const;
  // Stops recording and writes to_json() to `path`; an error names the path. Only the first
  // call writes: later ones are errors.
  Status stop_and_write(const std::string& path);

  // A small number for the calling thread (1 for the first thread that asks), its trace "tid".
  static uint64_t thread_id();

 private:
  const Clock::time_point origin_;
  std::atomic<bool> recording_{true};
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

// JSON text with the characters JSON requires escaped, in quotes.
std::string json_quote(std::string_view text);

// Builds the members of an event's args object: JsonArgs().add("op_type", "Conv").add("round", 2).
class JsonArgs {
 public:
  JsonArgs& add(std::string_view key, std::string_view text);
  JsonArgs& add(std::string_view key, const char* text) { return add(key, std::string_view(text)); }
  JsonArgs& add(std::string_view key, int64_t number);
  JsonArgs& add_json(std::string_view key, std::string_view json);  // `json` is already a JSON value
  std::string take() { return std::move(text_); }

 private:
  void key(std::string_view key);
  std::string text_;
};

}  // namespace tessera
