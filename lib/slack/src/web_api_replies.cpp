#include "web_api_replies.hpp"

#include "core/json.hpp"

namespace slack::detail {
namespace {

std::string text_of(const rapidjson::Value* object, std::string_view key) {
  if (object == nullptr) return {};
  return std::string(core::json::get_string(*object, key).value_or(""));
}

bool flag_of(const rapidjson::Value& object, std::string_view key) {
  return core::json::get_bool(object, key).value_or(false);
}

}  // namespace

UserInfo parse_user_info(std::string_view reply) {
  UserInfo info;
  auto document = core::json::parse(reply);
  const auto* user = document ? core::json::get_object(*document, "user") : nullptr;
  if (user == nullptr) return info;
  info.id = text_of(user, "id");
  info.name = text_of(user, "name");
  info.real_name = text_of(core::json::get_object(*user, "profile"), "real_name");
  if (info.real_name.empty()) info.real_name = text_of(user, "real_name");
  info.team_id = text_of(user, "team_id");
  info.is_bot = flag_of(*user, "is_bot") || flag_of(*user, "is_app_user");
  info.deleted = flag_of(*user, "deleted");
  info.is_restricted = flag_of(*user, "is_restricted");
  info.is_ultra_restricted = flag_of(*user, "is_ultra_restricted");
  info.is_stranger = flag_of(*user, "is_stranger");
  return info;
}

core::Result<AuthIdentity> parse_auth_test(std::string_view reply,
                                           const std::optional<std::string>& oauth_scopes) {
  AuthIdentity identity;
  if (oauth_scopes) identity.scopes = split_scopes(*oauth_scopes);
  if (auto document = core::json::parse(reply)) {
    const rapidjson::Value* root = &*document;
    identity.team_id = text_of(root, "team_id");
    identity.user_id = text_of(root, "user_id");
    identity.bot_id = text_of(root, "bot_id");
    identity.enterprise_id = text_of(root, "enterprise_id");
    identity.team = text_of(root, "team");
    identity.user = text_of(root, "user");
  }
  if (identity.team_id.empty()) {
    return core::make_error(core::ErrorCode::unavailable,
                            "Slack did not say which workspace the bot token belongs to.",
                            "auth.test: reply without team_id");
  }
  return identity;
}

ConversationInfo parse_conversation_info(std::string_view reply, const std::string& channel) {
  ConversationInfo info;
  info.id = channel;
  auto document = core::json::parse(reply);
  const auto* found = document ? core::json::get_object(*document, "channel") : nullptr;
  if (found == nullptr) return info;
  if (auto id = core::json::get_string(*found, "id")) info.id = std::string(*id);
  info.name = text_of(found, "name");
  info.is_private = flag_of(*found, "is_private");
  info.is_archived = flag_of(*found, "is_archived");
  info.is_member = flag_of(*found, "is_member");
  return info;
}

std::vector<std::string> split_scopes(std::string_view header) {
  std::vector<std::string> scopes;
  while (!header.empty()) {
    const auto comma = header.find(',');
    auto item = header.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) scopes.emplace_back(item);
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return scopes;
}

}  // namespace slack::detail
