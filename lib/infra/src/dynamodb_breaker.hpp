#pragma once
// DynamoDB that cannot be reached at all (no HTTP answer after every
// attempt: refused, timed out) is not asked again for a while: each call
// would wait out its connect timeouts again (seconds), and a command's ack
// must leave within Slack's 3 s. Calls fail at once for `open_for`, then one
// goes through as a probe. An HTTP answer — even a 500 or a throttle, which
// the client's retries handle — never opens it.

#include <chrono>
#include <mutex>

#include "aws/dynamodb_client.hpp"
#include "core/clock.hpp"

namespace infra {

class DynamoDbBreaker final : public aws::DynamoDbApi {
 public:
  DynamoDbBreaker(aws::DynamoDbApi& inner, const core::Clock& clock,
                  std::chrono::milliseconds open_for = std::chrono::seconds(2))
      : inner_(inner), clock_(clock), open_for_(open_for) {}

  aws::Outcome<std::optional<aws::ddb::Item>> get_item(
      const aws::ddb::GetItemRequest& request) override {
    return pass([&] { return inner_.get_item(request); });
  }
  aws::Outcome<aws::ddb::WriteResult> put_item(const aws::ddb::PutItemRequest& request) override {
    return pass([&] { return inner_.put_item(request); });
  }
  aws::Outcome<aws::ddb::WriteResult> update_item(
      const aws::ddb::UpdateItemRequest& request) override {
    return pass([&] { return inner_.update_item(request); });
  }
  aws::Outcome<aws::ddb::WriteResult> delete_item(
      const aws::ddb::DeleteItemRequest& request) override {
    return pass([&] { return inner_.delete_item(request); });
  }
  aws::Outcome<std::vector<aws::ddb::Item>> query(const aws::ddb::QueryRequest& request) override {
    return pass([&] { return inner_.query(request); });
  }
  aws::Outcome<aws::ddb::TableDescription> create_table(
      const aws::ddb::CreateTableRequest& request) override {
    return inner_.create_table(request);
  }
  aws::Outcome<aws::ddb::TableDescription> describe_table(const std::string& table) override {
    return inner_.describe_table(table);
  }
  aws::Outcome<aws::Done> update_time_to_live(const std::string& table,
                                              const std::string& attribute, bool enabled) override {
    return inner_.update_time_to_live(table, attribute, enabled);
  }
  aws::Outcome<aws::ddb::TimeToLive> describe_time_to_live(const std::string& table) override {
    return inner_.describe_time_to_live(table);
  }

 private:
  template <class Call>
  auto pass(Call call) -> decltype(call()) {
    {
      std::lock_guard lock(mutex_);
      const auto now = clock_.monotonic();
      if (open_until_ && now < *open_until_) {
        return aws::CallError{
            core::make_error(core::ErrorCode::unavailable, "DynamoDB cannot be reached right now.",
                             "dynamodb: not asked again yet (unreachable "
                             "moments ago)"),
            {},
            0,
            {},
            {}};
      }
      // Past it: this call is the probe; the others wait for its outcome.
      if (open_until_) open_until_ = now + open_for_;
    }
    auto outcome = call();
    std::lock_guard lock(mutex_);
    if (!outcome && outcome.failure().http_status == 0) {
      open_until_ = clock_.monotonic() + open_for_;
    } else {
      open_until_.reset();
    }
    return outcome;
  }

  aws::DynamoDbApi& inner_;
  const core::Clock& clock_;
  std::chrono::milliseconds open_for_;
  std::mutex mutex_;
  std::optional<core::MonoTime> open_until_;
};

}  // namespace infra
