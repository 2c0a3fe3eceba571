#include "user_directory.hpp"

#include <utility>

namespace infra {
namespace {
// A failed lookup is retried after this long, not on every command.
constexpr std::chrono::minutes kFailureTtl{5};
// The cache stays small: ids beyond this are looked up again.
constexpr std::size_t kMaxEntries = 10000;
}  // namespace

UserDirectory::UserDirectory(slack::WebApi& web, const core::Clock& clock, std::chrono::minutes ttl,
                             core::LoggerPtr logger)
    : web_(web), clock_(clock), ttl_(ttl), logger_(std::move(logger)) {}

std::optional<slack::UserInfo> UserDirectory::lookup(const std::string& user_id) {
  if (user_id.empty()) return std::nullopt;
  const auto now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(user_id); it != cache_.end() && it->second.expires > now) {
      return it->second.user;
    }
  }
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
  auto user = entry.user;
  std::lock_guard lock(mutex_);
  if (cache_.size() >= kMaxEntries) cache_.clear();
  cache_[user_id] = std::move(entry);
  return user;
}

std::string UserDirectory::display_name(const std::optional<slack::UserInfo>& user,
                                        const Requester& who) {
  if (user && !user->real_name.empty()) return user->real_name;
  if (user && !user->name.empty()) return user->name;
  if (!who.user_name.empty()) return who.user_name;
  return who.user_id;
}

}  // namespace infra
