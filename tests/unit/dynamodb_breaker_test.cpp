// DynamoDbBreaker: DynamoDB that gave no HTTP answer at all is not asked
// again for 2 s (each call would wait out its connect timeouts, past Slack's
// 3 s for an ack); then one call probes. An HTTP error never opens it.
#include "dynamodb_breaker.hpp"

#include <gtest/gtest.h>

#include "core/scheduler.hpp"

namespace {

using namespace std::chrono_literals;

// Answers get_item with what the test sets, counting the calls that reach it.
class ScriptedDb final : public aws::DynamoDbApi {
 public:
  enum class Next { ok, no_answer, http_500 };
  Next next = Next::ok;
  int calls = 0;

  aws::Outcome<std::optional<aws::ddb::Item>> get_item(const aws::ddb::GetItemRequest&) override {
    ++calls;
    switch (next) {
      case Next::ok:
        return std::optional<aws::ddb::Item>{};
      case Next::no_answer:
        return aws::CallError{
            core::make_error(core::ErrorCode::unavailable, "down", "refused"), {}, 0, {}, {}};
      case Next::http_500:
        return aws::CallError{core::make_error(core::ErrorCode::unavailable, "500", "500"),
                              "InternalServerError", 500, "req-1", "boom"};
    }
    return std::optional<aws::ddb::Item>{};
  }
  aws::Outcome<aws::ddb::WriteResult> put_item(const aws::ddb::PutItemRequest&) override {
    return unused<aws::ddb::WriteResult>();
  }
  aws::Outcome<aws::ddb::WriteResult> update_item(const aws::ddb::UpdateItemRequest&) override {
    return unused<aws::ddb::WriteResult>();
  }
  aws::Outcome<aws::ddb::WriteResult> delete_item(const aws::ddb::DeleteItemRequest&) override {
    return unused<aws::ddb::WriteResult>();
  }
  aws::Outcome<std::vector<aws::ddb::Item>> query(const aws::ddb::QueryRequest&) override {
    return unused<std::vector<aws::ddb::Item>>();
  }
  aws::Outcome<aws::ddb::TableDescription> create_table(
      const aws::ddb::CreateTableRequest&) override {
    return unused<aws::ddb::TableDescription>();
  }
  aws::Outcome<aws::ddb::TableDescription> describe_table(const std::string&) override {
    return unused<aws::ddb::TableDescription>();
  }
  aws::Outcome<aws::Done> update_time_to_live(const std::string&, const std::string&,
                                              bool) override {
    return unused<aws::Done>();
  }
  aws::Outcome<aws::ddb::TimeToLive> describe_time_to_live(const std::string&) override {
    return unused<aws::ddb::TimeToLive>();
  }

 private:
  template <class T>
  static aws::Outcome<T> unused() {
    return core::make_error(core::ErrorCode::internal, "not used here");
  }
};

class DynamoDbBreakerTest : public testing::Test {
 protected:
  bool get() { return static_cast<bool>(breaker_.get_item(aws::ddb::GetItemRequest{})); }

  core::ManualClock clock_;
  ScriptedDb db_;
  infra::DynamoDbBreaker breaker_{db_, clock_, 2s};
};

TEST_F(DynamoDbBreakerTest, NoAnswerAtAllStopsTheCallsForAWhileThenOneProbes) {
  db_.next = ScriptedDb::Next::no_answer;
  EXPECT_FALSE(get());
  EXPECT_EQ(db_.calls, 1);
  clock_.advance(1500ms);
  EXPECT_FALSE(get());
  EXPECT_FALSE(get());
  EXPECT_EQ(db_.calls, 1) << "failed at once, without asking";
  clock_.advance(600ms);
  db_.next = ScriptedDb::Next::ok;
  EXPECT_TRUE(get()) << "the probe";
  EXPECT_EQ(db_.calls, 2);
  EXPECT_TRUE(get());
  EXPECT_EQ(db_.calls, 3) << "closed again: every call goes through";
}

TEST_F(DynamoDbBreakerTest, AProbeThatFailsKeepsItOpen) {
  db_.next = ScriptedDb::Next::no_answer;
  EXPECT_FALSE(get());
  clock_.advance(2100ms);
  EXPECT_FALSE(get());  // the probe, unanswered
  EXPECT_EQ(db_.calls, 2);
  clock_.advance(1s);
  EXPECT_FALSE(get());
  EXPECT_EQ(db_.calls, 2);
}

TEST_F(DynamoDbBreakerTest, AnHttpErrorNeverOpensIt) {
  db_.next = ScriptedDb::Next::http_500;
  EXPECT_FALSE(get());
  EXPECT_FALSE(get());
  EXPECT_FALSE(get());
  EXPECT_EQ(db_.calls, 3) << "DynamoDB answers: its errors are the client's retries' business";
}

}  // namespace
