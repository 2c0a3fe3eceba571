// The expiry sweep: expired allow-list entries are removed and announced once
// each, in the simulated backend (its own expiry) and through the default
// list-then-remove of Backend::whitelist_expire (what the Lambda backend uses).
#include "infra/whitelist_sweeper.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "fake_clock.hpp"
#include "infra/command_parser.hpp"
#include "infra/simulated_backend.hpp"
#include "recording_sink.hpp"

namespace {

using namespace infra;
using namespace std::chrono_literals;
using testing::ElementsAre;

const RequestContext kAlice{"req-1", Requester{"U0ALICE", "alice", "T1", "C1"}};

WhitelistAdd add(std::string_view cidr, std::chrono::seconds ttl, std::string env = "dev") {
  auto parsed = parse_cidr(cidr, ParserSettings{});
  return WhitelistAdd{*parsed, ttl, "Home office", std::move(env)};
}

struct Notice {
  std::string cidr;
  std::string environment;
  std::string added_by;
  friend bool operator==(const Notice&, const Notice&) = default;
};

void PrintTo(const Notice& n, std::ostream* os) {
  *os << n.cidr << "@" << n.environment << " by " << n.added_by;
}

class WhitelistSweeperTest : public testing::Test {
 protected:
  core::LoggerPtr logger() {
    return core::make_logger("test", core::LogFormat::text, core::LogLevel::debug, {sink_}, {});
  }
  WhitelistSweeper::Notify recorder() {
    return [this](const WhitelistEntry& entry, std::string_view environment) {
      notices_.push_back(Notice{entry.cidr, std::string(environment), entry.added_by});
    };
  }

  test::FakeClock clock_;
  std::shared_ptr<test::RecordingSink> sink_ = std::make_shared<test::RecordingSink>();
  std::vector<Notice> notices_;
};

TEST_F(WhitelistSweeperTest, SimulatedEntriesDisappearWithinOneSweepWithOneNoticeEach) {
  SimulatedBackend backend({"dev", "staging"}, clock_);
  ASSERT_TRUE(backend.whitelist_add(add("203.0.113.7", 5min), kAlice));
  ASSERT_TRUE(backend.whitelist_add(add("198.51.100.0/24", 1h), kAlice));
  ASSERT_TRUE(backend.whitelist_add(add("2001:db8::1", 5min, "staging"), kAlice));
  WhitelistSweeper sweeper(backend, {"dev", "staging"}, clock_, recorder(), logger());

  EXPECT_EQ(sweeper.sweep_once(), 0u);
  clock_.advance(5min);  // exactly at expiry: expired
  EXPECT_EQ(sweeper.sweep_once(), 2u);
  EXPECT_THAT(notices_, ElementsAre(Notice{"203.0.113.7/32", "dev", "alice"},
                                    Notice{"2001:db8::1/128", "staging", "alice"}));
  EXPECT_EQ(sweeper.sweep_once(), 0u) << "one notice per entry, never again";
  auto listing = backend.whitelist_list("dev", kAlice);
  ASSERT_TRUE(listing);
  ASSERT_EQ(listing->entries.size(), 1u);
  EXPECT_EQ(listing->entries[0].cidr, "198.51.100.0/24");
}

// A Lambda-like backend: list shows expired entries until they are removed.
class ListingBackend final : public Backend {
 public:
  std::string_view name() const override { return "listing"; }
  core::Result<EnvironmentStatus> status(std::string_view, const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<ActionResult> run(const LifecycleRequest&, const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<WhitelistAdded> whitelist_add(const WhitelistAdd&, const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<WhitelistRemoved> whitelist_remove(const WhitelistRemove& command,
                                                  const RequestContext&) override {
    removed.push_back(command.cidr.text + "@" + command.env);
    if (command.cidr.text == "192.0.2.9/32") {
      return core::make_error(core::ErrorCode::not_found, "already gone");
    }
    auto& list = entries[command.env];
    std::erase_if(list, [&](const WhitelistEntry& e) { return e.cidr == command.cidr.text; });
    return WhitelistRemoved{command.env, command.cidr.text};
  }
  core::Result<WhitelistListing> whitelist_list(std::string_view env,
                                                const RequestContext&) override {
    if (env == "broken") return core::make_error(core::ErrorCode::unavailable, "Lambda down");
    return WhitelistListing{std::string(env), entries[std::string(env)]};
  }
  core::Result<WhitelistRefreshed> whitelist_refresh(std::string_view,
                                                     const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }

  std::map<std::string, std::vector<WhitelistEntry>> entries;
  std::vector<std::string> removed;
};

TEST_F(WhitelistSweeperTest, DefaultExpiryListsOnceAndRemovesOnlyExpiredEntries) {
  ListingBackend backend;
  const auto now = clock_.now();
  backend.entries["dev"] = {
      WhitelistEntry{"203.0.113.7/32", "Home", "U1", now - 1s},
      WhitelistEntry{"198.51.100.0/24", "Office", "U2", now + 1h},
      WhitelistEntry{"10.9.0.0/16", "Forever", "U3", std::nullopt},
      WhitelistEntry{"192.0.2.9/32", "Gone meanwhile", "U4", now - 1h},
  };
  WhitelistSweeper sweeper(backend, {"broken", "dev"}, clock_, recorder(), logger());
  EXPECT_EQ(sweeper.sweep_once(), 2u) << "a failing environment does not stop the others";
  EXPECT_THAT(backend.removed, ElementsAre("203.0.113.7/32@dev", "192.0.2.9/32@dev"));
  EXPECT_THAT(notices_, ElementsAre(Notice{"203.0.113.7/32", "dev", "U1"},
                                    Notice{"192.0.2.9/32", "dev", "U4"}));
  EXPECT_THAT(sink_->lines(),
              testing::Contains(testing::HasSubstr("whitelist sweep of broken: Lambda down")));
}

// Blocks in the first environment's expiry until released.
class BlockingBackend final : public Backend {
 public:
  std::string_view name() const override { return "blocking"; }
  core::Result<EnvironmentStatus> status(std::string_view, const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<ActionResult> run(const LifecycleRequest&, const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<WhitelistAdded> whitelist_add(const WhitelistAdd&, const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<WhitelistRemoved> whitelist_remove(const WhitelistRemove&,
                                                  const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<WhitelistListing> whitelist_list(std::string_view, const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<WhitelistRefreshed> whitelist_refresh(std::string_view,
                                                     const RequestContext&) override {
    return core::make_error(core::ErrorCode::internal, "unused");
  }
  core::Result<std::vector<WhitelistEntry>> whitelist_expire(std::string_view env, core::TimePoint,
                                                             const RequestContext&) override {
    std::unique_lock lock(mutex);
    swept.emplace_back(env);
    entered.notify_all();
    released_cv.wait(lock, [&] { return released; });
    return std::vector<WhitelistEntry>{};
  }
  void wait_entered() {
    std::unique_lock lock(mutex);
    entered.wait(lock, [&] { return !swept.empty(); });
  }
  void release() {
    std::lock_guard lock(mutex);
    released = true;
    released_cv.notify_all();
  }

  std::mutex mutex;
  std::condition_variable entered;
  std::condition_variable released_cv;
  bool released = false;
  std::vector<std::string> swept;
};

TEST_F(WhitelistSweeperTest, AStopRequestEndsASweepAfterItsCurrentEnvironment) {
  BlockingBackend backend;
  WhitelistSweeper sweeper(backend, {"dev", "staging", "prod"}, clock_, recorder(), logger());
  std::thread sweeping([&] { sweeper.sweep_once(); });
  backend.wait_entered();
  sweeper.request_stop();
  backend.release();
  sweeping.join();
  EXPECT_THAT(backend.swept, ElementsAre("dev")) << "staging and prod wait for the next process";
}

TEST_F(WhitelistSweeperTest, StopGivesUpWaitingForASweepStuckInTheBackend) {
  BlockingBackend backend;
  auto sweeper = std::make_unique<WhitelistSweeper>(backend, std::vector<std::string>{"dev"},
                                                    clock_, recorder(), logger());
  // The loop's own thread: its first sweep comes after one interval (1 s, the shortest).
  sweeper->start(std::chrono::seconds(1));
  backend.wait_entered();
  EXPECT_FALSE(sweeper->stop(std::chrono::milliseconds(50)))
      << "shutdown stays bounded while the backend call goes on";
  backend.release();
  EXPECT_TRUE(sweeper->stop(std::chrono::seconds(30))) << "the call returned: the loop ends";
}

TEST_F(WhitelistSweeperTest, StartAndStopRunTheLoopAndStopIsIdempotent) {
  SimulatedBackend backend({"dev"}, clock_);
  WhitelistSweeper sweeper(backend, {"dev"}, clock_, recorder(), logger());
  sweeper.start(std::chrono::seconds(3600));
  EXPECT_TRUE(sweeper.stop());  // returns at once: the wait is interrupted, not slept through
  EXPECT_TRUE(sweeper.stop());
  EXPECT_TRUE(notices_.empty());
}

}  // namespace
