#pragma once

// SharedState on a DynamoDB table (INFRA_STATE_TABLE; issue 18). One item per
// claim, lock, cooldown, read window, job, one-time claim and shared value;
// every decision is one conditional write on one item, and expiry is decided
// in the condition against the caller's clock (`… < :now`, epoch seconds).
// The table's TTL attribute `expires_at` only garbage-collects.
//
// Item layout (hash key `pk`, range key `sk`, both S):
//   claim#<key>     / -       replica, token, handling_until, expires_at, ack
//   lock            / <lock>  job_id, replica, command, started_by, started,
//                             lease_until, expires_at (= lease_until + 1 day)
//   cooldown#<key>  / -       until, token, expires_at (= until)
//   reads#<user>#<epoch minute> / -   n, expires_at
//   job             / <id>    the JobRecord, lease_until, expires_at (+ 1 day)
//   once#<key>      / -       token, expires_at
//   value#<name>    / -       value (a secret for the signing key: never logged)

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "aws/dynamodb_client.hpp"
#include "aws/service_client.hpp"
#include "core/log.hpp"
#include "infra/shared_state.hpp"

namespace infra {

class DynamoDbState final : public SharedState {
 public:
  /// `db` must outlive the state. `table`: the table's name.
  DynamoDbState(aws::DynamoDbApi& db, std::string table, const core::Clock& clock,
                core::LoggerPtr logger);
  /// The same, owning the client.
  DynamoDbState(std::unique_ptr<aws::DynamoDbApi> db, std::string table, const core::Clock& clock,
                core::LoggerPtr logger);

  /// The settings of the ServiceClient the state's DynamoDbClient is built on:
  /// each call bounded under 5 s, retries included (connect 1 s, 1.5 s an
  /// attempt, 3 attempts, backoff at most 100 + 200 ms).
  /// `endpoint_url`: aws::dynamodb_endpoint_override(env), empty = regional.
  static aws::ServiceSettings settings_for(std::string region, std::string endpoint_url = {});

  const std::string& table() const { return table_; }

  // SharedState
  std::string_view name() const override { return "dynamodb"; }
  bool shared() const override { return true; }
  std::chrono::milliseconds failing_for() const override;

  core::Result<DeliveryClaim> claim_delivery(const std::string& key, const std::string& replica,
                                             std::chrono::seconds ttl,
                                             std::chrono::seconds handling) override;
  core::Status store_ack(const std::string& key, const std::string& payload) override;
  core::Result<std::optional<std::string>> stored_ack(const std::string& key) override;

  core::Result<std::optional<LockHolder>> acquire_lock(const std::string& lock,
                                                       const LockHolder& holder,
                                                       std::chrono::seconds lease) override;
  core::Status renew_lock(const std::string& lock, const std::string& job_id,
                          std::chrono::seconds lease) override;
  core::Status release_lock(const std::string& lock, const std::string& job_id) override;

  core::Result<std::optional<std::chrono::seconds>> start_cooldown(
      const std::string& key, std::chrono::seconds length) override;
  core::Result<std::optional<std::chrono::seconds>> cooldown_left(const std::string& key) override;
  core::Result<std::optional<std::chrono::seconds>> count_read(const std::string& user,
                                                               int limit) override;
  core::Result<std::optional<std::chrono::seconds>> read_limited(const std::string& user,
                                                                 int limit) override;

  core::Status put_job(const JobRecord& record) override;
  core::Status renew_job(const std::string& job_id, const std::string& replica,
                         core::TimePoint expires_at) override;
  core::Status end_job(const std::string& job_id, const std::string& replica) override;
  core::Result<std::vector<JobRecord>> take_orphans() override;
  core::Result<std::optional<JobRecord>> job_of_delivery(const std::string& delivery) override;

  core::Result<bool> claim_once(const std::string& key, std::chrono::seconds ttl) override;
  core::Result<bool> claimed(const std::string& key) override;
  core::Result<std::string> shared_value(const std::string& name,
                                         const std::string& proposed) override;

 private:
  template <class T>
  core::Result<T> track(aws::Outcome<T> outcome, std::string_view what);
  void succeeded();
  void failed();
  std::int64_t now_seconds() const;
  std::string new_token();
  core::Result<std::optional<aws::ddb::Item>> read_item(const std::string& pk,
                                                        const std::string& sk,
                                                        std::string_view what);
  /// The item a failed condition was about: ALL_OLD when the store sent it,
  /// else a consistent read (a store without ReturnValuesOnConditionCheckFailure).
  core::Result<std::optional<aws::ddb::Item>> old_item(const aws::ddb::WriteResult& result,
                                                       const std::string& pk, const std::string& sk,
                                                       std::string_view what);
  core::Error unreadable(std::string_view what, std::string_view why) const;
  /// Sets a new lease on an item if `condition` (with `:me`) holds: false when it did not.
  core::Result<bool> extend_lease(const std::string& pk, const std::string& sk,
                                  std::string_view condition, const std::string& me,
                                  std::int64_t lease_until, std::string_view what);
  /// Every item of the jobs' partition (a consistent Query: they are few).
  core::Result<std::vector<aws::ddb::Item>> job_items(std::string_view what);

  std::unique_ptr<aws::DynamoDbApi> owned_;
  std::unique_ptr<aws::DynamoDbApi> breaker_;  ///< fails at once while unreachable (2 s)
  aws::DynamoDbApi& db_;                       ///< through the breaker
  std::string table_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
  std::atomic<std::uint64_t> tokens_{0};
  /// Jobs whose mark (take_orphans) may have been written though its answer
  /// was lost, with that mark: the next sweep takes them again.
  std::mutex unsure_mutex_;
  std::map<std::string, std::string> unsure_marks_;
  /// Claims of a delivery whose outcome was lost, with their token.
  std::map<std::string, std::string> unsure_claims_;
  mutable std::mutex failing_mutex_;
  std::optional<core::MonoTime> failing_since_;
};

/// What create_state_table() did.
struct StateTableReport {
  bool created = false;          ///< false: the table existed already
  bool ttl_enabled_now = false;  ///< false: TTL was on `ttl_attribute` already
  std::string ttl_attribute;     ///< "expires_at"
  friend bool operator==(const StateTableReport&, const StateTableReport&) = default;
};

struct StateTableOptions {
  std::chrono::milliseconds poll_interval{1000};  ///< between DescribeTable calls
  int max_polls = 120;                            ///< then an `unavailable` Error
};

/// The table schema, defined once in deploy/terraform/modules/slack-bot/state_table.json
/// (which the Terraform module reads too), embedded at build time.
std::string_view state_table_schema_json();

/// Creates the state table as the schema says (on demand, SSE enabled) unless
/// it exists (ResourceInUseException is success), waits until it is ACTIVE
/// (polling DescribeTable through `sleeper`), then enables TTL on the schema's
/// attribute unless it is on already (DescribeTimeToLive first; a
/// ValidationException while it is enabled is success too). Idempotent; safe
/// to run from several processes at once.
core::Result<StateTableReport> create_state_table(aws::DynamoDbApi& db, const std::string& table,
                                                  aws::Sleeper& sleeper,
                                                  StateTableOptions options = {});

}  // namespace infra
