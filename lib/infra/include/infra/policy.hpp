#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "infra/command.hpp"
#include "infra/shared_state.hpp"

namespace infra {

struct PolicySettings {
  std::vector<std::string> protected_environments{"prod"};
  std::vector<std::string> allowed_users;     ///< empty = anyone
  std::vector<std::string> allowed_channels;  ///< empty = anywhere
  std::vector<std::string> admin_users;       ///< empty = no admin gate
  std::chrono::seconds cooldown{30};
  int admin_prefix_v4 = 24;  ///< whitelist CIDRs broader than this are admin-only
  int admin_prefix_v6 = 64;
  /// Reads (`status`, `whitelist list`) one user may run in any 60 s; 0 = unlimited.
  int reads_per_minute = 10;
  /// Discord's requesters (issue 17), by role and channel id: the same gates
  /// as Slack's users, admins and channels (an admin role is also allowed).
  std::vector<std::string> discord_allowed_roles{};     ///< empty = any role
  std::vector<std::string> discord_allowed_channels{};  ///< empty = anywhere
  std::vector<std::string> discord_admin_roles{};       ///< empty = no admin gate

  static PolicySettings from(const core::Config& config);
};

enum class DenyReason {
  none,
  protected_environment,
  user_not_allowed,
  channel_not_allowed,
  admin_required,
  cooldown,
  read_rate_limited,
  unverified,
  state_unavailable,  ///< a change while the shared state cannot be reached (fail closed)
};
std::string_view to_string(DenyReason reason);

/// The policy's answer, in words a Slack user understands.
struct Decision {
  DenyReason reason = DenyReason::none;
  std::string message;                  ///< empty when allowed
  std::chrono::seconds retry_after{0};  ///< for cooldown and read_rate_limited

  bool allowed() const { return reason == DenyReason::none; }
};

/// Design §3 and issue 15. Checks run in this order:
///  0. a change by a requester the front end could not verify (Requester::verified)
///     is refused: fail closed;
///  1. user allow-list, then channel allow-list (admins count as allowed users);
///     for Discord the allowed and admin roles and the Discord channels;
///  2. protected environment: `stop`, `teardown`, `reboot` refused for everyone;
///  3. protected environment: `start`, `spinup` and every whitelist change
///     (add, remove, refresh) need an admin — refused outright when no admins
///     are configured;
///  4. admin gate (only when admins are configured): tier-two commands, and
///     whitelist ranges broader than admin_prefix_v4/v6;
///  5. private ranges: a whitelist add that overlaps one (private_range_of)
///     needs an admin — refused outright when no admins are configured;
///  6. cooldown (mutating commands) or the read rate limit (reads).
/// Help is always allowed. Reads (`status`, `whitelist list`) stay open to
/// allowed users everywhere. The cooldown is per (user, action, target): see
/// CooldownKey. The read limit is a sliding window per user: at most
/// reads_per_minute reads admitted in any 60 s, admins included; the answer
/// says when the oldest of them leaves the window. Cooldowns and reads are
/// kept in a SharedState: its own MemoryState, or the replicas' one. When
/// that state cannot be reached, a change is refused (state_unavailable) and
/// a read goes on. Thread-safe.
class Policy {
 public:
  /// Cooldowns and reads in memory (one process).
  Policy(PolicySettings settings, const core::Clock& clock);
  /// Cooldowns and reads in `state` (which must outlive the policy).
  Policy(PolicySettings settings, const core::Clock& clock, SharedState& state);
  ~Policy();

  /// Whether `who` may run `command` now. No side effects (it reads the state).
  Decision check(const Command& command, const Requester& who) const;

  /// check() and, when allowed, the cooldown started (or the read counted)
  /// as one conditional step of the state, so two concurrent requests from
  /// the same user — on any replica — cannot both pass the cooldown.
  Decision admit(const Command& command, const Requester& who);

  /// Starts `who`'s cooldown for the command's action and target unless one
  /// runs; for a read, counts it against `who`'s read limit. A no-op for help.
  void record(const Command& command, const Requester& who);

  /// How many users the read limit is tracking (those who read in the last
  /// minute); 0 when the state is not the policy's own.
  std::size_t read_users_for_test() const;

 private:
  /// What a cooldown guards: one user repeating one action on one target (the
  /// environment; for whitelist add/remove also the normalised CIDR). It stops
  /// a repeated click, not a second, different piece of work.
  static std::string cooldown_key(const Command& command, const Requester& who);

  Decision check_static(const Command& command, const Requester& who) const;
  // The cooldown or read limit of an allowed command; `record`: start it / count it.
  Decision check_dynamic(const Command& command, const Requester& who, bool record) const;

  PolicySettings settings_;
  const core::Clock& clock_;
  std::unique_ptr<SharedState> own_state_;  ///< when none was given
  SharedState& state_;
};

}  // namespace infra
