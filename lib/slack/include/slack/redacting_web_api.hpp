#pragma once

#include <string>

#include "core/redactor.hpp"
#include "slack/web_api.hpp"

namespace slack {

/// A WebApi whose every outgoing text — messages, ephemeral messages,
/// updates, views, response_url posts — passes the redactor first (issue 15:
/// no secret leaves the process, whatever a Lambda's error text holds). Reads
/// (users.info, auth.test) go through unchanged.
class RedactingWebApi final : public WebApi {
 public:
  /// `inner` must outlive this; `redactor` is a handle sharing the process's secrets.
  RedactingWebApi(WebApi& inner, core::Redactor redactor)
      : inner_(inner), redactor_(std::move(redactor)) {}

  core::Result<std::string> post_message(const std::string& channel,
                                         const std::string& message_json,
                                         const std::string& thread_ts = {}) override {
    return inner_.post_message(channel, redactor_.redact(message_json), thread_ts);
  }
  core::Status post_ephemeral(const std::string& channel, const std::string& user,
                              const std::string& message_json) override {
    return inner_.post_ephemeral(channel, user, redactor_.redact(message_json));
  }
  core::Status update_message(const std::string& channel, const std::string& ts,
                              const std::string& message_json) override {
    return inner_.update_message(channel, ts, redactor_.redact(message_json));
  }
  core::Result<std::string> open_view(const std::string& trigger_id,
                                      const std::string& view_json) override {
    return inner_.open_view(trigger_id, redactor_.redact(view_json));
  }
  core::Status update_view(const std::string& view_id, const std::string& view_json) override {
    return inner_.update_view(view_id, redactor_.redact(view_json));
  }
  core::Result<UserInfo> user_info(const std::string& user_id) override {
    return inner_.user_info(user_id);
  }
  core::Result<AuthIdentity> auth_test() override { return inner_.auth_test(); }
  core::Status respond(const std::string& response_url, const std::string& message_json) override {
    return inner_.respond(response_url, redactor_.redact(message_json));
  }

 private:
  WebApi& inner_;
  core::Redactor redactor_;
};

}  // namespace slack
