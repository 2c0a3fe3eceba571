// The SharedState contract (lib/infra/include/infra/shared_state.hpp), one
// typed suite for every implementation. Time is a core::ManualClock the test
// moves, so leases and windows lapse without sleeping.
//
// Instantiations: DynamoDbState on a dynalite started per suite (below). To add
// another (MemoryState), write a Factory like DynamoDbFactory with
// `static std::unique_ptr<infra::SharedState> make(const core::Clock&)` and add
// it to `Implementations` at the bottom of this file.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>

#include "core/scheduler.hpp"
#include "dynamodb_fakes.hpp"
#include "infra/dynamodb_state.hpp"
#include "infra/memory_state.hpp"
#include "infra/shared_state.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;

// ---------------------------------------------------------------- factories

/// DynamoDbState on one dynalite per test process, one table per test.
struct DynamoDbFactory {
  static constexpr const char* kName = "dynamodb";
  /// The read limit counts per minute of the clock (one item per user and minute).
  static constexpr bool kFixedReadWindow = true;
  static std::string skip_reason() {
    if (!test::state_node_modules_present()) {
      return "no dynalite in " + test::state_node_modules() +
             " (./dev.sh test installs it: npm ci of tests/state)";
    }
    return {};
  }
  static test::DynamoDbStack& stack() {
    static test::Dynalite dynalite;  // stopped at exit
    static test::DynamoDbStack shared(dynalite.endpoint());
    return shared;
  }
  static std::unique_ptr<infra::SharedState> make(const core::Clock& clock) {
    auto& db = stack();
    if (!db.ok()) return nullptr;
    const auto table = test::unique_table_name("conformance");
    auto created = infra::create_state_table(db.client(), table, db.sleeper(), {10ms, 1000});
    if (!created) {
      ADD_FAILURE() << "create_state_table: " << created.error().detail;
      return nullptr;
    }
    return std::make_unique<infra::DynamoDbState>(db.client(), table, clock, db.logger());
  }
};

/// MemoryState: one process's state, no store to start.
struct MemoryFactory {
  static constexpr const char* kName = "memory";
  /// The read limit is a sliding window: any 60 s, not the minute of the clock.
  static constexpr bool kFixedReadWindow = false;
  static std::string skip_reason() { return {}; }
  static std::unique_ptr<infra::SharedState> make(const core::Clock& clock) {
    return std::make_unique<infra::MemoryState>(clock);
  }
};

// ---------------------------------------------------------------- the suite

template <class Factory>
class SharedStateConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto reason = Factory::skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    state_ = Factory::make(clock_);
    ASSERT_NE(state_, nullptr);
  }

  infra::LockHolder holder(std::string job, std::string replica = "r1") {
    return infra::LockHolder{std::move(job), std::move(replica), "stop dev", "@alice",
                             clock_.now()};
  }

  infra::JobRecord job(std::string id, std::string replica, seconds lease) {
    infra::JobRecord record;
    record.job_id = std::move(id);
    record.replica = std::move(replica);
    record.command = "stop dev";
    record.environment = "dev";
    record.requester_id = "U123";
    record.started_by = "@alice";
    record.reply_to = "C1/1700000000.000100";
    record.started = clock_.now();
    record.expires_at = clock_.now() + lease;
    return record;
  }

  core::ManualClock clock_;
  std::unique_ptr<infra::SharedState> state_;
};

TYPED_TEST_SUITE_P(SharedStateConformance);

TYPED_TEST_P(SharedStateConformance, NamesItself) {
  EXPECT_FALSE(this->state_->name().empty());
  EXPECT_EQ(this->state_->failing_for(), 0ms);
}

TYPED_TEST_P(SharedStateConformance, FirstClaimWinsTheSecondSeesTheAck) {
  auto& state = *this->state_;
  auto first = state.claim_delivery("ev1", "r1", 600s, 30s);
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_TRUE(first->won);
  auto second = state.claim_delivery("ev1", "r2", 600s, 30s);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->won);
  EXPECT_FALSE(second->ack.has_value());

  ASSERT_TRUE(state.store_ack("ev1", R"({"text":"ok"})"));
  auto stored = state.stored_ack("ev1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, std::optional<std::string>(R"({"text":"ok"})"));
  auto third = state.claim_delivery("ev1", "r3", 600s, 30s);
  ASSERT_TRUE(third);
  EXPECT_FALSE(third->won);
  EXPECT_EQ(third->ack, std::optional<std::string>(R"({"text":"ok"})"));
  // An ack stored long after handling lapsed still keeps the delivery claimed.
  this->clock_.advance(60s);
  auto fourth = state.claim_delivery("ev1", "r4", 600s, 30s);
  ASSERT_TRUE(fourth);
  EXPECT_FALSE(fourth->won);
}

TYPED_TEST_P(SharedStateConformance, EmptyAckIsAnAck) {
  auto& state = *this->state_;
  ASSERT_TRUE(state.claim_delivery("ev-empty", "r1", 600s, 30s));
  ASSERT_TRUE(state.store_ack("ev-empty", ""));
  auto lost = state.claim_delivery("ev-empty", "r2", 600s, 30s);
  ASSERT_TRUE(lost);
  EXPECT_FALSE(lost->won);
  EXPECT_EQ(lost->ack, std::optional<std::string>(""));
}

TYPED_TEST_P(SharedStateConformance, ClaimWithoutAckIsReclaimableAfterHandlingLapses) {
  auto& state = *this->state_;
  auto first = state.claim_delivery("ev2", "r1", 600s, 30s);
  ASSERT_TRUE(first && first->won);
  EXPECT_FALSE(first->taken_over);
  this->clock_.advance(20s);
  EXPECT_FALSE(state.claim_delivery("ev2", "r2", 600s, 30s)->won);
  this->clock_.advance(11s);
  auto over = state.claim_delivery("ev2", "r2", 600s, 30s);
  ASSERT_TRUE(over && over->won);
  EXPECT_TRUE(over->taken_over);  // r1 stored no ack: it may have started the job
  EXPECT_FALSE(state.claim_delivery("ev2", "r3", 600s, 30s)->won);
  auto none = state.stored_ack("ev-never");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TYPED_TEST_P(SharedStateConformance, ExpiredClaimIsReclaimable) {
  auto& state = *this->state_;
  ASSERT_TRUE(state.claim_delivery("ev3", "r1", 600s, 30s)->won);
  ASSERT_TRUE(state.store_ack("ev3", "a"));
  this->clock_.advance(601s);
  EXPECT_TRUE(state.claim_delivery("ev3", "r2", 600s, 30s)->won);
}

TYPED_TEST_P(SharedStateConformance, LocksAcquireBusyRenewRelease) {
  auto& state = *this->state_;
  auto taken = state.acquire_lock("dev/services", this->holder("job-1", "r1"), 60s);
  ASSERT_TRUE(taken) << taken.error().detail;
  EXPECT_FALSE(taken->has_value());
  // Taking it again for the same job is success (a retry after a lost answer).
  auto again = state.acquire_lock("dev/services", this->holder("job-1", "r1"), 60s);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());

  auto busy = state.acquire_lock("dev/services", this->holder("job-2", "r2"), 60s);
  ASSERT_TRUE(busy);
  ASSERT_TRUE(busy->has_value());
  EXPECT_EQ((*busy)->job_id, "job-1");
  EXPECT_EQ((*busy)->replica, "r1");
  EXPECT_EQ((*busy)->command, "stop dev");
  EXPECT_EQ((*busy)->started_by, "@alice");
  EXPECT_EQ((*busy)->started, this->clock_.now());

  this->clock_.advance(50s);
  ASSERT_TRUE(state.renew_lock("dev/services", "job-1", 60s));
  this->clock_.advance(50s);  // within the renewed lease
  EXPECT_TRUE(state.acquire_lock("dev/services", this->holder("job-2", "r2"), 60s)->has_value());

  // Releasing someone else's lock does nothing.
  ASSERT_TRUE(state.release_lock("dev/services", "job-2"));
  EXPECT_TRUE(state.acquire_lock("dev/services", this->holder("job-2", "r2"), 60s)->has_value());
  ASSERT_TRUE(state.release_lock("dev/services", "job-1"));
  EXPECT_FALSE(state.acquire_lock("dev/services", this->holder("job-2", "r2"), 60s)->has_value());
  // Releasing a lock that is free is fine too.
  ASSERT_TRUE(state.release_lock("dev/allow-list", "job-9"));
}

TYPED_TEST_P(SharedStateConformance, LapsedLeaseIsTakenOverAndTheOldHolderCannotRenew) {
  auto& state = *this->state_;
  ASSERT_FALSE(state.acquire_lock("dev/services", this->holder("job-1"), 30s)->has_value());
  this->clock_.advance(31s);
  auto taken = state.acquire_lock("dev/services", this->holder("job-2", "r2"), 30s);
  ASSERT_TRUE(taken);
  EXPECT_FALSE(taken->has_value());
  auto renewed = state.renew_lock("dev/services", "job-1", 30s);
  ASSERT_FALSE(renewed);
  EXPECT_EQ(renewed.error().code, core::ErrorCode::conflict);
  ASSERT_TRUE(state.renew_lock("dev/services", "job-2", 30s));
}

TYPED_TEST_P(SharedStateConformance, CooldownStartLeftExpired) {
  auto& state = *this->state_;
  auto none = state.cooldown_left("dev/restart");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto started = state.start_cooldown("dev/restart", 300s);
  ASSERT_TRUE(started) << started.error().detail;
  EXPECT_FALSE(started->has_value());
  this->clock_.advance(100s);
  auto running = state.start_cooldown("dev/restart", 300s);
  ASSERT_TRUE(running);
  EXPECT_EQ(*running, std::optional<seconds>(200s));
  EXPECT_EQ(*state.cooldown_left("dev/restart"), std::optional<seconds>(200s));
  this->clock_.advance(200s);
  EXPECT_FALSE(state.cooldown_left("dev/restart")->has_value());
  EXPECT_FALSE(state.start_cooldown("dev/restart", 300s)->has_value());
}

TYPED_TEST_P(SharedStateConformance, ReadsCountToTheLimitThenWaitForTheNextMinute) {
  auto& state = *this->state_;
  // ManualClock starts on a whole minute; 10 s in, the window has 50 s left.
  this->clock_.advance(10s);
  EXPECT_FALSE(state.read_limited("U1", 3)->has_value());
  for (int read = 0; read < 3; ++read) {
    auto counted = state.count_read("U1", 3);
    ASSERT_TRUE(counted) << counted.error().detail;
    EXPECT_FALSE(counted->has_value()) << "read " << read;
  }
  auto limited = state.count_read("U1", 3);
  ASSERT_TRUE(limited);
  ASSERT_TRUE(limited->has_value());
  EXPECT_GT(**limited, 0s);
  EXPECT_LE(**limited, 60s);
  auto would = state.read_limited("U1", 3);
  ASSERT_TRUE(would);
  EXPECT_TRUE(would->has_value());
  // Another user has their own count.
  EXPECT_FALSE(state.count_read("U2", 3)->has_value());
  // A minute later the user may read again.
  this->clock_.advance(60s);
  EXPECT_FALSE(state.read_limited("U1", 3)->has_value());
  EXPECT_FALSE(state.count_read("U1", 3)->has_value());
}

TYPED_TEST_P(SharedStateConformance, JobsPutRenewEnd) {
  auto& state = *this->state_;
  ASSERT_TRUE(state.put_job(this->job("job-1", "r1", 60s)));
  this->clock_.advance(50s);
  ASSERT_TRUE(state.renew_job("job-1", "r1", this->clock_.now() + 60s));
  this->clock_.advance(50s);
  auto orphans = state.take_orphans();
  ASSERT_TRUE(orphans) << orphans.error().detail;
  EXPECT_TRUE(orphans->empty());  // renewed: still live
  auto other = state.renew_job("job-1", "r2", this->clock_.now() + 60s);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, core::ErrorCode::conflict);
  ASSERT_TRUE(state.end_job("job-1", "r1"));
  // Gone is not "reported": a retry of end_job whose first answer was lost,
  // or a job whose record was never written, ends as a success.
  EXPECT_TRUE(state.end_job("job-1", "r1"));
  EXPECT_TRUE(state.end_job("never-recorded", "r1"));
  auto renewed_after_end = state.renew_job("job-1", "r1", this->clock_.now() + 60s);
  ASSERT_FALSE(renewed_after_end);
  EXPECT_EQ(renewed_after_end.error().code, core::ErrorCode::conflict);
}

TYPED_TEST_P(SharedStateConformance, OrphanedJobIsReportedOnceAndItsOwnerMustNotAnswer) {
  auto& state = *this->state_;
  const auto record = this->job("job-o", "r1", 30s);
  ASSERT_TRUE(state.put_job(record));
  ASSERT_TRUE(state.put_job(this->job("job-live", "r2", 600s)));
  this->clock_.advance(31s);
  auto orphans = state.take_orphans();
  ASSERT_TRUE(orphans);
  ASSERT_EQ(orphans->size(), 1u);
  const auto& taken = orphans->front();
  EXPECT_EQ(taken.job_id, "job-o");
  EXPECT_EQ(taken.replica, "r1");
  EXPECT_EQ(taken.command, record.command);
  EXPECT_EQ(taken.environment, record.environment);
  EXPECT_EQ(taken.requester_id, record.requester_id);
  EXPECT_EQ(taken.started_by, record.started_by);
  EXPECT_EQ(taken.reply_to, record.reply_to);
  EXPECT_EQ(taken.started, record.started);
  EXPECT_EQ(taken.expires_at, record.expires_at);
  EXPECT_TRUE(state.take_orphans()->empty());
  auto renewed = state.renew_job("job-o", "r1", this->clock_.now() + 30s);
  ASSERT_FALSE(renewed);
  EXPECT_EQ(renewed.error().code, core::ErrorCode::conflict);
  auto ended = state.end_job("job-o", "r1");
  ASSERT_FALSE(ended);
  EXPECT_EQ(ended.error().code, core::ErrorCode::conflict);
  ASSERT_TRUE(state.end_job("job-live", "r2"));
}

TYPED_TEST_P(SharedStateConformance, TwoConcurrentSweepsReportAnOrphanOnce) {
  auto& state = *this->state_;
  constexpr int kJobs = 5;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(state.put_job(this->job("job-" + std::to_string(i), "r1", 10s)));
  }
  ASSERT_TRUE(state.put_job(this->job("job-live", "r1", 600s)));
  this->clock_.advance(11s);
  std::vector<infra::JobRecord> first;
  std::vector<infra::JobRecord> second;
  std::atomic<bool> failed{false};
  auto sweep = [&](std::vector<infra::JobRecord>& out) {
    auto taken = state.take_orphans();
    if (!taken) {
      failed = true;
      return;
    }
    out = std::move(*taken);
  };
  std::thread a(sweep, std::ref(first));
  std::thread b(sweep, std::ref(second));
  a.join();
  b.join();
  ASSERT_FALSE(failed);
  std::multiset<std::string> ids;
  for (const auto& job : first) ids.insert(job.job_id);
  for (const auto& job : second) ids.insert(job.job_id);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(ids.count("job-" + std::to_string(i)), 1u);
  EXPECT_EQ(ids.count("job-live"), 0u);
}

TYPED_TEST_P(SharedStateConformance, AJobIsFoundByTheDeliveryItCameFrom) {
  auto& state = *this->state_;
  auto record = this->job("job-d", "r1", 60s);
  record.delivery = "slash_commands T-1";
  ASSERT_TRUE(state.put_job(record));
  ASSERT_TRUE(state.put_job(this->job("job-other", "r1", 60s)));
  auto found = state.job_of_delivery("slash_commands T-1");
  ASSERT_TRUE(found) << found.error().detail;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->job_id, "job-d");
  EXPECT_EQ((*found)->command, "stop dev");
  EXPECT_EQ((*found)->delivery, "slash_commands T-1");
  auto none = state.job_of_delivery("slash_commands T-2");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(state.end_job("job-d", "r1"));
  EXPECT_FALSE(state.job_of_delivery("slash_commands T-1")->has_value());
}

TYPED_TEST_P(SharedStateConformance, ClaimedSaysWhetherAOneTimeClaimIsTaken) {
  auto& state = *this->state_;
  EXPECT_FALSE(*state.claimed("dialog V1"));
  EXPECT_FALSE(*state.claimed("dialog V1"));  // asking takes nothing
  ASSERT_TRUE(*state.claim_once("dialog V1", 60s));
  EXPECT_TRUE(*state.claimed("dialog V1"));
  this->clock_.advance(61s);
  EXPECT_FALSE(*state.claimed("dialog V1"));
}

TYPED_TEST_P(SharedStateConformance, ClaimOnceWithinItsTtl) {
  auto& state = *this->state_;
  EXPECT_TRUE(*state.claim_once("confirm-1", 300s));
  EXPECT_FALSE(*state.claim_once("confirm-1", 300s));
  EXPECT_TRUE(*state.claim_once("confirm-2", 300s));
  this->clock_.advance(301s);
  EXPECT_TRUE(*state.claim_once("confirm-1", 300s));
}

TYPED_TEST_P(SharedStateConformance, SharedValueFirstStoredWins) {
  auto& state = *this->state_;
  auto first = state.shared_value("signing-key", "key-A");
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(*first, "key-A");
  auto second = state.shared_value("signing-key", "key-B");
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, "key-A");
  EXPECT_EQ(*state.shared_value("other", "x"), "x");
}

REGISTER_TYPED_TEST_SUITE_P(SharedStateConformance, NamesItself, FirstClaimWinsTheSecondSeesTheAck,
                            EmptyAckIsAnAck, ClaimWithoutAckIsReclaimableAfterHandlingLapses,
                            ExpiredClaimIsReclaimable, LocksAcquireBusyRenewRelease,
                            LapsedLeaseIsTakenOverAndTheOldHolderCannotRenew,
                            CooldownStartLeftExpired, ReadsCountToTheLimitThenWaitForTheNextMinute,
                            JobsPutRenewEnd, OrphanedJobIsReportedOnceAndItsOwnerMustNotAnswer,
                            TwoConcurrentSweepsReportAnOrphanOnce,
                            AJobIsFoundByTheDeliveryItCameFrom,
                            ClaimedSaysWhetherAOneTimeClaimIsTaken, ClaimOnceWithinItsTtl,
                            SharedValueFirstStoredWins);

// Every implementation keeps the whole contract above (the read-limit case
// there holds for both windows: it waits a full minute).
using Implementations = ::testing::Types<DynamoDbFactory, MemoryFactory>;

struct FactoryName {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(State, SharedStateConformance, Implementations, FactoryName);

// ---------------------------------------------------------------- read windows
//
// Where the contract legitimately differs (shared_state.hpp, count_read):
// DynamoDbState counts reads per minute of the clock (a fixed window, one item
// per user and minute), MemoryState over any 60 s (a sliding window). The
// cases that tell them apart are kept out of the other's instantiation: each
// suite below runs on the implementations whose window it describes.

template <class Factory>
class ReadWindow : public SharedStateConformance<Factory> {};

template <class Factory>
class FixedReadWindow : public ReadWindow<Factory> {};
template <class Factory>
class SlidingReadWindow : public ReadWindow<Factory> {};

TYPED_TEST_SUITE_P(FixedReadWindow);
TYPED_TEST_SUITE_P(SlidingReadWindow);

// Reads at the end of one minute do not count in the next: the limit is free
// again on the minute, and the wait it names ends there.
TYPED_TEST_P(FixedReadWindow, TheCountStartsAgainOnTheMinute) {
  static_assert(TypeParam::kFixedReadWindow);
  auto& state = *this->state_;
  this->clock_.advance(50s);  // ManualClock starts on a whole minute: 10 s left in it
  for (int read = 0; read < 2; ++read) ASSERT_FALSE(state.count_read("U1", 2)->has_value());
  auto limited = state.count_read("U1", 2);
  ASSERT_TRUE(limited) << limited.error().detail;
  ASSERT_TRUE(limited->has_value());
  EXPECT_GT(**limited, 0s);
  EXPECT_LE(**limited, 10s) << "the wait ends with the minute";
  this->clock_.advance(10s);  // the next minute
  EXPECT_FALSE(state.read_limited("U1", 2)->has_value());
  EXPECT_FALSE(state.count_read("U1", 2)->has_value());
}

// Reads at the end of one minute still count 10 s into the next; the wait
// named is until the oldest leaves the window (60 s after it).
TYPED_TEST_P(SlidingReadWindow, ReadsCountForSixtySecondsWhateverTheMinute) {
  static_assert(!TypeParam::kFixedReadWindow);
  auto& state = *this->state_;
  this->clock_.advance(50s);
  ASSERT_FALSE(state.count_read("U1", 2)->has_value());
  this->clock_.advance(5s);
  ASSERT_FALSE(state.count_read("U1", 2)->has_value());
  this->clock_.advance(5s);  // the next minute of the clock: both reads still within 60 s
  auto limited = state.count_read("U1", 2);
  ASSERT_TRUE(limited);
  EXPECT_EQ(*limited, std::optional<seconds>(50s)) << "the first read leaves the window at 110 s";
  EXPECT_EQ(*state.read_limited("U1", 2), std::optional<seconds>(50s));
  this->clock_.advance(50s);  // the first read left the window; the second has not
  EXPECT_FALSE(state.count_read("U1", 2)->has_value());
  auto again = state.count_read("U1", 2);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, std::optional<seconds>(5s)) << "the second read leaves it at 115 s";
}

REGISTER_TYPED_TEST_SUITE_P(FixedReadWindow, TheCountStartsAgainOnTheMinute);
REGISTER_TYPED_TEST_SUITE_P(SlidingReadWindow, ReadsCountForSixtySecondsWhateverTheMinute);

INSTANTIATE_TYPED_TEST_SUITE_P(State, FixedReadWindow, ::testing::Types<DynamoDbFactory>,
                               FactoryName);
INSTANTIATE_TYPED_TEST_SUITE_P(State, SlidingReadWindow, ::testing::Types<MemoryFactory>,
                               FactoryName);

}  // namespace
