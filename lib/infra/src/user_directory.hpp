#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "infra/command.hpp"
#include "slack/web_api.hpp"

namespace infra {

/// Slack user ids to the names the Lambdas record as requested_by.user_name:
/// users.info's real name, cached (the manifest's users:read scope). When
/// Slack cannot say, the name the payload carried is used, and the failure is
/// remembered for a while so a missing scope does not cost a call per command.
class UserDirectory {
 public:
  UserDirectory(slack::WebApi& web, const core::Clock& clock, std::chrono::minutes ttl,
                core::LoggerPtr logger);

  /// users.info of `user_id`, from the cache or Slack (blocks: call it on a
  /// worker); nullopt when Slack cannot say.
  std::optional<slack::UserInfo> lookup(const std::string& user_id);

  /// The name for requested_by.user_name: the real name, else the Slack
  /// handle, else the payload's user name, else the id.
  static std::string display_name(const std::optional<slack::UserInfo>& user, const Requester& who);

 private:
  struct Entry {
    std::optional<slack::UserInfo> user;  ///< nullopt: the lookup failed
    core::TimePoint expires;
  };

  slack::WebApi& web_;
  const core::Clock& clock_;
  std::chrono::minutes ttl_;
  core::LoggerPtr logger_;
  std::mutex mutex_;
  std::map<std::string, Entry> cache_;
};

}  // namespace infra
