#include "providers/cpu/nn/attention_core.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/microkernels/vector_math.h"

namespace tessera {

void multi_head_attention(ThreadPool& pool, const AttentionShape& s, float scale, HeadsView<const float> q,
                          HeadsView<const float> k, HeadsView<const float> v, const float* mask,
                          const int64_t mask_strides[4], HeadsView<float> y) {
  const int64_t B = s.batch, H = s.heads, Sq = s.q_len, Sk = s.kv_len, D = s.head, Dv = s.v_head;
  const int64_t group = s.kv_heads > 0 ? H / s.kv_heads : 1;
  if (B * H == 0 || Sq == 0 || Dv == 0) return;
  const auto& vk = reduce_impl::vec::kernels();
  const double work = static_cast<double>(Sq) * static_cast<double>(Sk) * static_cast<double>(D + Dv);
  const int64_t grain = work > 1e5 ? 1 : std::max<int64_t>(1, static_cast<int64_t>(1e5 / std::max(1.0, work)));
  pool.parallel_for(B * H, grain, [&](int64_t t0, int64_t t1) {
    // Scores kept per thread up to 1 MB (512 x 512) and reused by later runs: a vector per call
    // allocated and zero-filled 155 KB per task at ViT's 197 x 197. Larger ones are not kept.
    constexpr size_t kKeptScores = size_t{1} << 18;
    const size_t need = static_cast<size_t>(Sq * Sk);
    thread_local std::vector<float> kept;
    std::unique_ptr<float[]> large;
    if (need <= kKeptScores && kept.size() < need) kept.resize(need);
    if (need > kKeptScores) large.reset(new float[need]);
    float* const scores = need > kKeptScores ? large.get() : kept.data();
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / H, h = t % H;
      float* yh = y.at(b, h);
      if (Sk == 0) {  // nothing to attend: zeros
        for (int64_t i = 0; i < Sq; ++i) std::fill(yh + i * y.row, yh + i * y.row + Dv, 0.0f);
        continue;
      }
      kernels::gemm(Sq, Sk, D, scale, {q.at(b, h), q.row, false}, {k.at(b, h / group), k.row, true}, 0.0f,
                    scores, Sk);
      for (int64_t i = 0; i < Sq; ++i) {
        float* row = scores + i * Sk;
        if (mask) {
          const float* mrow = mask + b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2];
          if (mask_strides[3] == 1) {
            for (int64_t j = 0; j < Sk; ++j) row[j] += mrow[j];
          } else {
            for (int64_t j = 0; j < Sk; ++j) row[j] += mrow[0];
          }
        }
        const float mx = vk.max(row, Sk);
        vk.scale(row, Sk, 1.0f / vk.exp_shift_store(row, row, Sk, mx));
      }
      kernels::gemm(Sq, Dv, Sk, 1.0f, {scores, Sk, false}, {v.at(b, h / group), v.row, false}, 0.0f, yh, y.row);
    }
  });
}

}  // namespace tessera
