// ShapeKeyedCache<T>: state a kernel derives from an input shape (pooling windows, geometry),
// kept for the next run at the same shape, so a steady-state run neither recomputes nor
// allocates it. One entry: a new shape replaces it (a kernel sees one shape per run, and runs at
// varying shapes recompute as they did before). compute() is const and may run on many threads
// at once, so the entry is guarded and handed out as a shared_ptr (a reader keeps its copy alive
// while another run replaces the entry).
#pragma once

#include <memory>
#include <mutex>
#include <utility>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

template <class T>
class ShapeKeyedCache {
 public:
  // The value for `shape`: the cached one when `shape` is the last one seen, else make() (a
  // Result<T>), cached then. A failing make() is returned and caches nothing.
  template <class Make>
  Result<std::shared_ptr<const T>> get(const Shape& shape, Make&& make) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (value_ && shape_ == shape) return value_;
    }
    Result<T> made = std::forward<Make>(make)();
    if (!made.is_ok()) return made.status();
    auto value = std::make_shared<const T>(std::move(made).value());
    std::lock_guard<std::mutex> lock(mutex_);
    shape_ = shape;
    value_ = value;
    return value;
  }

 private:
  mutable std::mutex mutex_;
  mutable Shape shape_;
  mutable std::shared_ptr<const T> value_;
};

}  // namespace tessera
