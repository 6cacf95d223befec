#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace tessera {
namespace {

TEST(ThreadPool, CoversTheRangeExactlyOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(1000);
    pool.parallel_for(1000, 7, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
    });
    for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
    EXPECT_EQ(pool.size(), threads);
  }
}

// A few equal tasks split one by one (10 tasks over 2 threads ran as 5 chunks of 2, so one
// thread did 6 of them), and a long range splits into chunks whose sizes differ by at most one.
TEST(ThreadPool, ChunksAreEvenAndFewTasksSplitOneByOne) {
  ThreadPool pool(2);
  using Case = std::tuple<int64_t, int64_t, int64_t>;  // n, min_chunk, the largest chunk expected
  for (const auto& [n, min_chunk, largest] : std::vector<Case>{{10, 1, 1}, {16, 1, 1}, {100, 1, 7}, {1000, 7, 63}}) {
    std::mutex mutex;
    std::vector<int64_t> sizes;
    pool.parallel_for(n, min_chunk, [&](int64_t begin, int64_t end) {
      std::lock_guard<std::mutex> lock(mutex);
      sizes.push_back(end - begin);
    });
    int64_t total = 0;
    for (int64_t s : sizes) total += s;
    EXPECT_EQ(total, n);
    EXPECT_EQ(*std::max_element(sizes.begin(), sizes.end()), largest) << n;
    EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()), 1) << n;
  }
}

TEST(ThreadPool, ConcurrentCallersShareThePool) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int r = 0; r < 50; ++r)
        pool.parallel_for(100, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 50 * 100);
}

// Calls nested inside chunks, from several callers at once, many of them tiny: a job whose
// helpers never came is withdrawn from the queue before its caller returns, so none runs late.
TEST(ThreadPool, NestedAndTinyCallsFromManyCallers) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      for (int r = 0; r < 200; ++r)
        pool.parallel_for(8, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i)
            pool.parallel_for(3, 1, [&](int64_t b2, int64_t e2) { total.fetch_add(e2 - b2); });
        });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 3 * 200 * 8 * 3);
  int64_t small = 0;
  pool.parallel_for(5, 10, [&](int64_t b, int64_t e) { small += e - b; });  // below two chunks: inline
  EXPECT_EQ(small, 5);
}

// A throwing chunk, on a worker or on the caller, reaches the caller as the exception after every
// started chunk has finished; the pool keeps working afterwards.
TEST(ThreadPool, ExceptionInAChunkReachesTheCallerAfterAllChunksEnd) {
  ThreadPool pool(4);
  for (int64_t throwing_chunk : {0, 1, 3}) {  // 0 is usually the caller's own first chunk
    std::atomic<int> running{0};
    std::atomic<int> max_after_throw{0};
    bool caught = false;
    try {
      pool.parallel_for(4, 1, [&](int64_t begin, int64_t) {
        running.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(begin == throwing_chunk ? 1 : 20));
        running.fetch_sub(1);
        if (begin == throwing_chunk) throw std::runtime_error("chunk failed");
      });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "chunk failed";
      max_after_throw = running.load();
    }
    EXPECT_TRUE(caught) << "chunk " << throwing_chunk;
    EXPECT_EQ(max_after_throw.load(), 0) << "a chunk was still running when parallel_for returned";
  }
  std::atomic<int64_t> total{0};
  pool.parallel_for(1000, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  EXPECT_EQ(total.load(), 1000);
}

}  // namespace
}  // namespace tessera
