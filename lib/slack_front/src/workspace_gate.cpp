#include "workspace_gate.hpp"

#include <atomic>
#include <functional>
#include <utility>

namespace slack_front {
namespace {

using Standing = Verdict::Standing;

// Bounds the cache: past this, expired entries are dropped on the next insert.
constexpr std::size_t kPruneAbove = 10000;

Verdict outsider(std::string reason) { return Verdict{Standing::outsider, std::move(reason)}; }

}  // namespace

WorkspaceGate::WorkspaceGate(WorkspaceSettings settings, slack::WebApi& web,
                             core::Scheduler& scheduler, const core::Clock& clock,
                             core::StrandPool& lane, core::LoggerPtr logger, Learned learned)
    : settings_(std::move(settings)),
      web_(web),
      scheduler_(scheduler),
      clock_(clock),
      lane_(lane),
      logger_(std::move(logger)),
      learned_(std::move(learned)) {}

Verdict WorkspaceGate::judge(const slack::UserInfo& user, const WorkspaceSettings& settings) {
  if (user.is_bot) return outsider("bot");
  if (user.deleted) return outsider("deactivated");
  if (settings.allow_guests) return {};
  if (user.is_restricted || user.is_ultra_restricted) return outsider("guest");
  // A Slack Connect user is a stranger, or belongs to another team. (An
  // answer naming no team at all says nothing about it: the flags decide.)
  if (user.is_stranger || (!user.team_id.empty() && user.team_id != settings.team_id)) {
    return outsider("external");
  }
  return {};
}

std::optional<Verdict> WorkspaceGate::decide_now(const std::string& user_id,
                                                 const std::string& team_id, bool from_bot) {
  // An envelope naming another team did not come from this workspace. (Slack
  // names the team in every command, interaction and event; one that names
  // none is judged on its author alone.)
  if (!team_id.empty() && team_id != settings_.team_id) return outsider("other_team");
  if (from_bot || user_id.empty() || user_id == settings_.bot_user_id) return outsider("bot");
  // Guests allowed: what users.info would add is only is_bot, and a bot
  // cannot type a slash command; its messages carry bot_id (from_bot).
  if (settings_.allow_guests) return Verdict{};
  std::lock_guard lock(mutex_);
  const auto it = cache_.find(user_id);
  if (it == cache_.end()) return std::nullopt;
  if (clock_.monotonic() >= it->second.expires) {
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.verdict;
}

void WorkspaceGate::ask(const std::string& user_id, std::function<void(Verdict)> then) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    auto& waiters = waiting_[user_id];
    first = waiters.empty();
    waiters.push_back(Waiter{done, then});
  }
  // The envelope's ack cannot wait for ever: after lookup_timeout it goes on unverified.
  scheduler_.after(settings_.lookup_timeout, [done, then, user_id, logger = logger_] {
    if (done->exchange(true)) return;
    logger->warn("users.info for {} did not answer in time; changes refused for now", user_id);
    then(Verdict{Standing::unverified, "lookup_timeout"});
  });
  if (!first) return;
  // One strand per user: a hanging lookup holds up only its own user's.
  if (!lane_.post(std::hash<std::string>{}(user_id), [this, user_id] { lookup(user_id); })) {
    logger_->warn("users.info lane full or closed; {} is unverified", user_id);
    settle(user_id, Verdict{Standing::unverified, "lookup_unavailable"});
  }
}

void WorkspaceGate::lookup(const std::string& user_id) {
  // Whatever happens, the waiters get an answer: a lookup that never settled
  // would hold every later ask about this user (they only join it).
  try {
    lookup_and_settle(user_id);
  } catch (const std::exception& e) {
    logger_->error("users.info for {} threw: {}", user_id, e.what());
    settle(user_id, Verdict{Standing::unverified, "lookup_failed"});
  }
}

void WorkspaceGate::lookup_and_settle(const std::string& user_id) {
  auto user = web_.user_info(user_id);
  if (!user) {
    // Not cached: the next envelope asks again.
    logger_->warn("users.info for {} failed: {}", user_id,
                  user.error().detail.empty() ? user.error().user_message : user.error().detail);
    settle(user_id, Verdict{Standing::unverified, "lookup_failed"});
    return;
  }
  const Verdict verdict = judge(*user, settings_);
  if (learned_) learned_(*user);
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.monotonic();
    if (cache_.size() >= kPruneAbove) {
      std::erase_if(cache_, [&](const auto& entry) { return now >= entry.second.expires; });
    }
    cache_[user_id] = Cached{verdict, now + settings_.member_ttl};
  }
  settle(user_id, verdict);
}

void WorkspaceGate::settle(const std::string& user_id, const Verdict& verdict) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    const auto it = waiting_.find(user_id);
    if (it == waiting_.end()) return;
    waiters = std::move(it->second);
    waiting_.erase(it);
  }
  for (auto& waiter : waiters) {
    scheduler_.post([waiter = std::move(waiter), verdict] {
      if (!waiter.done->exchange(true)) waiter.then(verdict);
    });
  }
}

}  // namespace slack_front
