#include "core/profiler.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace tessera {

void Profiler::add(Event event) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (recording()) events_.push_back(std::move(event));
}

void Profiler::add(std::vector<Event> events) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!recording()) return;
  for (Event& e : events) events_.push_back(std::move(e));
}

uint64_t Profiler::thread_id() {
  static std::atomic<uint64_t> next{1};
  thread_local const uint64_t id = next.fetch_add(1);
  return id;
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;  // UTF-8 passes through: JSON text is UTF-8
        }
    }
  }
  return out + "\"";
}

void JsonArgs::key(std::string_view key) {
  if (!text_.empty()) text_ += ",";
  text_ += json_quote(key);
  text_ += ":";
}

JsonArgs& JsonArgs::add(std::string_view k, std::string_view text) {
  key(k);
  text_ += json_quote(text);
  return *this;
}

JsonArgs& JsonArgs::add(std::string_view k, int64_t number) {
  key(k);
  text_ += std::to_string(number);
  return *this;
}

JsonArgs& JsonArgs::add_json(std::string_view k, std::string_view json) {
  key(k);
  text_ += json;
  return *this;
}

namespace {

// Microseconds with nanosecond digits: a small op takes well under a microsecond.
std::string micros(Profiler::Clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", std::chrono::duration<double, std::micro>(d).count());
  return text;
}

}  // namespace

std::string Profiler::to_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string pid = std::to_string(::getpid());
  std::string out = "{\"traceEvents\":[";
  for (size_t i = 0; i < events_.size(); ++i) {
    const Event& e = events_[i];
    out += i ? ",\n" : "\n";
    out += str_cat("{\"name\":", json_quote(e.name), ",\"cat\":", json_quote(e.category), ",\"ph\":\"X\",\"ts\":",
                   micros(e.start - origin_), ",\"dur\":", micros(e.end - e.start), ",\"pid\":", pid, ",\"tid\":", e.thread,
                   ",\"args\":{", e.args, "}}");
  }
  out += "\n],\"displayTimeUnit\":\"ms\"}\n";
  return out;
}

Status Profiler::stop_and_write(const std::string& path) {
  if (!recording_.exchange(false)) return invalid_argument("profiling has already ended");
  const std::string json = to_json();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return io_error("cannot write the profile to '", path, "'");
  file << json;
  file.close();
  if (!file) return io_error("cannot write the profile to '", path, "'");
  return Status::ok();
}

}  // namespace tessera
