// What the bench programs over the public API share: loading a session and feeds of constant
// values for its inputs. Header-only; errors print "TOOL: message" and exit with 2.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "tessera/session.h"

namespace tessera::bench {

[[noreturn]] inline void die(const char* tool, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", tool, message.c_str());
  std::exit(2);
}

// `options` with intra_op_threads set to `threads`.
inline Session load_session(const char* tool, const std::string& model, int threads, SessionOptions options = {}) {
  options.intra_op_threads = threads;
  auto s = Session::load(model, options);
  if (!s.is_ok()) die(tool, s.status().message());
  return std::move(s).value();
}

// Feeds of the declared shapes, symbolic dims from `dims` (else 1); constant values every model
// accepts (0.5 for floats, 1 for integers: a valid token id and an attention mask of ones).
inline Feeds constant_feeds(const char* tool, const Session& session, const std::map<std::string, int64_t>& dims) {
  Feeds feeds;
  for (const IoInfo& in : session.inputs()) {
    Shape shape;
    for (size_t i = 0; i < in.shape.size(); ++i) {
      auto it = dims.find(in.dim_names[i]);
      shape.push_back(in.shape[i] >= 0 ? in.shape[i] : it != dims.end() ? it->second : 1);
    }
    auto t = Tensor::create(in.dtype, shape);
    if (!t.is_ok()) die(tool, "input '" + in.name + "': " + t.status().message());
    for (int64_t i = 0; i < t->size(); ++i) {
      switch (in.dtype) {
        case DataType::float32: t->data<float>()[i] = 0.5f; break;
        case DataType::int64: t->data<int64_t>()[i] = 1; break;
        case DataType::int32: t->data<int32_t>()[i] = 1; break;
        default: die(tool, "input '" + in.name + "': only float32/int64/int32 inputs");
      }
    }
    feeds.emplace_back(in.name, Value(std::move(t).value()));
  }
  return feeds;
}

}  // namespace tessera::bench
