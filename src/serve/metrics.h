// Prometheus metrics of the server, served as text on GET /metrics: per model (and version),
// requests and failures, request latency, time in the queue and the sizes of the batches run.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tessera::serve {

// A cumulative histogram over fixed upper bounds (Prometheus' le buckets, +Inf implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double value);
  // Appends NAME_bucket / NAME_sum / NAME_count lines with `labels` ("model=\"m\",version=\"1\"").
  void write(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  // One answered infer request: `ok` false for any 4xx/5xx answer.
  void record_request(const std::string& model, const std::string& version, bool ok, double seconds);
  void record_queue(const std::string& model, const std::string& version, double seconds);
  void record_batch(const std::string& model, const std::string& version, int64_t rows);
  // The Prometheus text exposition format (version 0.0.4).
  std::string prometheus_text() const;

 private:
  struct ModelMetrics {
    uint64_t requests = 0;
    uint64_t failures = 0;
    Histogram latency{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
    Histogram queue{{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
    Histogram batch{{1, 2, 4, 8, 16, 32, 64, 128}};
  };
  ModelMetrics& at(const std::string& model, const std::string& version);

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, ModelMetrics> models_;
};

}  // namespace tessera::serve
