#include "src/serve/metrics.h"

#include <sstream>

namespace tessera::serve {
namespace {

// Label values escape backslash, quote and newline (the exposition format's rule).
std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::write(const std::string& name, const std::string& labels, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum{" + labels + "} " + number(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

Metrics::ModelMetrics& Metrics::at(const std::string& model, const std::string& version) {
  return models_[{model, version}];
}

void Metrics::record_request(const std::string& model, const std::string& version, bool ok, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ModelMetrics& m = at(model, version);
  ++m.requests;
  if (!ok) ++m.failures;
  m.latency.observe(seconds);
}

void Metrics::record_queue(const std::string& model, const std::string& version, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  at(model, version).queue.observe(seconds);
}

void Metrics::record_batch(const std::string& model, const std::string& version, int64_t rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  at(model, version).batch.observe(static_cast<double>(rows));
}

std::string Metrics::prometheus_text() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  auto each = [&](const char* name, const char* type, const char* help, auto write) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [key, m] : models_) {
      std::string labels = "model=\"" + label_value(key.first) + "\",version=\"" + label_value(key.second) + "\"";
      write(name, labels, m);
    }
  };
  each("tessera_inference_requests_total", "counter", "Infer requests answered, per model version.",
       [&](const char* name, const std::string& labels, const ModelMetrics& m) {
         out += std::string(name) + "{" + labels + "} " + std::to_string(m.requests) + "\n";
       });
  each("tessera_inference_failures_total", "counter", "Infer requests answered with an error (4xx or 5xx).",
       [&](const char* name, const std::string& labels, const ModelMetrics& m) {
         out += std::string(name) + "{" + labels + "} " + std::to_string(m.failures) + "\n";
       });
  each("tessera_inference_request_duration_seconds", "histogram", "Infer request latency in the server.",
       [&](const char* name, const std::string& labels, const ModelMetrics& m) { m.latency.write(name, labels, out); });
  each("tessera_inference_queue_duration_seconds", "histogram", "Time an infer request waited in its model's queue.",
       [&](const char* name, const std::string& labels, const ModelMetrics& m) { m.queue.write(name, labels, out); });
  each("tessera_inference_batch_size", "histogram", "Rows (dim 0) of each batch a batching model ran.",
       [&](const char* name, const std::string& labels, const ModelMetrics& m) { m.batch.write(name, labels, out); });
  return out;
}

}  // namespace tessera::serve
