// Sessions under concurrent use (TSan runs this file too): one session shared by 16 threads
// running thousands of inputs of varying shapes gives every output bit for bit as a sequential
// run does; sessions are created, run and destroyed from 8 threads at once.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tessera/session.h"
#include "tests/unit/api/model_inputs.h"

namespace tessera {
namespace {

using namespace tessera::test_util;

TEST(Concurrency, SixteenThreadsShareOneSessionWithSequentialResults) {
  SessionOptions options;
  options.intra_op_threads = 2;  // the runs also share the session's intra-op pool
  auto session = Session::load(kBertLike, options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  // Inputs of 1-4 rows of 1-16 tokens (symbolic batch and sequence dims), run once in turn.
  std::vector<Feeds> inputs;
  std::vector<std::vector<Value>> expected;
  for (unsigned k = 0; k < 24; ++k) {
    inputs.push_back(bert_feeds(1 + k % 4, 1 + (k * 5) % 16, k));
    expected.push_back(run_ok(*session, inputs.back()));
    ASSERT_EQ(expected.back().size(), 2u);
  }

  constexpr int kThreads = 16, kRunsPerThread = 150;
  const SharedRuns runs = run_from_threads(*session, inputs, expected, kThreads, kRunsPerThread);
  EXPECT_EQ(runs.failures, 0);
  EXPECT_EQ(runs.mismatches, 0) << "of " << kThreads * kRunsPerThread << " runs";
}

TEST(Concurrency, SessionsCreatedAndDestroyedFromEightThreads) {
  const Feeds feeds = resnet_feeds(2, 5);
  SessionOptions options;
  options.intra_op_threads = 1;
  std::vector<Value> expected;
  {
    auto session = Session::load(kResnetLike, options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    expected = run_ok(*session, feeds);
    ASSERT_EQ(expected.size(), 1u);
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 6; ++i) {
        auto session = Session::load(kResnetLike, options);
        if (!session.is_ok()) {
          ++failures;
          continue;
        }
        auto out = session->run(feeds);
        if (!out.is_ok()) ++failures;
        else if (!bitwise_equal((*out)[0].tensor(), expected[0].tensor())) ++mismatches;
      }  // destroyed here, while other threads create and run theirs
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace tessera
