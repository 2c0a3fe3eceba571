#include "user_directory.hpp"

#include <functional>
#include <utility>

namespace slack_front {
namespace {
// A failed lookup is retried after this long, not on every command.
constexpr std::chrono::minutes kFailureTtl{5};
// The cache stays small: ids beyond this are looked up again.
constexpr std::size_t kMaxEntries = 10000;
}  // namespace

UserDirectory::UserDirectory(slack::WebApi& web, const core::Clock& clock, std::chrono::minutes ttl,
                             core::StrandPool& lane, core::LoggerPtr logger)
    : web_(web), clock_(clock), ttl_(ttl), lane_(lane), logger_(std::move(logger)) {}

void UserDirectory::prefetch(const std::string& user_id) {
  if (user_id.empty()) return;
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(user_id); it != cache_.end() && it->second.expires > clock_.now()) {
      return;
    }
    if (!in_flight_.insert(user_id).second) return;
  }
  if (!lane_.post(std::hash<std::string>{}(user_id), [this, user_id] { lookup(user_id); })) {
    std::lock_guard lock(mutex_);
    in_flight_.erase(user_id);
  }
}

std::optional<infra::NameDirectory::Names> UserDirectory::cached(const std::string& user_id) {
  std::lock_guard lock(mutex_);
  auto it = cache_.find(user_id);
  if (it == cache_.end() || !it->second.user) return std::nullopt;
  return Names{it->second.user->name, it->second.user->real_name};
}

void UserDirectory::remember(const slack::UserInfo& user) {
  if (user.id.empty()) return;
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  if (cache_.size() >= kMaxEntries) cache_.clear();
  cache_[user.id] = Entry{user, now + ttl_};
}

void UserDirectory::lookup(const std::string& user_id) {
  const auto now = clock_.now();
  auto info = web_.user_info(user_id);
  Entry entry;
  if (info) {
    entry.user = std::move(info).value();
    entry.expires = now + ttl_;
  } else {
    logger_->warn("users.info {} failed ({}); using the Slack user name", user_id,
                  info.error().detail.empty() ? info.error().user_message : info.error().detail);
    entry.expires = now + kFailureTtl;
  }
  std::lock_guard lock(mutex_);
  in_flight_.erase(user_id);
  if (cache_.size() >= kMaxEntries) cache_.clear();
  cache_[user_id] = std::move(entry);
}

}  // namespace slack_front
