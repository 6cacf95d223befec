// The float32 multi-head attention loop shared by com.tessera Attention and ONNX Runtime's
// com.microsoft Attention / MultiHeadAttention: Y_h = softmax(scale * Q_h K_h^T + mask) V_h for
// every batch and head, each (batch, head) one task whose two GEMMs read and write the heads in
// place through strided views, so callers lay out Q, K, V and Y however their op does.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace tessera {

// Head h of batch b starts at data + b * batch + h * head; its rows (sequence positions) are
// `row` elements apart.
template <class P>
struct HeadsView {
  P* data = nullptr;
  int64_t batch = 0, head = 0, row = 0;
  P* at(int64_t b, int64_t h) const { return data + b * batch + h * head; }
};

struct AttentionShape {
  int64_t batch = 0, heads = 0;
  int64_t kv_heads = 0;  // K and V heads; query head h reads kv head h / (heads / kv_heads)
  int64_t q_len = 0, kv_len = 0, head = 0, v_head = 0;
};

// Copies a 3-D [B, S, H*D] or 4-D [B, H, S, D] buffer into dst laid out as [B, H, dst_len, D],
// starting at sequence position `seq_offset`.
template <class C>
inline void to_head_layout(const C* src, bool three_d, int64_t B, int64_t H, int64_t S, int64_t D, C* dst,
                           int64_t dst_len, int64_t seq_offset) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t s = 0; s < S; ++s) {
        const C* from = three_d ? src + ((b * S + s) * H + h) * D : src + ((b * H + h) * S + s) * D;
        std::copy(from, from + D, dst + ((b * H + h) * dst_len + seq_offset + s) * D);
      }
}

// mask: additive, indexed b * mask_strides[0] + h * [1] + i * [2] + j * [3] over
// [batch, heads, q_len, kv_len] (stride 0 along a broadcast dim); null for none.
void multi_head_attention(ThreadPool& pool, const AttentionShape& s, float scale, HeadsView<const float> q,
                          HeadsView<const float> k, HeadsView<const float> v, const float* mask,
                          const int64_t mask_strides[4], HeadsView<float> y);

}  // namespace tessera
