#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/strand_pool.hpp"
#include "infra/conversation.hpp"
#include "slack/web_api.hpp"

namespace slack_front {

/// Slack user ids to names (users.info, the manifest's users:read scope),
/// cached. Lookups run on their own lane and never delay a job: until a name
/// arrives the core uses what the request carried, or the id. A failed lookup
/// is remembered for a while so a missing scope does not cost a call per
/// command.
class UserDirectory final : public infra::NameDirectory {
 public:
  /// `lane` runs the users.info calls; it must outlive the directory's use.
  UserDirectory(slack::WebApi& web, const core::Clock& clock, std::chrono::minutes ttl,
                core::StrandPool& lane, core::LoggerPtr logger);

  void prefetch(const std::string& user_id) override;
  std::optional<Names> cached(const std::string& user_id) override;
  /// Keeps a users.info answer another part fetched (the workspace gate).
  void remember(const slack::UserInfo& user);

 private:
  struct Entry {
    std::optional<slack::UserInfo> user;  ///< nullopt: the lookup failed
    core::TimePoint expires;
  };
  void lookup(const std::string& user_id);

  slack::WebApi& web_;
  const core::Clock& clock_;
  std::chrono::minutes ttl_;
  core::StrandPool& lane_;
  core::LoggerPtr logger_;
  std::mutex mutex_;
  std::map<std::string, Entry> cache_;
  std::set<std::string> in_flight_;
};

}  // namespace slack_front
