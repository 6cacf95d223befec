// The numpy (multidirectional) broadcast of shapes, shared by every kernel that broadcasts.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

// The broadcast of `shapes`; fails when two dims differ and neither is 1, with a message that
// starts with `where` (the node) and names the shapes. Over Shapes (then nothing is allocated
// unless it fails or a rank passes Shape's inline capacity), or any vector of int64_t.
template <class S>
Result<S> broadcast_shapes(std::span<const S* const> shapes, std::string_view where) {
  size_t rank = 0;
  for (const S* s : shapes) rank = std::max(rank, s->size());
  S out(rank, 1);
  for (const S* s : shapes) {
    const size_t lead = rank - s->size();
    for (size_t i = 0; i < s->size(); ++i) {
      const int64_t d = (*s)[i];
      int64_t& o = out[lead + i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (const S* t : shapes) all += (all.empty() ? "" : " and ") + shape_to_string(Shape(t->begin(), t->end()));
      return invalid_argument(where, ": shapes ", all, " cannot be broadcast together");
    }
  }
  return out;
}
template <class S>
Result<S> broadcast_shapes(std::initializer_list<const S*> shapes, std::string_view where) {
  return broadcast_shapes(std::span<const S* const>(shapes.begin(), shapes.size()), where);
}
inline Result<Shape> broadcast_shapes(const std::vector<const Shape*>& shapes, std::string_view where) {
  return broadcast_shapes(std::span<const Shape* const>(shapes), where);
}

}  // namespace tessera
