#include "infra/simulated_backend.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "fake_clock.hpp"

namespace infra {
namespace {

using std::chrono::days;
using std::chrono::seconds;

const RequestContext kContext{"req-1", Requester{"U1", "alice", "T1", "C1"}};

EcsService running(std::string name, std::int64_t count) {
  return EcsService{std::move(name), "RUNNING", count, count};
}
EcsService stopped(std::string name) { return EcsService{std::move(name), "STOPPED", 0, 0}; }

WhitelistAdd add(std::string cidr, seconds ttl = days(30),
                 std::optional<std::string> description = std::nullopt, std::string env = "dev") {
  WhitelistAdd command;
  const bool ipv6 = cidr.find(':') != std::string::npos;
  const auto slash = cidr.find('/');
  command.cidr = Cidr{cidr, std::stoi(cidr.substr(slash + 1)), ipv6};
  command.ttl = ttl;
  command.description = std::move(description);
  command.env = std::move(env);
  return command;
}

WhitelistRemove unlist(std::string cidr, std::string env = "dev") {
  const auto slash = cidr.find('/');
  return WhitelistRemove{Cidr{cidr, std::stoi(cidr.substr(slash + 1)), false}, std::move(env)};
}

class SimulatedBackendTest : public ::testing::Test {
 protected:
  core::Result<ActionResult> run(LifecycleAction action, std::string env = "dev",
                                 std::optional<TeardownLevel> level = std::nullopt) {
    return backend_.run(LifecycleRequest{action, std::move(env), level}, kContext);
  }

  EnvironmentStatus status(std::string_view env = "dev") {
    auto result = backend_.status(env, kContext);
    EXPECT_TRUE(result.has_value());
    return result ? *result : EnvironmentStatus{};
  }

  std::vector<std::string> listed(std::string_view env = "dev") {
    auto result = backend_.whitelist_list(env, kContext);
    EXPECT_TRUE(result.has_value());
    std::vector<std::string> cidrs;
    if (result) {
      for (const auto& entry : result->entries) {
        cidrs.push_back(entry.cidr);
      }
    }
    return cidrs;
  }

  WhitelistRefreshed refresh(std::string_view env = "dev") {
    auto result = backend_.whitelist_refresh(env, kContext);
    EXPECT_TRUE(result.has_value());
    return result ? *result : WhitelistRefreshed{};
  }

  static EnvironmentStatus up(const std::string& env = "dev") {
    return EnvironmentStatus{env,
                             {running("api", 2), running("worker", 1)},
                             {RdsInstance{fmt::format("docustack-{}-db", env), "available"}}};
  }

  test::FakeClock clock_;
  SimulatedBackend backend_{{"dev", "staging", "prod"}, clock_};
};

using Details = std::vector<std::pair<std::string, std::int64_t>>;

// --- status and lifecycle ------------------------------------------------------------------

TEST_F(SimulatedBackendTest, NameIsSimulated) { EXPECT_EQ(backend_.name(), "simulated"); }

TEST_F(SimulatedBackendTest, InitialStatusIsRunning) {
  EXPECT_EQ(status("dev"), up("dev"));
  EXPECT_EQ(status("prod"), up("prod"));
}

TEST_F(SimulatedBackendTest, StopThenStart) {
  auto stop = run(LifecycleAction::stop);
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(*stop,
            (ActionResult{LifecycleAction::stop, "dev", "Operation completed successfully.",
                          Details{{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}}));
  EXPECT_EQ(status(), (EnvironmentStatus{"dev",
                                         {stopped("api"), stopped("worker")},
                                         {RdsInstance{"docustack-dev-db", "stopped"}}}));
  // Other environments are untouched.
  EXPECT_EQ(status("staging"), up("staging"));

  auto start = run(LifecycleAction::start);
  ASSERT_TRUE(start.has_value());
  EXPECT_EQ(*start,
            (ActionResult{LifecycleAction::start, "dev", "Operation completed successfully.",
                          Details{{"ecs_services_started", 2}, {"rds_instances_started", 1}}}));
  EXPECT_EQ(status(), up());
}

TEST_F(SimulatedBackendTest, StopIsIdempotent) {
  ASSERT_TRUE(run(LifecycleAction::stop).has_value());
  auto again = run(LifecycleAction::stop);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->message, "Nothing to stop: `dev` is already stopped.");
  EXPECT_EQ(again->details, (Details{{"ecs_services_stopped", 0}, {"rds_instances_stopped", 0}}));
}

TEST_F(SimulatedBackendTest, StartIsIdempotent) {
  auto start = run(LifecycleAction::start);
  ASSERT_TRUE(start.has_value());
  EXPECT_EQ(start->message, "Nothing to start: `dev` is already running.");
  EXPECT_EQ(start->details, (Details{{"ecs_services_started", 0}, {"rds_instances_started", 0}}));
  EXPECT_EQ(status(), up());
}

TEST_F(SimulatedBackendTest, TeardownServicesByDefault) {
  auto teardown = run(LifecycleAction::teardown);
  ASSERT_TRUE(teardown.has_value());
  EXPECT_EQ(*teardown,
            (ActionResult{LifecycleAction::teardown, "dev", "Operation completed successfully.",
                          Details{{"ecs_services_deleted", 2}}}));
  EXPECT_EQ(status(),
            (EnvironmentStatus{"dev", {}, {RdsInstance{"docustack-dev-db", "available"}}}));

  // The database is still there, so stop and start act on it alone.
  auto stop = run(LifecycleAction::stop);
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->details, (Details{{"ecs_services_stopped", 0}, {"rds_instances_stopped", 1}}));
  auto start = run(LifecycleAction::start);
  ASSERT_TRUE(start.has_value());
  EXPECT_EQ(start->details, (Details{{"ecs_services_started", 0}, {"rds_instances_started", 1}}));

  // Nothing left at this level.
  auto again = run(LifecycleAction::teardown, "dev", TeardownLevel::services);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::ErrorCode::conflict);
  EXPECT_EQ(again.error().user_message, "`dev` is already torn down.");
}

TEST_F(SimulatedBackendTest, TeardownFull) {
  auto teardown = run(LifecycleAction::teardown, "dev", TeardownLevel::full);
  ASSERT_TRUE(teardown.has_value());
  EXPECT_EQ(teardown->message, "Operation completed successfully.");
  EXPECT_EQ(teardown->details,
            (Details{{"ecs_services_deleted", 2}, {"rds_instances_deleted", 1}}));
  EXPECT_EQ(status(), (EnvironmentStatus{"dev", {}, {}}));

  auto again = run(LifecycleAction::teardown, "dev", TeardownLevel::full);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::ErrorCode::conflict);
  EXPECT_EQ(again.error().user_message, "`dev` is already torn down.");
}

TEST_F(SimulatedBackendTest, TeardownFullAfterServicesDeletesTheDatabase) {
  ASSERT_TRUE(run(LifecycleAction::teardown).has_value());
  auto full = run(LifecycleAction::teardown, "dev", TeardownLevel::full);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->details, (Details{{"ecs_services_deleted", 0}, {"rds_instances_deleted", 1}}));
  EXPECT_EQ(status(), (EnvironmentStatus{"dev", {}, {}}));
}

TEST_F(SimulatedBackendTest, TeardownOfStoppedEnvironment) {
  ASSERT_TRUE(run(LifecycleAction::stop).has_value());
  auto teardown = run(LifecycleAction::teardown, "dev", TeardownLevel::full);
  ASSERT_TRUE(teardown.has_value());
  EXPECT_EQ(teardown->details,
            (Details{{"ecs_services_deleted", 2}, {"rds_instances_deleted", 1}}));
}

TEST_F(SimulatedBackendTest, StopAndStartOnTornDownEnvironmentAreConflicts) {
  ASSERT_TRUE(run(LifecycleAction::teardown, "dev", TeardownLevel::full).has_value());
  for (const auto action : {LifecycleAction::stop, LifecycleAction::start}) {
    auto result = run(action);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, core::ErrorCode::conflict);
    EXPECT_EQ(result.error().user_message, "`dev` is torn down. Run `/infra spinup dev` first.");
  }
  EXPECT_EQ(status(), (EnvironmentStatus{"dev", {}, {}}));
}

TEST_F(SimulatedBackendTest, SpinupAfterServicesTeardown) {
  ASSERT_TRUE(run(LifecycleAction::teardown).has_value());
  auto spinup = run(LifecycleAction::spinup);
  ASSERT_TRUE(spinup.has_value());
  EXPECT_EQ(*spinup,
            (ActionResult{LifecycleAction::spinup, "dev", "Operation completed successfully.",
                          Details{{"ecs_services_created", 2}, {"rds_instances_created", 0}}}));
  EXPECT_EQ(status(), up());
}

TEST_F(SimulatedBackendTest, SpinupAfterFullTeardown) {
  ASSERT_TRUE(run(LifecycleAction::teardown, "dev", TeardownLevel::full).has_value());
  auto spinup = run(LifecycleAction::spinup);
  ASSERT_TRUE(spinup.has_value());
  EXPECT_EQ(spinup->message, "Operation completed successfully.");
  EXPECT_EQ(spinup->details, (Details{{"ecs_services_created", 2}, {"rds_instances_created", 1}}));
  EXPECT_EQ(status(), up());
  // And the environment works normally again.
  auto stop = run(LifecycleAction::stop);
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->details, (Details{{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}));
}

TEST_F(SimulatedBackendTest, SpinupAfterServicesTeardownOfStoppedEnvironmentKeepsDbStopped) {
  ASSERT_TRUE(run(LifecycleAction::stop).has_value());
  ASSERT_TRUE(run(LifecycleAction::teardown).has_value());
  auto spinup = run(LifecycleAction::spinup);
  ASSERT_TRUE(spinup.has_value());
  EXPECT_EQ(spinup->details, (Details{{"ecs_services_created", 2}, {"rds_instances_created", 0}}));
  EXPECT_EQ(status(), (EnvironmentStatus{"dev",
                                         {running("api", 2), running("worker", 1)},
                                         {RdsInstance{"docustack-dev-db", "stopped"}}}));
}

TEST_F(SimulatedBackendTest, SpinupOfCompleteEnvironmentCreatesNothing) {
  auto spinup = run(LifecycleAction::spinup);
  ASSERT_TRUE(spinup.has_value());
  EXPECT_EQ(spinup->message, "Nothing to create: `dev` is already up.");
  EXPECT_EQ(spinup->details, (Details{{"ecs_services_created", 0}, {"rds_instances_created", 0}}));
  EXPECT_EQ(status(), up());
}

TEST_F(SimulatedBackendTest, UnknownEnvironment) {
  const auto expect_unknown = [](const core::Error& error) {
    EXPECT_EQ(error.code, core::ErrorCode::not_found);
    EXPECT_EQ(error.user_message, "Unknown environment `qa`.");
  };
  auto st = backend_.status("qa", kContext);
  ASSERT_FALSE(st.has_value());
  expect_unknown(st.error());
  for (const auto action : {LifecycleAction::stop, LifecycleAction::start,
                            LifecycleAction::teardown, LifecycleAction::spinup}) {
    auto result = run(action, "qa");
    ASSERT_FALSE(result.has_value());
    expect_unknown(result.error());
  }
  auto added = backend_.whitelist_add(add("1.2.3.4/32", days(1), std::nullopt, "qa"), kContext);
  ASSERT_FALSE(added.has_value());
  expect_unknown(added.error());
  auto removed = backend_.whitelist_remove(unlist("1.2.3.4/32", "qa"), kContext);
  ASSERT_FALSE(removed.has_value());
  expect_unknown(removed.error());
  auto list = backend_.whitelist_list("qa", kContext);
  ASSERT_FALSE(list.has_value());
  expect_unknown(list.error());
  auto refreshed = backend_.whitelist_refresh("qa", kContext);
  ASSERT_FALSE(refreshed.has_value());
  expect_unknown(refreshed.error());
}

// --- whitelist -----------------------------------------------------------------------------

TEST_F(SimulatedBackendTest, WhitelistAddEntry) {
  auto added = backend_.whitelist_add(add("1.2.3.4/32", days(7), "Home office"), kContext);
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->environment, "dev");
  EXPECT_FALSE(added->replaced);
  EXPECT_EQ(added->entry, (WhitelistEntry{"1.2.3.4/32", "Home office", "alice",
                                          test::FakeClock::default_start() + days(7)}));

  auto list = backend_.whitelist_list("dev", kContext);
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->environment, "dev");
  ASSERT_EQ(list->entries.size(), 1U);
  EXPECT_EQ(list->entries[0], added->entry);
  // Allow-lists are per environment.
  EXPECT_TRUE(listed("staging").empty());
}

TEST_F(SimulatedBackendTest, WhitelistAddedByFallsBackToUserId) {
  const RequestContext anonymous{"req-2", Requester{"U777", "", "T1", "C1"}};
  auto added = backend_.whitelist_add(add("1.2.3.4/32"), anonymous);
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->entry.added_by, "U777");
  EXPECT_EQ(added->entry.description, "");
}

TEST_F(SimulatedBackendTest, WhitelistAddRenews) {
  ASSERT_TRUE(backend_.whitelist_add(add("1.2.3.4/32", days(1), "old"), kContext).has_value());
  clock_.advance(std::chrono::hours(12));
  auto renewed = backend_.whitelist_add(add("1.2.3.4/32", days(7), "new"), kContext);
  ASSERT_TRUE(renewed.has_value());
  EXPECT_TRUE(renewed->replaced);
  EXPECT_EQ(renewed->entry.description, "new");
  EXPECT_EQ(renewed->entry.expires_at,
            test::FakeClock::default_start() + std::chrono::hours(12) + days(7));

  auto list = backend_.whitelist_list("dev", kContext);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->entries.size(), 1U);
  EXPECT_EQ(list->entries[0], renewed->entry);
  // Still one set of rules.
  EXPECT_EQ(refresh().rules_added, 0);
}

TEST_F(SimulatedBackendTest, RenewingWithoutADescriptionKeepsTheOldOne) {
  ASSERT_TRUE(backend_.whitelist_add(add("1.2.3.4/32", days(1), "Home office"), kContext));
  auto renewed = backend_.whitelist_add(add("1.2.3.4/32", days(7)), kContext);
  ASSERT_TRUE(renewed.has_value());
  EXPECT_TRUE(renewed->replaced);
  EXPECT_EQ(renewed->entry.description, "Home office");
}

TEST_F(SimulatedBackendTest, WhitelistReAddAfterExpiryIsNotARenewal) {
  ASSERT_TRUE(backend_.whitelist_add(add("1.2.3.4/32", days(1)), kContext).has_value());
  clock_.advance(days(1));
  auto added = backend_.whitelist_add(add("1.2.3.4/32", days(1)), kContext);
  ASSERT_TRUE(added.has_value());
  EXPECT_FALSE(added->replaced);
}

TEST_F(SimulatedBackendTest, WhitelistListSortedByCidr) {
  for (const char* cidr : {"9.9.9.9/32", "10.0.0.0/24", "1.2.3.4/32", "2001:db8::/64"}) {
    ASSERT_TRUE(backend_.whitelist_add(add(cidr), kContext).has_value());
  }
  EXPECT_EQ(listed(),
            (std::vector<std::string>{"1.2.3.4/32", "10.0.0.0/24", "2001:db8::/64", "9.9.9.9/32"}));
}

TEST_F(SimulatedBackendTest, WhitelistRemove) {
  ASSERT_TRUE(backend_.whitelist_add(add("1.2.3.4/32"), kContext).has_value());
  ASSERT_TRUE(backend_.whitelist_add(add("5.6.7.8/32"), kContext).has_value());

  auto removed = backend_.whitelist_remove(unlist("1.2.3.4/32"), kContext);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->environment, "dev");
  EXPECT_EQ(removed->cidr, "1.2.3.4/32");
  EXPECT_EQ(listed(), (std::vector<std::string>{"5.6.7.8/32"}));
  // Its rules went with it: nothing left for refresh to do.
  const WhitelistRefreshed refreshed = refresh();
  EXPECT_EQ(refreshed.rules_added, 0);
  EXPECT_EQ(refreshed.rules_removed, 0);

  auto again = backend_.whitelist_remove(unlist("1.2.3.4/32"), kContext);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(again.error().user_message, "`1.2.3.4/32` is not on the `dev` allow-list.");
}

TEST_F(SimulatedBackendTest, WhitelistTtlExpiry) {
  ASSERT_TRUE(backend_.whitelist_add(add("1.2.3.4/32", seconds(3600)), kContext).has_value());
  clock_.advance(seconds(3599));
  EXPECT_EQ(listed(), (std::vector<std::string>{"1.2.3.4/32"}));
  clock_.advance(seconds(1));
  EXPECT_TRUE(listed().empty());

  auto removed = backend_.whitelist_remove(unlist("1.2.3.4/32"), kContext);
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code, core::ErrorCode::not_found);
}

TEST_F(SimulatedBackendTest, WhitelistRefreshCounts) {
  WhitelistRefreshed empty = refresh();
  EXPECT_EQ(empty.environment, "dev");
  EXPECT_EQ(empty.security_groups, (std::vector<std::string>{"sg-sim-dev-web"}));
  EXPECT_EQ(empty.rules_added, 0);
  EXPECT_EQ(empty.rules_removed, 0);

  ASSERT_TRUE(backend_.whitelist_add(add("1.1.1.1/32", seconds(60)), kContext).has_value());
  ASSERT_TRUE(backend_.whitelist_add(add("2.2.2.2/32", seconds(60)), kContext).has_value());
  ASSERT_TRUE(backend_.whitelist_add(add("3.3.3.3/32", seconds(120)), kContext).has_value());
  // Rules were applied at add.
  WhitelistRefreshed fresh = refresh();
  EXPECT_EQ(fresh.rules_added, 0);
  EXPECT_EQ(fresh.rules_removed, 0);

  clock_.advance(seconds(60));
  WhitelistRefreshed after_expiry = refresh();
  EXPECT_EQ(after_expiry.rules_removed, 6);  // two CIDRs × ports 80, 443, 7233
  EXPECT_EQ(after_expiry.rules_added, 0);
  EXPECT_EQ(listed(), (std::vector<std::string>{"3.3.3.3/32"}));

  WhitelistRefreshed settled = refresh();
  EXPECT_EQ(settled.rules_removed, 0);
  EXPECT_EQ(settled.rules_added, 0);

  EXPECT_EQ(refresh("prod").security_groups, (std::vector<std::string>{"sg-sim-prod-web"}));
}

TEST_F(SimulatedBackendTest, WhitelistCapOf100) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        backend_.whitelist_add(add(fmt::format("10.0.{}.{}/32", i / 250, i % 250)), kContext)
            .has_value());
  }
  auto full = backend_.whitelist_add(add("192.168.1.1/32"), kContext);
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code, core::ErrorCode::conflict);
  EXPECT_EQ(full.error().user_message,
            "The allow-list for `dev` is full (100 entries). Remove some first.");

  // Renewing an entry is not a new one.
  auto renewed = backend_.whitelist_add(add("10.0.0.5/32"), kContext);
  ASSERT_TRUE(renewed.has_value());
  EXPECT_TRUE(renewed->replaced);

  // Other environments have their own cap.
  EXPECT_TRUE(
      backend_.whitelist_add(add("192.168.1.1/32", days(1), std::nullopt, "staging"), kContext)
          .has_value());

  ASSERT_TRUE(backend_.whitelist_remove(unlist("10.0.0.0/32"), kContext).has_value());
  EXPECT_TRUE(backend_.whitelist_add(add("192.168.1.1/32"), kContext).has_value());
  EXPECT_EQ(listed().size(), 100U);
}

TEST_F(SimulatedBackendTest, WhitelistCapFreedByExpiry) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(backend_
                    .whitelist_add(add(fmt::format("10.0.{}.{}/32", i / 250, i % 250), seconds(60)),
                                   kContext)
                    .has_value());
  }
  clock_.advance(seconds(60));
  EXPECT_TRUE(backend_.whitelist_add(add("192.168.1.1/32"), kContext).has_value());
}

TEST_F(SimulatedBackendTest, ConcurrentAdds) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto added = backend_.whitelist_add(add(fmt::format("10.{}.0.{}/32", t, i)), kContext);
        EXPECT_TRUE(added.has_value());
        // Readers interleave with writers.
        (void)backend_.whitelist_list("dev", kContext);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(listed().size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(refresh().rules_added, 0);
}

TEST_F(SimulatedBackendTest, ConcurrentAddsRespectTheCap) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 40;  // 160 attempts at distinct CIDRs, cap 100
  std::vector<std::thread> threads;
  std::vector<int> accepted(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &accepted] {
      for (int i = 0; i < kPerThread; ++i) {
        if (backend_.whitelist_add(add(fmt::format("10.{}.0.{}/32", t, i)), kContext)) {
          ++accepted[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  int total = 0;
  for (const int n : accepted) {
    total += n;
  }
  EXPECT_EQ(total, 100);
  EXPECT_EQ(listed().size(), 100U);
}

}  // namespace
}  // namespace infra
