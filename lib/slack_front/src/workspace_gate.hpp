#pragma once
// Who may reach the /infra core at all (issue 15): members of the bot's own
// workspace, never bots or workflows, and guests or external (Slack Connect)
// users only when the operator allows them. What an envelope says decides
// most cases at once; the rest asks users.info, cached, within a time bound.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/scheduler.hpp"
#include "core/strand_pool.hpp"
#include "slack/web_api.hpp"
#include "slack_front/workspace.hpp"

namespace slack_front {

/// What the gate says about the author of an envelope.
struct Verdict {
  enum class Standing {
    member,      ///< goes on to the core
    unverified,  ///< Slack did not answer in time: reads go on, changes are refused
    outsider,    ///< ignored: acked, logged, audited, nothing else
  };
  Standing standing = Standing::member;
  std::string reason;  ///< for an outsider: other_team, bot, guest, external, deactivated
};

class WorkspaceGate {
 public:
  /// `lane` runs the users.info calls; `scheduler` runs the answers (and the
  /// timeout). Both must outlive the gate's use.
  /// Runs (on the lane) with each users.info answer, so the names cache need
  /// not ask again.
  using Learned = std::function<void(const slack::UserInfo&)>;

  WorkspaceGate(WorkspaceSettings settings, slack::WebApi& web, core::Scheduler& scheduler,
                const core::Clock& clock, core::StrandPool& lane, core::LoggerPtr logger,
                Learned learned = {});

  /// The verdict from the envelope and the cache, or nullopt when users.info
  /// must be asked. No I/O.
  std::optional<Verdict> decide_now(const std::string& user_id, const std::string& team_id,
                                    bool from_bot);

  /// Asks users.info about `user_id` and runs `then` once, on the scheduler:
  /// with the answer, or `unverified` when it does not come within
  /// lookup_timeout or fails. Concurrent asks about one user share a call.
  void ask(const std::string& user_id, std::function<void(Verdict)> then);

  /// The verdict on a users.info answer (pure).
  static Verdict judge(const slack::UserInfo& user, const WorkspaceSettings& settings);

 private:
  struct Cached {
    Verdict verdict;
    core::MonoTime expires;
  };
  struct Waiter {
    std::shared_ptr<std::atomic<bool>> done;
    std::function<void(Verdict)> then;
  };
  void lookup(const std::string& user_id);
  void lookup_and_settle(const std::string& user_id);
  void settle(const std::string& user_id, const Verdict& verdict);

  WorkspaceSettings settings_;
  slack::WebApi& web_;
  core::Scheduler& scheduler_;
  const core::Clock& clock_;
  core::StrandPool& lane_;
  core::LoggerPtr logger_;
  Learned learned_;
  std::mutex mutex_;
  std::unordered_map<std::string, Cached> cache_;
  std::unordered_map<std::string, std::vector<Waiter>> waiting_;
};

}  // namespace slack_front
