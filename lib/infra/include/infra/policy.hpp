#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "infra/command.hpp"

namespace infra {

struct PolicySettings {
  std::vector<std::string> protected_environments{"prod"};
  std::vector<std::string> allowed_users;     ///< empty = anyone
  std::vector<std::string> allowed_channels;  ///< empty = anywhere
  std::vector<std::string> admin_users;       ///< empty = no admin gate
  std::chrono::seconds cooldown{30};
  int admin_prefix_v4 = 24;  ///< whitelist CIDRs broader than this are admin-only
  int admin_prefix_v6 = 64;

  static PolicySettings from(const core::Config& config);
};

enum class DenyReason {
  none,
  protected_environment,
  user_not_allowed,
  channel_not_allowed,
  admin_required,
  cooldown,
  unverified,
};
std::string_view to_string(DenyReason reason);

/// The policy's answer, in words a Slack user understands.
struct Decision {
  DenyReason reason = DenyReason::none;
  std::string message;                  ///< empty when allowed
  std::chrono::seconds retry_after{0};  ///< for cooldown

  bool allowed() const { return reason == DenyReason::none; }
};

/// Design §3. Checks run in this order: an unverified requester's change,
/// user allow-list, channel allow-list,
/// protected environment, admin gate, cooldown. Admins count as allowed users.
/// Help is always allowed. The cooldown is per (user, action, target): see
/// CooldownKey. Thread-safe.
class Policy {
 public:
  Policy(PolicySettings settings, const core::Clock& clock);

  /// Whether `who` may run `command` now. No side effects.
  Decision check(const Command& command, const Requester& who) const;

  /// check() and, when allowed, record() as one step under one lock, so two
  /// concurrent requests from the same user cannot both pass the cooldown.
  Decision admit(const Command& command, const Requester& who);

  /// Starts `who`'s cooldown for the command's action and target. A no-op for
  /// read-only commands.
  void record(const Command& command, const Requester& who);

 private:
  /// What a cooldown guards: one user repeating one action on one target (the
  /// environment; for whitelist add/remove also the normalised CIDR). It stops
  /// a repeated click, not a second, different piece of work.
  struct CooldownKey {
    std::string user_id;
    Action action = Action::help;
    std::string target;
    friend auto operator<=>(const CooldownKey&, const CooldownKey&) = default;
  };
  static CooldownKey cooldown_key(const Command& command, const Requester& who);

  Decision check_static(const Command& command, const Requester& who) const;
  // Both require mutex_ held.
  Decision check_cooldown_locked(const CooldownKey& key, core::TimePoint now) const;
  void record_locked(const CooldownKey& key, core::TimePoint now);

  PolicySettings settings_;
  const core::Clock& clock_;
  mutable std::mutex mutex_;
  std::map<CooldownKey, core::TimePoint> last_run_;
};

}  // namespace infra
