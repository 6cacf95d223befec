// The numpy (multidirectional) broadcast of shapes, shared by every kernel that broadcasts.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

// The broadcast of `shapes`; fails when two dims differ and neither is 1, with a message that
// starts with `where` (the node) and names the shapes.
inline Result<Shape> broadcast_shapes(const std::vector<const Shape*>& shapes, const std::string& where) {
  size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  Shape out(rank, 1);
  for (const Shape* s : shapes) {
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
      for (const Shape* t : shapes) all += (all.empty() ? "" : " and ") + shape_to_string(*t);
      return invalid_argument(where, ": shapes ", all, " cannot be broadcast together");
    }
  }
  return out;
}

}  // namespace tessera
