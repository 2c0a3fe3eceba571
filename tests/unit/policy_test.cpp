#include "infra/policy.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fake_clock.hpp"

namespace infra {
namespace {

using std::chrono::seconds;

Requester user(std::string id, std::string channel = "C1") {
  return Requester{std::move(id), "someone", "T1", std::move(channel)};
}

Cidr v4(std::string text, int prefix) { return Cidr{std::move(text), prefix, false}; }
Cidr v6(std::string text, int prefix) { return Cidr{std::move(text), prefix, true}; }

WhitelistAdd add(Cidr cidr, std::string env = "dev") {
  WhitelistAdd command;
  command.cidr = std::move(cidr);
  command.env = std::move(env);
  return command;
}

// One of each Command alternative (teardown at both levels) for `env`.
std::vector<Command> every_command(const std::string& env) {
  return {
      Help{},
      Status{env},
      Stop{env},
      Start{env},
      Teardown{env, TeardownLevel::services},
      Teardown{env, TeardownLevel::full},
      Spinup{env},
      add(v4("1.2.3.4/32", 32), env),
      WhitelistRemove{v4("1.2.3.4/32", 32), env},
      WhitelistList{env},
      WhitelistRefresh{env},
      Reboot{env, std::nullopt},
      Reboot{env, "bastion"},
  };
}

class PolicyTest : public ::testing::Test {
 protected:
  Policy make(PolicySettings settings) { return Policy(std::move(settings), clock_); }

  test::FakeClock clock_;
};

// --- protected environments ----------------------------------------------------------------

TEST_F(PolicyTest, ProtectedEnvironmentRefusesExactlyStopTeardownAndReboot) {
  const Policy policy = make(PolicySettings{});
  for (const std::string env : {"dev", "prod"}) {
    for (const Command& command : every_command(env)) {
      SCOPED_TRACE(describe(command));
      const Action action = action_of(command);
      const bool refused = env == "prod" && (action == Action::stop || action == Action::teardown ||
                                             action == Action::reboot);
      const Decision decision = policy.check(command, user("U1"));
      EXPECT_EQ(decision.allowed(), !refused);
      EXPECT_EQ(decision.reason, refused ? DenyReason::protected_environment : DenyReason::none);
      EXPECT_EQ(decision.message.empty(), !refused);
    }
  }
}

TEST_F(PolicyTest, ProtectedEnvironmentMessage) {
  const Policy policy = make(PolicySettings{});
  EXPECT_EQ(policy.check(Stop{"prod"}, user("U1")).message,
            "`prod` is protected: `stop` is never run there. Protected environments: prod.");
  EXPECT_EQ(policy.check(Teardown{"prod", TeardownLevel::full}, user("U1")).message,
            "`prod` is protected: `teardown` is never run there. Protected environments: prod.");
  EXPECT_EQ(policy.check(Reboot{"prod", "web-1"}, user("U1")).message,
            "`prod` is protected: `reboot` is never run there. Protected environments: prod.");
}

TEST_F(PolicyTest, ProtectedEnvironmentListsAllProtected) {
  PolicySettings settings;
  settings.protected_environments = {"prod", "staging"};
  const Policy policy = make(settings);
  EXPECT_EQ(policy.check(Stop{"staging"}, user("U1")).message,
            "`staging` is protected: `stop` is never run there. Protected environments: prod, "
            "staging.");
}

TEST_F(PolicyTest, ProtectedEnvironmentHoldsForAdmins) {
  PolicySettings settings;
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);
  EXPECT_EQ(policy.check(Stop{"prod"}, user("UADMIN")).reason, DenyReason::protected_environment);
  EXPECT_EQ(policy.check(Teardown{"prod", TeardownLevel::services}, user("UADMIN")).reason,
            DenyReason::protected_environment);
}

// --- user allow-list -----------------------------------------------------------------------

TEST_F(PolicyTest, UserAllowList) {
  PolicySettings settings;
  settings.allowed_users = {"U1"};
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);

  EXPECT_TRUE(policy.check(Status{"dev"}, user("U1")).allowed());
  EXPECT_TRUE(policy.check(Status{"dev"}, user("UADMIN")).allowed()) << "admins count as allowed";

  const Decision refused = policy.check(Status{"dev"}, user("U123"));
  EXPECT_EQ(refused.reason, DenyReason::user_not_allowed);
  EXPECT_EQ(refused.message,
            "You are not on the list of people allowed to use /infra. Ask an admin to add your "
            "Slack ID `U123` to INFRA_ALLOWED_USERS.");
}

TEST_F(PolicyTest, EmptyUserAllowListAllowsAnyone) {
  const Policy policy = make(PolicySettings{});
  EXPECT_TRUE(policy.check(Start{"dev"}, user("UANYONE")).allowed());
}

// --- channel allow-list --------------------------------------------------------------------

TEST_F(PolicyTest, ChannelAllowList) {
  PolicySettings settings;
  settings.allowed_channels = {"COPS"};
  const Policy policy = make(settings);

  EXPECT_TRUE(policy.check(Status{"dev"}, user("U1", "COPS")).allowed());
  const Decision refused = policy.check(Status{"dev"}, user("U1", "C123"));
  EXPECT_EQ(refused.reason, DenyReason::channel_not_allowed);
  EXPECT_EQ(refused.message,
            "/infra is not enabled in this channel. Ask an admin to add this channel (`C123`) to "
            "INFRA_ALLOWED_CHANNELS.");
}

TEST_F(PolicyTest, EmptyChannelAllowListAllowsAnywhere) {
  const Policy policy = make(PolicySettings{});
  EXPECT_TRUE(policy.check(Status{"dev"}, user("U1", "CANY")).allowed());
}

// --- admin gate ----------------------------------------------------------------------------

TEST_F(PolicyTest, AdminGateForTierTwoCommands) {
  PolicySettings settings;
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);

  const Decision teardown = policy.check(Teardown{"dev", TeardownLevel::services}, user("U1"));
  EXPECT_EQ(teardown.reason, DenyReason::admin_required);
  EXPECT_EQ(teardown.message,
            "`teardown` is an admin command. Ask one of the admins listed in INFRA_ADMIN_USERS "
            "to run it.");
  EXPECT_EQ(policy.check(Teardown{"dev", TeardownLevel::full}, user("U1")).reason,
            DenyReason::admin_required);
  const Decision spinup = policy.check(Spinup{"dev"}, user("U1"));
  EXPECT_EQ(spinup.reason, DenyReason::admin_required);
  EXPECT_EQ(spinup.message,
            "`spinup` is an admin command. Ask one of the admins listed in INFRA_ADMIN_USERS to "
            "run it.");

  EXPECT_TRUE(policy.check(Teardown{"dev", TeardownLevel::full}, user("UADMIN")).allowed());
  EXPECT_TRUE(policy.check(Spinup{"dev"}, user("UADMIN")).allowed());
  // Tier-1 commands stay open to everyone.
  EXPECT_TRUE(policy.check(Stop{"dev"}, user("U1")).allowed());
  EXPECT_TRUE(policy.check(Start{"dev"}, user("U1")).allowed());
}

TEST_F(PolicyTest, AdminGateForBroadCidr) {
  PolicySettings settings;
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);

  const Decision broad = policy.check(add(v4("10.0.0.0/16", 16)), user("U1"));
  EXPECT_EQ(broad.reason, DenyReason::admin_required);
  EXPECT_EQ(broad.message,
            "Whitelisting `10.0.0.0/16` (broader than /24) needs an admin. Ask one of the admins "
            "listed in INFRA_ADMIN_USERS, or whitelist a narrower range.");
  EXPECT_EQ(policy.check(add(v6("2001:db8::/48", 48)), user("U1")).message,
            "Whitelisting `2001:db8::/48` (broader than /64) needs an admin. Ask one of the "
            "admins listed in INFRA_ADMIN_USERS, or whitelist a narrower range.");

  // At or narrower than the limit: anyone.
  EXPECT_TRUE(policy.check(add(v4("10.0.0.0/24", 24)), user("U1")).allowed());
  EXPECT_TRUE(policy.check(add(v4("10.0.0.1/32", 32)), user("U1")).allowed());
  EXPECT_TRUE(policy.check(add(v6("2001:db8::/64", 64)), user("U1")).allowed());
  // Admins may whitelist broad ranges.
  EXPECT_TRUE(policy.check(add(v4("10.0.0.0/16", 16)), user("UADMIN")).allowed());
}

TEST_F(PolicyTest, NoAdminGateWhenAdminListEmpty) {
  const Policy policy = make(PolicySettings{});
  EXPECT_TRUE(policy.check(Teardown{"dev", TeardownLevel::full}, user("U1")).allowed());
  EXPECT_TRUE(policy.check(Spinup{"dev"}, user("U1")).allowed());
  EXPECT_TRUE(policy.check(add(v4("10.0.0.0/16", 16)), user("U1")).allowed());
}

// --- cooldown ------------------------------------------------------------------------------

TEST_F(PolicyTest, CooldownRefusesWithSecondsLeftThenAllows) {
  Policy policy = make(PolicySettings{});
  policy.record(Stop{"dev"}, user("U1"));

  clock_.advance(seconds(12));
  const Decision refused = policy.check(Stop{"dev"}, user("U1"));
  EXPECT_EQ(refused.reason, DenyReason::cooldown);
  EXPECT_EQ(refused.message, "You ran `stop` 12 s ago. Wait 18 s before running it again.");
  EXPECT_EQ(refused.retry_after, seconds(18));

  clock_.advance(seconds(18));
  EXPECT_TRUE(policy.check(Stop{"dev"}, user("U1")).allowed());
}

TEST_F(PolicyTest, CooldownRoundsUpAndNeverSaysZero) {
  Policy policy = make(PolicySettings{});
  policy.record(Stop{"dev"}, user("U1"));

  clock_.advance(std::chrono::milliseconds(29'500));
  const Decision refused = policy.check(Stop{"dev"}, user("U1"));
  EXPECT_EQ(refused.reason, DenyReason::cooldown);
  EXPECT_EQ(refused.retry_after, seconds(1));
  EXPECT_EQ(refused.message, "You ran `stop` 29 s ago. Wait 1 s before running it again.");

  clock_.advance(std::chrono::milliseconds(499));
  EXPECT_EQ(policy.check(Stop{"dev"}, user("U1")).retry_after, seconds(1));
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(policy.check(Stop{"dev"}, user("U1")).allowed());
}

// The cooldown key is (user, action, target): the target is the environment, plus the
// normalised CIDR for whitelist add/remove. One row: `first` is admitted, the clock moves
// by `after`, then `second` is checked.
struct CooldownCase {
  const char* name;
  Command first;
  const char* first_user;
  std::chrono::milliseconds after;
  Command second;
  const char* second_user;
  bool refused;
};

TEST_F(PolicyTest, CooldownKeyIsUserActionAndTarget) {
  using std::chrono::milliseconds;
  const CooldownCase cases[] = {
      {"same user, action and env", Stop{"dev"}, "U1", seconds(5), Stop{"dev"}, "U1", true},
      {"stop dev, then stop staging", Stop{"dev"}, "U1", seconds(1), Stop{"staging"}, "U1", false},
      {"stop dev, then start dev", Stop{"dev"}, "U1", seconds(1), Start{"dev"}, "U1", false},
      {"teardown levels share a target", Teardown{"dev", TeardownLevel::services}, "U1", seconds(1),
       Teardown{"dev", TeardownLevel::full}, "U1", true},
      {"different users", Stop{"dev"}, "U1", seconds(1), Stop{"dev"}, "U2", false},
      {"whitelist add A, then add B", add(v4("1.2.3.4/32", 32)), "U1", seconds(1),
       add(v4("5.6.7.8/32", 32)), "U1", false},
      {"whitelist add A twice", add(v4("1.2.3.4/32", 32)), "U1", seconds(1),
       add(v4("1.2.3.4/32", 32)), "U1", true},
      {"whitelist add A twice, other TTL and description",
       WhitelistAdd{v4("1.2.3.4/32", 32), std::chrono::days(1), "home", "dev"}, "U1", seconds(1),
       add(v4("1.2.3.4/32", 32)), "U1", true},
      {"whitelist add A in dev, then in staging", add(v4("1.2.3.4/32", 32), "dev"), "U1",
       seconds(1), add(v4("1.2.3.4/32", 32), "staging"), "U1", false},
      {"whitelist add A, other user", add(v6("2001:db8::/64", 64)), "U1", seconds(1),
       add(v6("2001:db8::/64", 64)), "U2", false},
      {"whitelist remove A twice", WhitelistRemove{v4("1.2.3.4/32", 32), "dev"}, "U1", seconds(1),
       WhitelistRemove{v4("1.2.3.4/32", 32), "dev"}, "U1", true},
      {"whitelist remove A, then B", WhitelistRemove{v4("1.2.3.4/32", 32), "dev"}, "U1", seconds(1),
       WhitelistRemove{v4("10.0.0.0/24", 24), "dev"}, "U1", false},
      {"whitelist add A, then remove A", add(v4("1.2.3.4/32", 32)), "U1", seconds(1),
       WhitelistRemove{v4("1.2.3.4/32", 32), "dev"}, "U1", false},
      {"refresh twice", WhitelistRefresh{"dev"}, "U1", seconds(1), WhitelistRefresh{"dev"}, "U1",
       true},
      {"last millisecond of the window", Stop{"dev"}, "U1", milliseconds(29'999), Stop{"dev"}, "U1",
       true},
      {"window expired", Stop{"dev"}, "U1", seconds(30), Stop{"dev"}, "U1", false},
      {"whitelist window expired", add(v4("1.2.3.4/32", 32)), "U1", seconds(30),
       add(v4("1.2.3.4/32", 32)), "U1", false},
  };
  for (const auto& row : cases) {
    SCOPED_TRACE(row.name);
    test::FakeClock clock;
    Policy policy(PolicySettings{}, clock);
    ASSERT_TRUE(policy.admit(row.first, user(row.first_user)).allowed());
    clock.advance(row.after);
    const Decision decision = policy.check(row.second, user(row.second_user));
    EXPECT_EQ(decision.reason, row.refused ? DenyReason::cooldown : DenyReason::none);
    // admit() agrees with check() and records only when it allows.
    EXPECT_EQ(policy.admit(row.second, user(row.second_user)).allowed(), !row.refused);
  }
}

TEST_F(PolicyTest, CooldownOnOneTargetLeavesTheOthersAlone) {
  Policy policy = make(PolicySettings{});
  policy.record(Stop{"dev"}, user("U1"));
  clock_.advance(seconds(1));
  EXPECT_TRUE(policy.admit(Stop{"staging"}, user("U1")).allowed());
  clock_.advance(seconds(1));
  // Both are cooling down now, each on its own clock.
  EXPECT_EQ(policy.check(Stop{"dev"}, user("U1")).retry_after, seconds(28));
  EXPECT_EQ(policy.check(Stop{"staging"}, user("U1")).retry_after, seconds(29));
}

TEST_F(PolicyTest, CooldownOnAWhitelistChangeNamesTheAction) {
  Policy policy = make(PolicySettings{});
  policy.record(add(v4("1.2.3.4/32", 32)), user("U1"));
  clock_.advance(seconds(5));
  EXPECT_TRUE(policy.check(add(v4("5.6.7.8/32", 32)), user("U1")).allowed());
  EXPECT_EQ(policy.check(add(v4("1.2.3.4/32", 32)), user("U1")).message,
            "You ran `whitelist add` 5 s ago. Wait 25 s before running it again.");
}

TEST_F(PolicyTest, ReadOnlyCommandsNeverCoolDown) {
  Policy policy = make(PolicySettings{});
  for (int i = 0; i < 3; ++i) {
    policy.record(Status{"dev"}, user("U1"));
    policy.record(WhitelistList{"dev"}, user("U1"));
    policy.record(Help{}, user("U1"));
  }
  clock_.advance(seconds(1));
  EXPECT_TRUE(policy.check(Status{"dev"}, user("U1")).allowed());
  EXPECT_TRUE(policy.check(WhitelistList{"dev"}, user("U1")).allowed());
  EXPECT_TRUE(policy.check(Help{}, user("U1")).allowed());
}

TEST_F(PolicyTest, CooldownZeroDisables) {
  PolicySettings settings;
  settings.cooldown = seconds(0);
  Policy policy = make(settings);
  policy.record(Stop{"dev"}, user("U1"));
  EXPECT_TRUE(policy.check(Stop{"dev"}, user("U1")).allowed());
  clock_.advance(seconds(1));
  EXPECT_TRUE(policy.check(Stop{"dev"}, user("U1")).allowed());
}

TEST_F(PolicyTest, CheckAloneNeverStartsCooldown) {
  Policy policy = make(PolicySettings{});
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(policy.check(Stop{"dev"}, user("U1")).allowed());
    clock_.advance(seconds(1));
  }
}

TEST_F(PolicyTest, RecordAfterCooldownRestartsIt) {
  Policy policy = make(PolicySettings{});
  policy.record(Stop{"dev"}, user("U1"));
  clock_.advance(seconds(40));
  EXPECT_TRUE(policy.check(Stop{"dev"}, user("U1")).allowed());
  policy.record(Stop{"dev"}, user("U1"));  // also prunes the expired entry
  clock_.advance(seconds(10));
  EXPECT_EQ(policy.check(Stop{"dev"}, user("U1")).retry_after, seconds(20));
}

// --- help and ordering ---------------------------------------------------------------------

TEST_F(PolicyTest, AdmitChecksAndStartsTheCooldownInOneStep) {
  Policy policy = make(PolicySettings{});
  EXPECT_TRUE(policy.admit(Stop{"dev"}, user("U1")).allowed());
  const Decision again = policy.admit(Stop{"dev"}, user("U1"));
  EXPECT_EQ(again.reason, DenyReason::cooldown);
  // A refused admit does not restart the cooldown.
  clock_.advance(seconds(30));
  EXPECT_TRUE(policy.admit(Stop{"dev"}, user("U1")).allowed());
  // Static refusals never start one either.
  EXPECT_EQ(policy.admit(Stop{"prod"}, user("U2")).reason, DenyReason::protected_environment);
  EXPECT_TRUE(policy.admit(Stop{"dev"}, user("U2")).allowed());
}

TEST_F(PolicyTest, ConcurrentAdmitsLetExactlyOneThrough) {
  Policy policy = make(PolicySettings{});
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (policy.admit(Stop{"dev"}, user("U1")).allowed()) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 1);
}

TEST_F(PolicyTest, HelpAlwaysAllowed) {
  PolicySettings settings;
  settings.allowed_users = {"U1"};
  settings.allowed_channels = {"COPS"};
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);
  EXPECT_TRUE(policy.check(Help{}, user("USTRANGER", "CELSEWHERE")).allowed());
}

TEST_F(PolicyTest, UserCheckComesFirst) {
  PolicySettings settings;
  settings.allowed_users = {"U1"};
  settings.allowed_channels = {"COPS"};
  settings.admin_users = {"UADMIN"};
  Policy policy = make(settings);
  policy.record(Stop{"prod"}, user("USTRANGER", "CELSEWHERE"));

  // Not allowed, wrong channel, protected env and cooling down: the user message wins.
  const Decision decision = policy.check(Stop{"prod"}, user("USTRANGER", "CELSEWHERE"));
  EXPECT_EQ(decision.reason, DenyReason::user_not_allowed);
  EXPECT_EQ(decision.message,
            "You are not on the list of people allowed to use /infra. Ask an admin to add your "
            "Slack ID `USTRANGER` to INFRA_ALLOWED_USERS.");
}

TEST_F(PolicyTest, OrderAfterUser) {
  PolicySettings settings;
  settings.allowed_channels = {"COPS"};
  settings.admin_users = {"UADMIN"};
  Policy policy = make(settings);

  // channel before protected environment
  EXPECT_EQ(policy.check(Teardown{"prod", TeardownLevel::full}, user("U1", "CX")).reason,
            DenyReason::channel_not_allowed);
  // protected environment before admin gate
  EXPECT_EQ(policy.check(Teardown{"prod", TeardownLevel::full}, user("U1", "COPS")).reason,
            DenyReason::protected_environment);
  // admin gate before cooldown
  policy.record(Spinup{"dev"}, user("U1", "COPS"));
  EXPECT_EQ(policy.check(Spinup{"dev"}, user("U1", "COPS")).reason, DenyReason::admin_required);
}

// --- settings ------------------------------------------------------------------------------

TEST(PolicySettingsTest, FromConfigCopiesPolicyFields) {
  core::Config config;
  config.protected_environments = {"prod", "staging"};
  config.allowed_users = {"U1"};
  config.allowed_channels = {"C1"};
  config.admin_users = {"UADMIN"};
  config.cooldown = seconds(45);
  config.admin_prefix_v4 = 28;
  config.admin_prefix_v6 = 56;

  const PolicySettings settings = PolicySettings::from(config);
  EXPECT_EQ(settings.protected_environments, config.protected_environments);
  EXPECT_EQ(settings.allowed_users, config.allowed_users);
  EXPECT_EQ(settings.allowed_channels, config.allowed_channels);
  EXPECT_EQ(settings.admin_users, config.admin_users);
  EXPECT_EQ(settings.cooldown, seconds(45));
  EXPECT_EQ(settings.admin_prefix_v4, 28);
  EXPECT_EQ(settings.admin_prefix_v6, 56);
}

TEST(DenyReasonTest, Names) {
  EXPECT_EQ(to_string(DenyReason::none), "none");
  EXPECT_EQ(to_string(DenyReason::cooldown), "cooldown");
  EXPECT_EQ(to_string(DenyReason::admin_required), "admin_required");
}

}  // namespace
}  // namespace infra
