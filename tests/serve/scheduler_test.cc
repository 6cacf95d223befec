// The scheduler on the bundled digits model (batch dim free): concurrent requests coalesce into
// one batch whose rows go back to the right requests, and a full queue refuses.
#include "src/serve/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>

namespace tessera::serve {
namespace {

Session digits() {
  auto session = Session::load(std::string(TESSERA_SOURCE_DIR) + "/models/digits/model.onnx");
  EXPECT_TRUE(session.is_ok()) << session.status().message();
  return std::move(session).value();
}

Feeds image(float value, int64_t rows = 1) {
  auto t = Tensor::create(DataType::float32, {rows, 1, 8, 8});
  for (float& v : t->span<float>()) v = value;
  return {{"image", *t}};
}

TEST(Scheduler, CoalescesRequestsAndSplitsRowsBack) {
  Session session = digits();
  ModelConfig config;
  config.max_batch_size = 8;
  config.dynamic_batching = true;
  config.max_queue_delay_us = 2000000;  // long: the batch closes at the preferred size, 6 rows
  config.preferred_batch_sizes = {6};
  std::vector<int64_t> batches;
  std::mutex mutex;
  Scheduler scheduler(session, config, [&](int64_t rows) {
    std::lock_guard<std::mutex> lock(mutex);
    batches.push_back(rows);
  });
  ASSERT_TRUE(scheduler.batching());
  auto deadline = Scheduler::Clock::now() + std::chrono::seconds(60);
  std::vector<std::future<JobOutcome>> outcomes;
  for (int i = 0; i < 4; ++i) outcomes.push_back(scheduler.submit(image(0.25f * i), deadline).outcome);
  outcomes.push_back(scheduler.submit(image(1.5f, 2), deadline).outcome);  // two rows: the batch closes at 6
  for (int i = 0; i < 4; ++i) {
    JobOutcome outcome = outcomes[i].get();
    ASSERT_TRUE(outcome.outputs.is_ok()) << outcome.outputs.status().message();
    auto alone = session.run(image(0.25f * i));
    ASSERT_TRUE(alone.is_ok());
    const Tensor& got = (*outcome.outputs)[0].tensor();
    ASSERT_EQ(got.shape(), (Shape{1, 10}));
    for (int k = 0; k < 10; ++k) EXPECT_NEAR(got.data<float>()[k], (*alone)[0].tensor().data<float>()[k], 1e-5);
  }
  JobOutcome last = outcomes[4].get();
  ASSERT_TRUE(last.outputs.is_ok());
  EXPECT_EQ((*last.outputs)[0].tensor().shape(), (Shape{2, 10}));
  std::lock_guard<std::mutex> lock(mutex);
  int64_t total = 0;
  for (int64_t rows : batches) total += rows;
  EXPECT_EQ(total, 6);
  EXPECT_LT(batches.size(), 5u);  // at least two requests shared a run
}

TEST(Scheduler, FullQueueRefuses) {
  Session session = digits();
  ModelConfig config;
  config.max_queue_size = 0;  // nothing may wait
  Scheduler scheduler(session, config, {});
  auto deadline = Scheduler::Clock::now() + std::chrono::seconds(60);
  EXPECT_EQ(scheduler.submit(image(0), deadline).admission, Scheduler::Admission::queue_full);
}

TEST(Scheduler, ExpiredRequestsAreNotRun) {
  Session session = digits();
  Scheduler scheduler(session, ModelConfig{}, {});
  auto ticket = scheduler.submit(image(0), Scheduler::Clock::now() - std::chrono::seconds(1));
  ASSERT_EQ(ticket.admission, Scheduler::Admission::accepted);
  JobOutcome outcome = ticket.outcome.get();
  ASSERT_FALSE(outcome.outputs.is_ok());
  EXPECT_EQ(outcome.outputs.status().code(), StatusCode::deadline_exceeded);
}

}  // namespace
}  // namespace tessera::serve
