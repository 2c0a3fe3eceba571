#include "infra/policy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

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

// --- requesters the front end could not verify (issue 15: fail closed) ---------------------

// Slack did not answer users.info in time: every change is refused, with a
// "try again" line and its own reason, for admins too; reads and help go on.
TEST_F(PolicyTest, AnUnverifiedRequesterMayReadButNotChange) {
  PolicySettings settings;
  settings.admin_users = {"UADMIN"};
  auto policy = make(settings);
  for (const char* id : {"UALICE", "UADMIN"}) {
    auto who = user(id);
    who.verified = false;
    for (const auto& command : every_command("dev")) {
      const auto decision = policy.check(command, who);
      const Action action = action_of(command);
      if (is_mutating(action)) {
        EXPECT_EQ(decision.reason, DenyReason::unverified) << to_string(action) << " by " << id;
        EXPECT_EQ(decision.message,
                  "Slack did not confirm your account in time, so nothing was changed. Try "
                  "again in a minute.");
      } else {
        EXPECT_TRUE(decision.allowed()) << to_string(action) << " by " << id;
      }
    }
  }
  EXPECT_EQ(to_string(DenyReason::unverified), "unverified");
}

// --- protected environments ----------------------------------------------------------------

// Who gets what in a protected environment (issue 15: prod guarded beyond a
// name). One row per action: the reason for a user when no admins are
// configured, for a non-admin and for an admin when they are.
TEST_F(PolicyTest, ProtectedEnvironmentDecisionPerActionAndRole) {
  using R = DenyReason;
  struct Row {
    Action action;
    R no_admins;
    R non_admin;
    R admin;
  };
  const Row rows[] = {
      {Action::help, R::none, R::none, R::none},
      {Action::status, R::none, R::none, R::none},
      {Action::whitelist_list, R::none, R::none, R::none},
      {Action::stop, R::protected_environment, R::protected_environment, R::protected_environment},
      {Action::teardown, R::protected_environment, R::protected_environment,
       R::protected_environment},
      {Action::reboot, R::protected_environment, R::protected_environment,
       R::protected_environment},
      {Action::start, R::admin_required, R::admin_required, R::none},
      {Action::spinup, R::admin_required, R::admin_required, R::none},
      {Action::whitelist_add, R::admin_required, R::admin_required, R::none},
      {Action::whitelist_remove, R::admin_required, R::admin_required, R::none},
      {Action::whitelist_refresh, R::admin_required, R::admin_required, R::none},
  };
  PolicySettings with_admins;
  with_admins.admin_users = {"UADMIN"};
  const Policy open = make(PolicySettings{});
  const Policy gated = make(with_admins);
  for (const Command& command : every_command("prod")) {
    SCOPED_TRACE(describe(command));
    const Action action = action_of(command);
    const auto row = std::find_if(std::begin(rows), std::end(rows),
                                  [&](const Row& r) { return r.action == action; });
    ASSERT_NE(row, std::end(rows));
    EXPECT_EQ(open.check(command, user("U1")).reason, row->no_admins);
    EXPECT_EQ(gated.check(command, user("U1")).reason, row->non_admin);
    EXPECT_EQ(gated.check(command, user("UADMIN")).reason, row->admin);
  }
  // In an unprotected environment none of this applies (tier two aside).
  for (const Command& command : every_command("dev")) {
    SCOPED_TRACE(describe(command));
    EXPECT_TRUE(open.check(command, user("U1")).allowed());
  }
}

TEST_F(PolicyTest, ProtectedEnvironmentAdminGateMessages) {
  PolicySettings with_admins;
  with_admins.admin_users = {"UADMIN"};
  const Policy gated = make(with_admins);
  EXPECT_EQ(gated.check(Start{"prod"}, user("U1")).message,
            "`prod` is protected: `start` there needs an admin. Ask one of the admins listed in "
            "INFRA_ADMIN_USERS to run it.");
  EXPECT_EQ(gated.check(WhitelistRefresh{"prod"}, user("U1")).message,
            "`prod` is protected: `whitelist refresh` there needs an admin. Ask one of the admins "
            "listed in INFRA_ADMIN_USERS to run it.");

  const Policy open = make(PolicySettings{});
  EXPECT_EQ(open.check(add(v4("203.0.113.7/32", 32), "prod"), user("U1")).message,
            "`prod` is protected: `whitelist add` there needs an admin, and no admins are "
            "configured. Set INFRA_ADMIN_USERS to the Slack IDs of the people who may do it.");
  EXPECT_EQ(open.check(Spinup{"prod"}, user("U1")).message,
            "`prod` is protected: `spinup` there needs an admin, and no admins are configured. "
            "Set INFRA_ADMIN_USERS to the Slack IDs of the people who may do it.");
  EXPECT_EQ(open.check(WhitelistRemove{v4("203.0.113.7/32", 32), "prod"}, user("U1")).reason,
            DenyReason::admin_required);
}

TEST_F(PolicyTest, ProtectedEnvironmentGateFollowsTheConfiguredNames) {
  PolicySettings settings;
  settings.protected_environments = {"production"};
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);
  EXPECT_EQ(policy.check(Start{"production"}, user("U1")).reason, DenyReason::admin_required);
  EXPECT_TRUE(policy.check(Start{"prod"}, user("U1")).allowed()) << "not protected here";
  EXPECT_TRUE(policy.check(Start{"production"}, user("UADMIN")).allowed());
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

  const Decision broad = policy.check(add(v4("198.51.0.0/16", 16)), user("U1"));
  EXPECT_EQ(broad.reason, DenyReason::admin_required);
  EXPECT_EQ(broad.message,
            "Whitelisting `198.51.0.0/16` (broader than /24) needs an admin. Ask one of the "
            "admins listed in INFRA_ADMIN_USERS, or whitelist a narrower range.");
  EXPECT_EQ(policy.check(add(v6("2001:db8::/48", 48)), user("U1")).message,
            "Whitelisting `2001:db8::/48` (broader than /64) needs an admin. Ask one of the "
            "admins listed in INFRA_ADMIN_USERS, or whitelist a narrower range.");

  // At or narrower than the limit: anyone.
  EXPECT_TRUE(policy.check(add(v4("198.51.100.0/24", 24)), user("U1")).allowed());
  EXPECT_TRUE(policy.check(add(v4("198.51.100.1/32", 32)), user("U1")).allowed());
  EXPECT_TRUE(policy.check(add(v6("2001:db8::/64", 64)), user("U1")).allowed());
  // Admins may whitelist broad ranges.
  EXPECT_TRUE(policy.check(add(v4("198.51.0.0/16", 16)), user("UADMIN")).allowed());
}

TEST_F(PolicyTest, NoAdminGateWhenAdminListEmpty) {
  const Policy policy = make(PolicySettings{});
  EXPECT_TRUE(policy.check(Teardown{"dev", TeardownLevel::full}, user("U1")).allowed());
  EXPECT_TRUE(policy.check(Spinup{"dev"}, user("U1")).allowed());
  EXPECT_TRUE(policy.check(add(v4("198.51.0.0/16", 16)), user("U1")).allowed());
}

// --- private ranges (issue 15) ---------------------------------------------------------------

TEST_F(PolicyTest, PrivateRangeNeedsAnAdmin) {
  PolicySettings settings;
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);

  const Decision refused = policy.check(add(v4("10.1.2.0/24", 24)), user("U1"));
  EXPECT_EQ(refused.reason, DenyReason::admin_required);
  EXPECT_EQ(refused.message,
            "Whitelisting `10.1.2.0/24` needs an admin: it overlaps the private range "
            "`10.0.0.0/8`, addresses inside a private network rather than on the internet. Ask "
            "one of the admins listed in INFRA_ADMIN_USERS to add it.");
  // One row per private family, a range that contains one, and a public neighbour.
  const struct {
    Cidr cidr;
    DenyReason reason;
  } rows[] = {
      {v4("172.16.5.0/24", 24), DenyReason::admin_required},
      {v4("192.168.1.7/32", 32), DenyReason::admin_required},
      {v4("100.64.0.1/32", 32), DenyReason::admin_required},
      {v6("fd00:1:2:3::/64", 64), DenyReason::admin_required},
      {v6("fec0::1/128", 128), DenyReason::admin_required},
      {v4("8.0.0.0/6", 6), DenyReason::admin_required},  // contains 10.0.0.0/8
      {v4("172.32.0.1/32", 32), DenyReason::none},
      {v6("2001:db8::1/128", 128), DenyReason::none},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.cidr.text);
    EXPECT_EQ(policy.check(add(row.cidr), user("U1")).reason, row.reason);
    EXPECT_TRUE(policy.check(add(row.cidr), user("UADMIN")).allowed());
  }
  // Removing one is not gated (outside protected environments).
  EXPECT_TRUE(policy.check(WhitelistRemove{v4("10.1.2.0/24", 24), "dev"}, user("U1")).allowed());
}

TEST_F(PolicyTest, PrivateRangeRefusedWhenNoAdminsAreConfigured) {
  const Policy policy = make(PolicySettings{});
  const Decision refused = policy.check(add(v6("fd12:3456:789a::/48", 48)), user("U1"));
  EXPECT_EQ(refused.reason, DenyReason::admin_required);
  EXPECT_EQ(refused.message,
            "Whitelisting `fd12:3456:789a::/48` needs an admin: it overlaps the private range "
            "`fc00::/7`, addresses inside a private network rather than on the internet, and no "
            "admins are configured. Set INFRA_ADMIN_USERS to the Slack IDs of the people who may "
            "do it.");
  EXPECT_TRUE(policy.check(add(v4("203.0.113.0/24", 24)), user("U1")).allowed());
}

TEST_F(PolicyTest, UnreadableCidrCountsAsPrivate) {
  PolicySettings settings;
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);
  EXPECT_EQ(policy.check(add(v4("garbage", 32)), user("U1")).reason, DenyReason::admin_required);
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

// --- read rate limit (issue 15) -----------------------------------------------------------

TEST_F(PolicyTest, ReadRateLimitRefusesTheEleventhReadInAMinute) {
  Policy policy = make(PolicySettings{});
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE(i);
    // status and whitelist list share one budget, across environments.
    const Command read = i % 2 == 0 ? Command{Status{"dev"}} : Command{WhitelistList{"prod"}};
    EXPECT_TRUE(policy.admit(read, user("U1")).allowed());
    clock_.advance(seconds(3));
  }
  // 30 s after the first read.
  const Decision refused = policy.admit(Status{"staging"}, user("U1"));
  EXPECT_EQ(refused.reason, DenyReason::read_rate_limited);
  EXPECT_EQ(refused.message,
            "You ran `status` or `whitelist list` 10 times in the last minute; the limit is 10 a "
            "minute. Try again in 30 s.");
  EXPECT_EQ(refused.retry_after, seconds(30));
  EXPECT_EQ(policy.check(WhitelistList{"dev"}, user("U1")).reason, DenyReason::read_rate_limited);
  // Other users, help and changes are not affected.
  EXPECT_TRUE(policy.admit(Status{"dev"}, user("U2")).allowed());
  EXPECT_TRUE(policy.admit(Help{}, user("U1")).allowed());
  EXPECT_TRUE(policy.admit(Stop{"dev"}, user("U1")).allowed());
}

TEST_F(PolicyTest, ReadRateLimitWindowSlides) {
  Policy policy = make(PolicySettings{});
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(policy.admit(Status{"dev"}, user("U1")).allowed());
    clock_.advance(seconds(5));
  }
  // Reads at 0, 5, …, 45 s; now 50 s.
  EXPECT_EQ(policy.check(Status{"dev"}, user("U1")).retry_after, seconds(10));
  clock_.advance(std::chrono::milliseconds(9'500));
  EXPECT_EQ(policy.check(Status{"dev"}, user("U1")).retry_after, seconds(1));
  clock_.advance(std::chrono::milliseconds(500));
  // 60 s: the first read has left the window, one more fits, and then the next
  // wait is until the read at 5 s leaves.
  EXPECT_TRUE(policy.admit(Status{"dev"}, user("U1")).allowed());
  const Decision again = policy.admit(Status{"dev"}, user("U1"));
  EXPECT_EQ(again.reason, DenyReason::read_rate_limited);
  EXPECT_EQ(again.retry_after, seconds(5));
}

TEST_F(PolicyTest, ReadRateLimitCountsOnlyAdmittedReads) {
  PolicySettings settings;
  settings.reads_per_minute = 2;
  Policy policy = make(settings);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(policy.check(Status{"dev"}, user("U1")).allowed());
  EXPECT_TRUE(policy.admit(Status{"dev"}, user("U1")).allowed());
  EXPECT_TRUE(policy.admit(Status{"dev"}, user("U1")).allowed());
  // Refused reads do not push the window out.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(policy.admit(Status{"dev"}, user("U1")).reason, DenyReason::read_rate_limited);
  }
  clock_.advance(seconds(60));
  EXPECT_TRUE(policy.admit(Status{"dev"}, user("U1")).allowed());
}

TEST_F(PolicyTest, ReadRateLimitHoldsForAdmins) {
  PolicySettings settings;
  settings.admin_users = {"UADMIN"};
  settings.reads_per_minute = 1;
  Policy policy = make(settings);
  EXPECT_TRUE(policy.admit(Status{"dev"}, user("UADMIN")).allowed());
  EXPECT_EQ(policy.admit(Status{"dev"}, user("UADMIN")).reason, DenyReason::read_rate_limited);
}

TEST_F(PolicyTest, ReadRateLimitZeroIsUnlimited) {
  PolicySettings settings;
  settings.reads_per_minute = 0;
  Policy policy = make(settings);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(policy.admit(Status{"dev"}, user("U1")).allowed());
  EXPECT_EQ(policy.read_users_for_test(), 0u);
}

TEST_F(PolicyTest, ReadRateLimitComesAfterTheStaticChecks) {
  PolicySettings settings;
  settings.allowed_users = {"U1"};
  settings.reads_per_minute = 1;
  Policy policy = make(settings);
  EXPECT_TRUE(policy.admit(Status{"dev"}, user("U1")).allowed());
  EXPECT_EQ(policy.admit(Status{"dev"}, user("USTRANGER")).reason, DenyReason::user_not_allowed);
}

TEST_F(PolicyTest, ReadRateLimitForgetsUsersWhoseReadsLeftTheWindow) {
  Policy policy = make(PolicySettings{});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(policy.admit(Status{"dev"}, user("U" + std::to_string(i))).allowed());
  }
  EXPECT_EQ(policy.read_users_for_test(), 1000u);
  clock_.advance(seconds(60));
  EXPECT_TRUE(policy.admit(Status{"dev"}, user("ULATE")).allowed());
  EXPECT_EQ(policy.read_users_for_test(), 1u);
  // record() counts a read too, and never keeps more than the limit per user.
  for (int i = 0; i < 50; ++i) policy.record(Status{"dev"}, user("ULATE"));
  EXPECT_EQ(policy.check(Status{"dev"}, user("ULATE")).message,
            "You ran `status` or `whitelist list` 10 times in the last minute; the limit is 10 a "
            "minute. Try again in 60 s.");
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

// --- Discord requesters (issue 17) --------------------------------------------------------

constexpr const char* kRole = "223344556677889900";         // INFRA_DISCORD_ALLOWED_ROLES
constexpr const char* kAdminRole = "334455667788990011";    // INFRA_DISCORD_ADMIN_ROLES
constexpr const char* kOtherRole = "556677889900112233";    // on no Discord list
constexpr const char* kSlackIdRole = "667788990011223344";  // on INFRA_ADMIN_USERS (a coincidence)
constexpr const char* kChannel = "445566778899001122";      // INFRA_DISCORD_ALLOWED_CHANNELS
constexpr const char* kOtherChannel = "778899001122334455";
constexpr const char* kMember = "889900112233445566";  // a Discord user id

Requester member(std::vector<std::string> roles, std::string channel = kChannel,
                 std::string id = kMember) {
  Requester who{std::move(id), "someone", "112233445566778899", std::move(channel)};
  who.chat = Chat::discord;
  who.roles = std::move(roles);
  return who;
}

// Discord's lists set, and Slack's too, holding ids a Discord requester might
// carry by coincidence: they must do nothing for it.
PolicySettings discord_settings() {
  PolicySettings settings;
  settings.discord_allowed_roles = {kRole};
  settings.discord_admin_roles = {kAdminRole};
  settings.discord_allowed_channels = {kChannel};
  settings.allowed_users = {"U1", kMember, kOtherRole};
  settings.admin_users = {"UADMIN", kMember, kSlackIdRole};
  settings.allowed_channels = {"COPS", kOtherChannel};
  return settings;
}

constexpr const char* kAskAdminRole = "Ask someone with a role listed in INFRA_DISCORD_ADMIN_ROLES";

// One row per requester and command: the reason, and the message word for word.
TEST_F(PolicyTest, DiscordRequestersByRoleAndChannel) {
  struct Row {
    const char* name;
    Requester who;
    Command command;
    DenyReason reason;
    std::string message;  // empty when allowed
  };
  const std::string kNoRole =
      "None of your roles may use /infra. Ask an admin to give you a role listed in "
      "INFRA_DISCORD_ALLOWED_ROLES.";
  const Row rows[] = {
      {"allowed role reads", member({kRole}), Status{"dev"}, DenyReason::none, ""},
      {"allowed role starts dev", member({kOtherRole, kRole}), Start{"dev"}, DenyReason::none, ""},
      {"admin role counts as allowed", member({kAdminRole}), Status{"dev"}, DenyReason::none, ""},
      {"admin role stops dev", member({kAdminRole}), Stop{"dev"}, DenyReason::none, ""},
      {"no role", member({}), Status{"dev"}, DenyReason::user_not_allowed, kNoRole},
      {"an unlisted role", member({kOtherRole}), Start{"dev"}, DenyReason::user_not_allowed,
       kNoRole},
      {"a role on INFRA_ADMIN_USERS by coincidence", member({kSlackIdRole}), Status{"dev"},
       DenyReason::user_not_allowed, kNoRole},
      {"a user id on Slack's lists", member({}, kChannel, kMember), Status{"dev"},
       DenyReason::user_not_allowed, kNoRole},
      {"help needs no role, anywhere", member({}, kOtherChannel), Help{}, DenyReason::none, ""},
      {"allowed role, other channel", member({kRole}, kOtherChannel), Status{"dev"},
       DenyReason::channel_not_allowed,
       "/infra is not enabled in this channel. Ask an admin to add this channel "
       "(`778899001122334455`) to INFRA_DISCORD_ALLOWED_CHANNELS."},
      {"admin role, other channel", member({kAdminRole}, kOtherChannel), Status{"dev"},
       DenyReason::channel_not_allowed,
       "/infra is not enabled in this channel. Ask an admin to add this channel "
       "(`778899001122334455`) to INFRA_DISCORD_ALLOWED_CHANNELS."},
      {"a Slack channel id", member({kRole}, "COPS"), Status{"dev"},
       DenyReason::channel_not_allowed,
       "/infra is not enabled in this channel. Ask an admin to add this channel (`COPS`) to "
       "INFRA_DISCORD_ALLOWED_CHANNELS."},
      {"protected start, allowed role", member({kRole}), Start{"prod"}, DenyReason::admin_required,
       fmt::format("`prod` is protected: `start` there needs an admin. {} to run it.",
                   kAskAdminRole)},
      {"protected start, Slack admin id as a role", member({kRole, kSlackIdRole}), Start{"prod"},
       DenyReason::admin_required,
       fmt::format("`prod` is protected: `start` there needs an admin. {} to run it.",
                   kAskAdminRole)},
      {"protected start, admin role", member({kAdminRole}), Start{"prod"}, DenyReason::none, ""},
      {"protected whitelist refresh, admin role", member({kRole, kAdminRole}),
       WhitelistRefresh{"prod"}, DenyReason::none, ""},
      {"protected stop, admin role", member({kAdminRole}), Stop{"prod"},
       DenyReason::protected_environment,
       "`prod` is protected: `stop` is never run there. Protected environments: prod."},
      {"tier two, allowed role", member({kRole}), Teardown{"dev", TeardownLevel::services},
       DenyReason::admin_required,
       fmt::format("`teardown` is an admin command. {} to run it.", kAskAdminRole)},
      {"tier two spinup, allowed role", member({kRole}), Spinup{"dev"}, DenyReason::admin_required,
       fmt::format("`spinup` is an admin command. {} to run it.", kAskAdminRole)},
      {"tier two, admin role", member({kAdminRole}), Teardown{"dev", TeardownLevel::full},
       DenyReason::none, ""},
      {"tier two spinup, admin role", member({kAdminRole}), Spinup{"dev"}, DenyReason::none, ""},
      {"broad range, allowed role", member({kRole}), add(v4("198.51.0.0/16", 16)),
       DenyReason::admin_required,
       fmt::format("Whitelisting `198.51.0.0/16` (broader than /24) needs an admin. {}, or "
                   "whitelist a narrower range.",
                   kAskAdminRole)},
      {"narrow range, allowed role", member({kRole}), add(v4("198.51.100.0/24", 24)),
       DenyReason::none, ""},
      {"broad range, admin role", member({kAdminRole}), add(v4("198.51.0.0/16", 16)),
       DenyReason::none, ""},
      {"private range, allowed role", member({kRole}), add(v4("10.1.2.0/24", 24)),
       DenyReason::admin_required,
       fmt::format("Whitelisting `10.1.2.0/24` needs an admin: it overlaps the private range "
                   "`10.0.0.0/8`, addresses inside a private network rather than on the "
                   "internet. {} to add it.",
                   kAskAdminRole)},
      {"private range, admin role", member({kAdminRole}), add(v4("10.1.2.0/24", 24)),
       DenyReason::none, ""},
  };
  const Policy policy = make(discord_settings());
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    const Decision decision = policy.check(row.command, row.who);
    EXPECT_EQ(to_string(decision.reason), to_string(row.reason));
    EXPECT_EQ(decision.message, row.message);
    // A Discord requester is never sent to Slack's settings.
    EXPECT_EQ(decision.message.find("Slack"), std::string::npos);
    EXPECT_EQ(decision.message.find("INFRA_ADMIN_USERS"), std::string::npos);
    EXPECT_EQ(decision.message.find("INFRA_ALLOWED_"), std::string::npos);
  }
}

// Discord admin roles unset: the admin gate is off for Discord's tier-two
// commands and broad ranges (Slack's admins do not switch it on), and what
// needs an admin anyway is refused in Discord's words.
TEST_F(PolicyTest, DiscordWithoutAdminRoles) {
  PolicySettings settings;
  settings.discord_allowed_roles = {kRole};
  settings.admin_users = {"UADMIN"};
  const Policy policy = make(settings);
  const auto who = member({kRole}, kOtherChannel);  // no Discord channel list: anywhere

  const Decision start = policy.check(Start{"prod"}, who);
  EXPECT_EQ(start.reason, DenyReason::admin_required);
  EXPECT_EQ(start.message,
            "`prod` is protected: `start` there needs an admin, and no admin roles are "
            "configured. Set INFRA_DISCORD_ADMIN_ROLES to the Discord role IDs of the people who "
            "may do it.");
  const Decision private_range = policy.check(add(v6("fd12:3456:789a::/48", 48)), who);
  EXPECT_EQ(private_range.reason, DenyReason::admin_required);
  EXPECT_EQ(private_range.message,
            "Whitelisting `fd12:3456:789a::/48` needs an admin: it overlaps the private range "
            "`fc00::/7`, addresses inside a private network rather than on the internet, and no "
            "admin roles are configured. Set INFRA_DISCORD_ADMIN_ROLES to the Discord role IDs of "
            "the people who may do it.");
  EXPECT_TRUE(policy.check(Teardown{"dev", TeardownLevel::full}, who).allowed());
  EXPECT_TRUE(policy.check(Spinup{"dev"}, who).allowed());
  EXPECT_TRUE(policy.check(add(v4("198.51.0.0/16", 16)), who).allowed());
  EXPECT_EQ(policy.check(Stop{"prod"}, who).reason, DenyReason::protected_environment);
  // No Discord list at all: any member may use it (the config refuses to start
  // that way unless INFRA_ALLOW_EVERYONE is set).
  const Policy open = make(PolicySettings{});
  EXPECT_TRUE(open.check(Start{"dev"}, member({})).allowed());
  EXPECT_EQ(open.check(WhitelistRefresh{"prod"}, member({kAdminRole})).message,
            "`prod` is protected: `whitelist refresh` there needs an admin, and no admin roles "
            "are configured. Set INFRA_DISCORD_ADMIN_ROLES to the Discord role IDs of the people "
            "who may do it.");
}

// Slack requesters see Slack's lists only: Discord's roles and channels,
// and the roles a Slack requester cannot have, change nothing for them.
TEST_F(PolicyTest, SlackRequestersIgnoreTheDiscordLists) {
  PolicySettings discord_only;
  discord_only.discord_allowed_roles = {kRole};
  discord_only.discord_admin_roles = {kAdminRole};
  discord_only.discord_allowed_channels = {kChannel};
  const Policy open_slack = make(discord_only);
  // Slack's lists are empty: anyone, anywhere, with no admin gate.
  EXPECT_TRUE(open_slack.check(Start{"dev"}, user("U1", "CANY")).allowed());
  EXPECT_TRUE(open_slack.check(Teardown{"dev", TeardownLevel::full}, user("U1")).allowed());
  EXPECT_TRUE(open_slack.check(add(v4("198.51.0.0/16", 16)), user("U1")).allowed());
  auto with_roles = user("U1");
  with_roles.roles = {kAdminRole};  // a Slack requester's roles are not looked at
  const Decision start = open_slack.check(Start{"prod"}, with_roles);
  EXPECT_EQ(start.reason, DenyReason::admin_required);
  EXPECT_EQ(start.message,
            "`prod` is protected: `start` there needs an admin, and no admins are configured. "
            "Set INFRA_ADMIN_USERS to the Slack IDs of the people who may do it.");
  // A Slack user whose id happens to be a Discord admin role is no admin.
  EXPECT_EQ(open_slack.check(Start{"prod"}, user(kAdminRole)).reason, DenyReason::admin_required);

  const Policy policy = make(discord_settings());
  const Decision stranger = policy.check(Status{"dev"}, user(kRole, "COPS"));
  EXPECT_EQ(stranger.reason, DenyReason::user_not_allowed);
  EXPECT_EQ(stranger.message,
            "You are not on the list of people allowed to use /infra. Ask an admin to add your "
            "Slack ID `223344556677889900` to INFRA_ALLOWED_USERS.");
  const Decision channel = policy.check(Status{"dev"}, user("U1", kChannel));
  EXPECT_EQ(channel.reason, DenyReason::channel_not_allowed);
  EXPECT_EQ(channel.message,
            "/infra is not enabled in this channel. Ask an admin to add this channel "
            "(`445566778899001122`) to INFRA_ALLOWED_CHANNELS.");
  const Decision tier_two = policy.check(Spinup{"dev"}, user("U1", "COPS"));
  EXPECT_EQ(tier_two.reason, DenyReason::admin_required);
  EXPECT_EQ(tier_two.message,
            "`spinup` is an admin command. Ask one of the admins listed in INFRA_ADMIN_USERS to "
            "run it.");
  EXPECT_TRUE(policy.check(Spinup{"dev"}, user("UADMIN", "COPS")).allowed());
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
  config.discord_allowed_roles = {"223344556677889900"};
  config.discord_admin_roles = {"334455667788990011"};
  config.discord_allowed_channels = {"445566778899001122"};

  const PolicySettings settings = PolicySettings::from(config);
  EXPECT_EQ(settings.protected_environments, config.protected_environments);
  EXPECT_EQ(settings.allowed_users, config.allowed_users);
  EXPECT_EQ(settings.allowed_channels, config.allowed_channels);
  EXPECT_EQ(settings.admin_users, config.admin_users);
  EXPECT_EQ(settings.cooldown, seconds(45));
  EXPECT_EQ(settings.admin_prefix_v4, 28);
  EXPECT_EQ(settings.admin_prefix_v6, 56);
  EXPECT_EQ(settings.discord_allowed_roles, config.discord_allowed_roles);
  EXPECT_EQ(settings.discord_admin_roles, config.discord_admin_roles);
  EXPECT_EQ(settings.discord_allowed_channels, config.discord_allowed_channels);
  EXPECT_EQ(settings.reads_per_minute, 10) << "the default until Config carries it";
}

TEST(DenyReasonTest, Names) {
  EXPECT_EQ(to_string(DenyReason::none), "none");
  EXPECT_EQ(to_string(DenyReason::cooldown), "cooldown");
  EXPECT_EQ(to_string(DenyReason::admin_required), "admin_required");
  EXPECT_EQ(to_string(DenyReason::read_rate_limited), "read_rate_limited");
}

}  // namespace
}  // namespace infra
