#include "infra/dynamodb_state.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "dynamodb_breaker.hpp"

namespace infra {
namespace {

using aws::ddb::AttributeValue;
using aws::ddb::Item;
using aws::ddb::Names;
using aws::ddb::Values;
using aws::ddb::WriteResult;
using std::chrono::seconds;

constexpr std::int64_t kDaySeconds = 24 * 60 * 60;
// Claims and marks whose outcome was lost, kept to be made again: at most this many.
constexpr std::size_t kMaxUnsure = 10000;
// A reported job is kept this long (for the replica that ran it to see the mark).
constexpr std::int64_t kReportedKeepSeconds = 60 * 60;

// Every attribute name is aliased: DynamoDB's reserved words are many and
// case-insensitive (aws-services.md §10).
const Names& all_names() {
  static const Names names = {
      {"#pk", "pk"},
      {"#sk", "sk"},
      {"#rep", "replica"},
      {"#tok", "token"},
      {"#hu", "handling_until"},
      {"#exp", "expires_at"},
      {"#ack", "ack"},
      {"#job", "job_id"},
      {"#cmd", "command"},
      {"#by", "started_by"},
      {"#st", "started"},
      {"#lu", "lease_until"},
      {"#until", "until"},
      {"#n", "n"},
      {"#env", "environment"},
      {"#req", "requester_id"},
      {"#to", "reply_to"},
      {"#val", "value"},
      {"#rb", "reported_by"},
  };
  return names;
}

// Only the aliases an expression uses: DynamoDB refuses unused ones.
Names names_for(std::initializer_list<std::string_view> expressions) {
  Names used;
  for (const auto& [alias, name] : all_names()) {
    for (const auto expression : expressions) {
      // An alias is followed by a character that cannot continue a name.
      for (std::size_t at = expression.find(alias); at != std::string_view::npos;
           at = expression.find(alias, at + 1)) {
        const std::size_t end = at + alias.size();
        const bool whole =
            end == expression.size() ||
            !(std::isalnum(static_cast<unsigned char>(expression[end])) || expression[end] == '_');
        if (whole) {
          used.emplace(alias, name);
          break;
        }
      }
    }
  }
  return used;
}

Item key_of(const std::string& pk, const std::string& sk) {
  return {{"pk", AttributeValue::s(pk)}, {"sk", AttributeValue::s(sk)}};
}

std::optional<std::string> string_at(const Item& item, const std::string& name) {
  auto found = item.find(name);
  if (found == item.end()) return std::nullopt;
  return found->second.as_string();
}

std::optional<std::int64_t> int_at(const Item& item, const std::string& name) {
  auto found = item.find(name);
  if (found == item.end()) return std::nullopt;
  return found->second.as_int();
}

std::int64_t epoch_seconds(core::TimePoint at) {
  return std::chrono::floor<seconds>(at.time_since_epoch()).count();
}

// A value read back from the table: clamped to ±100 years, so that a damaged
// item cannot overflow the clock's arithmetic.
core::TimePoint from_epoch(std::int64_t value) {
  constexpr std::int64_t kLimit = 100LL * 366 * 24 * 60 * 60;
  return core::TimePoint(seconds(std::clamp(value, -kLimit, kLimit)));
}

std::string claim_pk(const std::string& key) { return "claim#" + key; }
std::string cooldown_pk(const std::string& key) { return "cooldown#" + key; }
std::string once_pk(const std::string& key) { return "once#" + key; }
std::string value_pk(const std::string& name) { return "value#" + name; }
constexpr std::string_view kNoSort = "-";
constexpr std::string_view kLockPk = "lock";
constexpr std::string_view kJobPk = "job";

std::optional<JobRecord> job_from(const Item& item) {
  JobRecord job;
  auto id = string_at(item, "sk");
  auto replica = string_at(item, "replica");
  auto lease = int_at(item, "lease_until");
  if (!id || !replica || !lease) return std::nullopt;
  job.job_id = *id;
  job.replica = *replica;
  job.command = string_at(item, "command").value_or("");
  job.environment = string_at(item, "environment").value_or("");
  job.requester_id = string_at(item, "requester_id").value_or("");
  job.started_by = string_at(item, "started_by").value_or("");
  job.reply_to = string_at(item, "reply_to").value_or("");
  job.delivery = string_at(item, "delivery").value_or("");
  job.started = from_epoch(int_at(item, "started").value_or(0));
  job.expires_at = from_epoch(*lease);
  return job;
}

std::optional<LockHolder> holder_from(const Item& item) {
  auto job = string_at(item, "job_id");
  if (!job) return std::nullopt;
  LockHolder holder;
  holder.job_id = *job;
  holder.replica = string_at(item, "replica").value_or("");
  holder.command = string_at(item, "command").value_or("");
  holder.started_by = string_at(item, "started_by").value_or("");
  holder.started = from_epoch(int_at(item, "started").value_or(0));
  return holder;
}

seconds positive(std::int64_t value) { return seconds(value < 1 ? 1 : value); }

}  // namespace

DynamoDbState::DynamoDbState(aws::DynamoDbApi& db, std::string table, const core::Clock& clock,
                             core::LoggerPtr logger)
    : breaker_(std::make_unique<DynamoDbBreaker>(db, clock)),
      db_(*breaker_),
      table_(std::move(table)),
      clock_(clock),
      logger_(std::move(logger)) {}

DynamoDbState::DynamoDbState(std::unique_ptr<aws::DynamoDbApi> db, std::string table,
                             const core::Clock& clock, core::LoggerPtr logger)
    : owned_(std::move(db)),
      breaker_(std::make_unique<DynamoDbBreaker>(*owned_, clock)),
      db_(*breaker_),
      table_(std::move(table)),
      clock_(clock),
      logger_(std::move(logger)) {}

aws::ServiceSettings DynamoDbState::settings_for(std::string region, std::string endpoint_url) {
  aws::ServiceSettings settings;
  settings.region = std::move(region);
  settings.endpoint_url = std::move(endpoint_url);
  // 3 attempts × 1.5 s + backoffs of at most 100 and 200 ms: 4.8 s at worst.
  settings.connect_timeout = std::chrono::milliseconds(1000);
  settings.timeout = std::chrono::milliseconds(1500);
  settings.retry.max_attempts = 3;
  settings.retry.base_delay = std::chrono::milliseconds(100);
  settings.retry.max_delay = std::chrono::milliseconds(200);
  settings.retry.max_retry_after = seconds(0);
  return settings;
}

std::chrono::milliseconds DynamoDbState::failing_for() const {
  std::lock_guard lock(failing_mutex_);
  if (!failing_since_) return {};
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.monotonic() -
                                                               *failing_since_);
}

void DynamoDbState::succeeded() {
  std::lock_guard lock(failing_mutex_);
  failing_since_.reset();
}

void DynamoDbState::failed() {
  std::lock_guard lock(failing_mutex_);
  if (!failing_since_) failing_since_ = clock_.monotonic();
}

std::int64_t DynamoDbState::now_seconds() const { return epoch_seconds(clock_.now()); }

std::string DynamoDbState::new_token() {
  // Unique per call in this process; with the monotonic time, unique enough
  // across restarts to tell one's own write from another's.
  return fmt::format("{}.{}", clock_.monotonic().time_since_epoch().count(), ++tokens_);
}

core::Error DynamoDbState::unreadable(std::string_view what, std::string_view why) const {
  return core::make_error(
      core::ErrorCode::internal,
      fmt::format("infra-bot could not read its shared state (DynamoDB table {}).", table_),
      fmt::format("dynamodb state {}: table={} unreadable item: {}", what, table_, why));
}

template <class T>
core::Result<T> DynamoDbState::track(aws::Outcome<T> outcome, std::string_view what) {
  if (outcome) {
    succeeded();
    return std::move(*outcome);
  }
  failed();
  const auto& failure = outcome.failure();
  logger_->warn("shared state call failed: table={} call={} code={} detail={}", table_, what,
                failure.code.empty() ? "-" : failure.code, failure.error.detail);
  return core::make_error(
      core::ErrorCode::unavailable,
      fmt::format("infra-bot cannot reach its shared state (DynamoDB table {}); try again in a "
                  "minute.",
                  table_),
      fmt::format("dynamodb state {}: table={}: {}", what, table_, failure.error.detail));
}

core::Result<std::optional<Item>> DynamoDbState::read_item(const std::string& pk,
                                                           const std::string& sk,
                                                           std::string_view what) {
  aws::ddb::GetItemRequest request;
  request.table = table_;
  request.key = key_of(pk, sk);
  request.consistent_read = true;
  return track(db_.get_item(request), what);
}

core::Result<std::optional<Item>> DynamoDbState::old_item(const WriteResult& result,
                                                          const std::string& pk,
                                                          const std::string& sk,
                                                          std::string_view what) {
  if (result.item) return result.item;
  return read_item(pk, sk, what);
}

// ---------------------------------------------------------------- claims

core::Result<DeliveryClaim> DynamoDbState::claim_delivery(const std::string& key,
                                                          const std::string& replica, seconds ttl,
                                                          seconds handling) {
  const std::int64_t now = now_seconds();
  const std::string pk = claim_pk(key);
  // A claim of this key whose every answer was lost (it may have been
  // written) is made again with the same token, which then finds it its own.
  std::string token;
  {
    std::lock_guard lock(unsure_mutex_);
    if (auto unsure = unsure_claims_.find(key); unsure != unsure_claims_.end()) {
      token = unsure->second;
      unsure_claims_.erase(unsure);
    }
  }
  if (token.empty()) token = new_token();
  aws::ddb::PutItemRequest request;
  request.table = table_;
  request.item = key_of(pk, std::string(kNoSort));
  request.item.emplace("replica", AttributeValue::s(replica));
  request.item.emplace("token", AttributeValue::s(token));
  request.item.emplace("handling_until", AttributeValue::n(now + handling.count()));
  request.item.emplace("expires_at", AttributeValue::n(now + ttl.count()));
  request.condition.expression =
      "attribute_not_exists(#pk) OR #exp < :now OR (attribute_not_exists(#ack) AND #hu < :now)";
  request.condition.names = names_for({request.condition.expression});
  request.condition.values = {{":now", AttributeValue::n(now)}};
  request.return_values = aws::ddb::ReturnValues::all_old;
  auto put = track(db_.put_item(request), "claim_delivery");
  if (!put) {
    std::lock_guard lock(unsure_mutex_);
    if (unsure_claims_.size() >= kMaxUnsure) unsure_claims_.clear();  // a long outage
    unsure_claims_[key] = token;
    return std::move(put).error();
  }
  if (!put->condition_failed) {
    // What it replaced: a claim not expired, without an ack, by another (a
    // retry of this very write finds its own token instead).
    DeliveryClaim won{true, std::nullopt, false};
    if (put->item && put->item->count("pk") > 0) {
      const auto& old = *put->item;
      won.taken_over = old.count("ack") == 0 && int_at(old, "expires_at").value_or(0) >= now &&
                       string_at(old, "token") != token;
    }
    return won;
  }
  auto old = old_item(*put, pk, std::string(kNoSort), "claim_delivery");
  if (!old) return std::move(old).error();
  DeliveryClaim claim;
  if (!*old) return claim;  // gone meanwhile (its TTL): another claimed it first
  // A retry of our own write whose answer was lost: the item is ours.
  if (string_at(**old, "token") == token) return DeliveryClaim{true, std::nullopt};
  claim.ack = string_at(**old, "ack");
  return claim;
}

core::Status DynamoDbState::store_ack(const std::string& key, const std::string& payload) {
  const std::int64_t now = now_seconds();
  aws::ddb::UpdateItemRequest request;
  request.table = table_;
  request.key = key_of(claim_pk(key), std::string(kNoSort));
  // An ack for a claim gone already still gets an expiry, so TTL collects it.
  request.update = "SET #ack = :ack, #exp = if_not_exists(#exp, :exp)";
  request.condition.names = names_for({request.update});
  request.condition.values = {{":ack", AttributeValue::s(payload)},
                              {":exp", AttributeValue::n(now + 600)}};
  request.old_item_on_failure = false;
  auto done = track(db_.update_item(request), "store_ack");
  if (!done) return std::move(done).error();
  return {};
}

core::Result<std::optional<std::string>> DynamoDbState::stored_ack(const std::string& key) {
  const std::int64_t now = now_seconds();
  auto item = read_item(claim_pk(key), std::string(kNoSort), "stored_ack");
  if (!item) return std::move(item).error();
  if (!*item) return std::optional<std::string>();
  if (auto expires = int_at(**item, "expires_at"); expires && *expires < now) {
    return std::optional<std::string>();
  }
  return string_at(**item, "ack");
}

// ---------------------------------------------------------------- locks

core::Result<std::optional<LockHolder>> DynamoDbState::acquire_lock(const std::string& lock,
                                                                    const LockHolder& holder,
                                                                    seconds lease) {
  const std::int64_t now = now_seconds();
  const std::int64_t lease_until = now + lease.count();
  aws::ddb::PutItemRequest request;
  request.table = table_;
  request.item = key_of(std::string(kLockPk), lock);
  request.item.emplace("job_id", AttributeValue::s(holder.job_id));
  request.item.emplace("replica", AttributeValue::s(holder.replica));
  request.item.emplace("command", AttributeValue::s(holder.command));
  request.item.emplace("started_by", AttributeValue::s(holder.started_by));
  request.item.emplace("started", AttributeValue::n(epoch_seconds(holder.started)));
  request.item.emplace("lease_until", AttributeValue::n(lease_until));
  request.item.emplace("expires_at", AttributeValue::n(lease_until + kDaySeconds));
  // `#job = :me`: taking it again is success (a retry after a lost answer,
  // aws-services.md §10: compare the owner before treating the lease as lost).
  request.condition.expression = "attribute_not_exists(#pk) OR #lu < :now OR #job = :me";
  request.condition.names = names_for({request.condition.expression});
  request.condition.values = {{":now", AttributeValue::n(now)},
                              {":me", AttributeValue::s(holder.job_id)}};
  // Twice at most: the holder may go between the failed write and the read.
  for (int round = 0; round < 2; ++round) {
    auto put = track(db_.put_item(request), "acquire_lock");
    if (!put) return std::move(put).error();
    if (!put->condition_failed) return std::optional<LockHolder>();
    auto old = old_item(*put, std::string(kLockPk), lock, "acquire_lock");
    if (!old) return std::move(old).error();
    if (!*old) continue;
    auto current = holder_from(**old);
    if (!current) return unreadable("acquire_lock", "a lock without job_id");
    return std::optional<LockHolder>(std::move(*current));
  }
  return core::make_error(
      core::ErrorCode::unavailable,
      fmt::format("infra-bot could not take the lock {} in its shared state; try again.", lock),
      fmt::format("dynamodb state acquire_lock: table={} lock={}: changed under us twice", table_,
                  lock));
}

core::Result<bool> DynamoDbState::extend_lease(const std::string& pk, const std::string& sk,
                                               std::string_view condition, const std::string& me,
                                               std::int64_t lease_until, std::string_view what) {
  aws::ddb::UpdateItemRequest request;
  request.table = table_;
  request.key = key_of(pk, sk);
  request.update = "SET #lu = :lu, #exp = :exp";
  request.condition.expression = std::string(condition);
  request.condition.names = names_for({request.update, request.condition.expression});
  request.condition.values = {{":lu", AttributeValue::n(lease_until)},
                              {":exp", AttributeValue::n(lease_until + kDaySeconds)},
                              {":me", AttributeValue::s(me)}};
  request.old_item_on_failure = false;
  auto done = track(db_.update_item(request), what);
  if (!done) return std::move(done).error();
  return !done->condition_failed;
}

core::Status DynamoDbState::renew_lock(const std::string& lock, const std::string& job_id,
                                       seconds lease) {
  auto renewed = extend_lease(std::string(kLockPk), lock, "#job = :me", job_id,
                              now_seconds() + lease.count(), "renew_lock");
  if (!renewed) return std::move(renewed).error();
  if (!*renewed) {
    return core::make_error(
        core::ErrorCode::conflict,
        fmt::format("The lock {} was taken over: its lease lapsed.", lock),
        fmt::format("dynamodb state renew_lock: lock={} job={}: not the holder", lock, job_id));
  }
  return {};
}

core::Status DynamoDbState::release_lock(const std::string& lock, const std::string& job_id) {
  aws::ddb::DeleteItemRequest request;
  request.table = table_;
  request.key = key_of(std::string(kLockPk), lock);
  request.condition.expression = "#job = :me";
  request.condition.names = names_for({request.condition.expression});
  request.condition.values = {{":me", AttributeValue::s(job_id)}};
  request.old_item_on_failure = false;
  auto done = track(db_.delete_item(request), "release_lock");
  if (!done) return std::move(done).error();
  return {};  // a failed condition: not ours (any more), nothing to do
}

// ---------------------------------------------------------------- cooldowns and reads

core::Result<std::optional<seconds>> DynamoDbState::start_cooldown(const std::string& key,
                                                                   seconds length) {
  const std::int64_t now = now_seconds();
  const std::string pk = cooldown_pk(key);
  const std::string token = new_token();
  aws::ddb::PutItemRequest request;
  request.table = table_;
  request.item = key_of(pk, std::string(kNoSort));
  request.item.emplace("until", AttributeValue::n(now + length.count()));
  request.item.emplace("token", AttributeValue::s(token));
  request.item.emplace("expires_at", AttributeValue::n(now + length.count()));
  request.condition.expression = "attribute_not_exists(#pk) OR #until <= :now";
  request.condition.names = names_for({request.condition.expression});
  request.condition.values = {{":now", AttributeValue::n(now)}};
  auto put = track(db_.put_item(request), "start_cooldown");
  if (!put) return std::move(put).error();
  if (!put->condition_failed) return std::optional<seconds>();
  auto old = old_item(*put, pk, std::string(kNoSort), "start_cooldown");
  if (!old) return std::move(old).error();
  if (!*old || string_at(**old, "token") == token) return std::optional<seconds>();
  auto until = int_at(**old, "until");
  if (!until) return unreadable("start_cooldown", "a cooldown without until");
  return std::optional<seconds>(positive(*until - now));
}

core::Result<std::optional<seconds>> DynamoDbState::cooldown_left(const std::string& key) {
  const std::int64_t now = now_seconds();
  auto item = read_item(cooldown_pk(key), std::string(kNoSort), "cooldown_left");
  if (!item) return std::move(item).error();
  if (!*item) return std::optional<seconds>();
  auto until = int_at(**item, "until");
  if (!until) return unreadable("cooldown_left", "a cooldown without until");
  if (*until <= now) return std::optional<seconds>();
  return std::optional<seconds>(seconds(*until - now));
}

namespace {

std::string reads_pk(const std::string& user, std::int64_t now) {
  return fmt::format("reads#{}#{}", user, now / 60);
}

seconds to_next_minute(std::int64_t now) { return seconds(60 - now % 60); }

}  // namespace

core::Result<std::optional<seconds>> DynamoDbState::count_read(const std::string& user, int limit) {
  const std::int64_t now = now_seconds();
  aws::ddb::UpdateItemRequest request;
  request.table = table_;
  request.key = key_of(reads_pk(user, now), std::string(kNoSort));
  request.update = "SET #exp = :exp ADD #n :one";
  request.condition.expression = "attribute_not_exists(#n) OR #n < :limit";
  request.condition.names = names_for({request.update, request.condition.expression});
  request.condition.values = {{":exp", AttributeValue::n((now / 60 + 1) * 60 + 60)},
                              {":one", AttributeValue::n(1)},
                              {":limit", AttributeValue::n(limit)}};
  request.old_item_on_failure = false;
  auto done = track(db_.update_item(request), "count_read");
  if (!done) return std::move(done).error();
  if (done->condition_failed) return std::optional<seconds>(to_next_minute(now));
  return std::optional<seconds>();
}

core::Result<std::optional<seconds>> DynamoDbState::read_limited(const std::string& user,
                                                                 int limit) {
  const std::int64_t now = now_seconds();
  auto item = read_item(reads_pk(user, now), std::string(kNoSort), "read_limited");
  if (!item) return std::move(item).error();
  if (!*item) return std::optional<seconds>();
  if (int_at(**item, "n").value_or(0) >= limit) {
    return std::optional<seconds>(to_next_minute(now));
  }
  return std::optional<seconds>();
}

// ---------------------------------------------------------------- jobs

core::Status DynamoDbState::put_job(const JobRecord& record) {
  const std::int64_t lease_until = epoch_seconds(record.expires_at);
  aws::ddb::PutItemRequest request;
  request.table = table_;
  request.item = key_of(std::string(kJobPk), record.job_id);
  request.item.emplace("replica", AttributeValue::s(record.replica));
  request.item.emplace("command", AttributeValue::s(record.command));
  request.item.emplace("environment", AttributeValue::s(record.environment));
  request.item.emplace("requester_id", AttributeValue::s(record.requester_id));
  request.item.emplace("started_by", AttributeValue::s(record.started_by));
  request.item.emplace("reply_to", AttributeValue::s(record.reply_to));
  if (!record.delivery.empty())
    request.item.emplace("delivery", AttributeValue::s(record.delivery));
  request.item.emplace("started", AttributeValue::n(epoch_seconds(record.started)));
  request.item.emplace("lease_until", AttributeValue::n(lease_until));
  request.item.emplace("expires_at", AttributeValue::n(lease_until + kDaySeconds));
  request.old_item_on_failure = false;
  auto done = track(db_.put_item(request), "put_job");
  if (!done) return std::move(done).error();
  return {};
}

core::Status DynamoDbState::renew_job(const std::string& job_id, const std::string& replica,
                                      core::TimePoint expires_at) {
  auto renewed = extend_lease(std::string(kJobPk), job_id,
                              "attribute_exists(#pk) AND #rep = :me AND attribute_not_exists(#rb)",
                              replica, epoch_seconds(expires_at), "renew_job");
  if (!renewed) return std::move(renewed).error();
  if (!*renewed) {
    return core::make_error(
        core::ErrorCode::conflict, "This job was reported by another replica (its lease lapsed).",
        fmt::format("dynamodb state renew_job: job={} replica={}: record gone", job_id, replica));
  }
  return {};
}

core::Status DynamoDbState::end_job(const std::string& job_id, const std::string& replica) {
  aws::ddb::DeleteItemRequest request;
  request.table = table_;
  request.key = key_of(std::string(kJobPk), job_id);
  request.condition.expression =
      "attribute_exists(#pk) AND #rep = :me AND attribute_not_exists(#rb)";
  request.condition.names = names_for({request.condition.expression});
  request.condition.values = {{":me", AttributeValue::s(replica)}};
  request.old_item_on_failure = true;
  auto done = track(db_.delete_item(request), "end_job");
  if (!done) return std::move(done).error();
  if (!done->condition_failed) return {};
  // Gone already is no one's report: never written, or removed by a retry of
  // this very call whose first answer was lost. A survivor marks what it
  // reports (reported_by) and leaves it for the TTL.
  auto old = old_item(*done, std::string(kJobPk), job_id, "end_job");
  if (!old) return std::move(old).error();
  if (!*old) return {};
  return core::make_error(
      core::ErrorCode::conflict, "This job was reported by another replica (its lease lapsed).",
      fmt::format("dynamodb state end_job: job={} replica={}: reported by {}", job_id, replica,
                  string_at(**old, "reported_by").value_or("another replica")));
}

core::Result<std::vector<Item>> DynamoDbState::job_items(std::string_view what) {
  aws::ddb::QueryRequest query;
  query.table = table_;
  query.key_condition = "#pk = :job";
  query.names = names_for({query.key_condition});
  query.values = {{":job", AttributeValue::s(std::string(kJobPk))}};
  query.consistent_read = true;
  return track(db_.query(query), what);
}

core::Result<std::vector<JobRecord>> DynamoDbState::take_orphans() {
  const std::int64_t now = now_seconds();
  const std::string call_token = new_token();
  auto items = job_items("take_orphans");
  if (!items) return std::move(items).error();
  std::vector<JobRecord> taken;
  for (const auto& item : *items) {
    auto job = job_from(item);
    if (!job) {
      logger_->warn("shared state: table={} a job item without replica or lease_until; skipped",
                    table_);
      continue;
    }
    if (epoch_seconds(job->expires_at) >= now) continue;
    // A job this process may have marked in an earlier sweep whose answer was
    // lost is taken again with that sweep's mark; any other mark is another's.
    std::string token = call_token;
    {
      std::lock_guard lock(unsure_mutex_);
      if (auto unsure = unsure_marks_.find(job->job_id); unsure != unsure_marks_.end()) {
        token = unsure->second;
      }
    }
    const auto marked_by = string_at(item, "reported_by");
    if (marked_by && *marked_by != token) continue;  // reported by another already
    // Whoever marks it reports it: the condition makes that one caller (a
    // retry of this call, same token, still counts as the one). The mark
    // keeps the replica that ran it from answering too; the TTL removes it.
    aws::ddb::UpdateItemRequest request;
    request.table = table_;
    request.key = key_of(std::string(kJobPk), job->job_id);
    request.update = "SET #rb = :me, #exp = :gc";
    request.condition.expression =
        "attribute_exists(#pk) AND #lu < :now AND (attribute_not_exists(#rb) OR #rb = :me)";
    request.condition.names = names_for({request.update, request.condition.expression});
    request.condition.values = {{":now", AttributeValue::n(now)},
                                {":me", AttributeValue::s(token)},
                                {":gc", AttributeValue::n(now + kReportedKeepSeconds)}};
    request.return_values = aws::ddb::ReturnValues::all_new;
    request.old_item_on_failure = false;
    auto done = track(db_.update_item(request), "take_orphans");
    if (!done) {
      {
        std::lock_guard lock(unsure_mutex_);
        unsure_marks_[job->job_id] = token;
      }
      // Those marked so far are returned (and reported); the rest wait for the next sweep.
      if (taken.empty()) return std::move(done).error();
      break;
    }
    {
      std::lock_guard lock(unsure_mutex_);
      unsure_marks_.erase(job->job_id);
    }
    if (done->condition_failed) continue;  // renewed, ended or taken by another
    if (done->item) {
      if (auto marked = job_from(*done->item)) job = std::move(marked);
    }
    taken.push_back(std::move(*job));
  }
  return taken;
}

core::Result<std::optional<JobRecord>> DynamoDbState::job_of_delivery(const std::string& delivery) {
  std::optional<JobRecord> found;
  if (delivery.empty()) return found;
  auto items = job_items("job_of_delivery");
  if (!items) return std::move(items).error();
  for (const auto& item : *items) {
    if (string_at(item, "delivery") != delivery) continue;
    found = job_from(item);
    if (found) break;
  }
  return found;
}

// ---------------------------------------------------------------- once and values

core::Result<bool> DynamoDbState::claim_once(const std::string& key, seconds ttl) {
  const std::int64_t now = now_seconds();
  const std::string pk = once_pk(key);
  const std::string token = new_token();
  aws::ddb::PutItemRequest request;
  request.table = table_;
  request.item = key_of(pk, std::string(kNoSort));
  request.item.emplace("token", AttributeValue::s(token));
  request.item.emplace("expires_at", AttributeValue::n(now + ttl.count()));
  request.condition.expression = "attribute_not_exists(#pk) OR #exp < :now";
  request.condition.names = names_for({request.condition.expression});
  request.condition.values = {{":now", AttributeValue::n(now)}};
  auto put = track(db_.put_item(request), "claim_once");
  if (!put) return std::move(put).error();
  if (!put->condition_failed) return true;
  auto old = old_item(*put, pk, std::string(kNoSort), "claim_once");
  if (!old) return std::move(old).error();
  return *old && string_at(**old, "token") == token;
}

core::Result<bool> DynamoDbState::claimed(const std::string& key) {
  auto item = read_item(once_pk(key), std::string(kNoSort), "claimed");
  if (!item) return std::move(item).error();
  if (!*item) return false;
  const auto expires = int_at(**item, "expires_at");
  return !expires || *expires >= now_seconds();
}

core::Result<std::string> DynamoDbState::shared_value(const std::string& name,
                                                      const std::string& proposed) {
  const std::string pk = value_pk(name);
  aws::ddb::PutItemRequest request;
  request.table = table_;
  request.item = key_of(pk, std::string(kNoSort));
  request.item.emplace("value", AttributeValue::s(proposed));
  request.condition.expression = "attribute_not_exists(#pk)";
  request.condition.names = names_for({request.condition.expression});
  request.old_item_on_failure = false;
  auto put = track(db_.put_item(request), "shared_value");
  if (!put) return std::move(put).error();
  // Read back what is stored, whoever stored it: every replica ends with the first.
  auto item = read_item(pk, std::string(kNoSort), "shared_value");
  if (!item) return std::move(item).error();
  if (!*item) return unreadable("shared_value", "the value is gone after it was stored");
  auto value = string_at(**item, "value");
  if (!value) return unreadable("shared_value", "a value item without value");
  return std::move(*value);
}

}  // namespace infra
