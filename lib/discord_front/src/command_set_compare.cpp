// same_commands (command_set.hpp): Discord's registered command list against the
// desired one, the comparison `register discord` decides a PUT by and `doctor`
// reports. What Discord adds on its own (ids, versions, localizations,
// defaults) is no change; whatever register sends that differs, is.
#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/json.hpp"
#include "discord_front/command_set.hpp"

namespace discord_front {
namespace {

using core::json::is_default_value;
using core::json::same_scalar;

// A Discord command or option with only what is compared: everything Discord sends back
// except the fields it adds itself; defaults (false, null, []) dropped on both sides.
void strip(rapidjson::Value& value) {
  if (value.IsArray()) {
    for (auto& item : value.GetArray()) strip(item);
    return;
  }
  if (!value.IsObject()) return;
  static constexpr std::string_view kServerFields[] = {"id",
                                                       "application_id",
                                                       "version",
                                                       "guild_id",
                                                       "name_localized",
                                                       "description_localized",
                                                       "name_localizations",
                                                       "description_localizations"};
  for (auto it = value.MemberBegin(); it != value.MemberEnd();) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    const bool server = std::find(std::begin(kServerFields), std::end(kServerFields), name) !=
                        std::end(kServerFields);
    if (server || is_default_value(it->value)) {
      it = value.EraseMember(it);
    } else {
      strip(it->value);
      ++it;
    }
  }
}

// The reverse direction of core::json::is_subset() for what Discord echoes only when it was sent:
// an option, a choice or a limit still registered but no longer wanted is a change. Fields Discord
// adds on its own (dm_permission, integration_types, contexts, nsfw, …) are not looked at.
bool echoed_subset(const rapidjson::Value& actual, const rapidjson::Value& desired) {
  static constexpr std::string_view kEchoed[] = {"name",
                                                 "description",
                                                 "options",
                                                 "choices",
                                                 "required",
                                                 "value",
                                                 "min_value",
                                                 "max_value",
                                                 "min_length",
                                                 "max_length",
                                                 "autocomplete",
                                                 "channel_types",
                                                 "default_member_permissions"};
  if (actual.IsArray()) {
    if (!desired.IsArray() || actual.Size() != desired.Size()) return false;
    for (rapidjson::SizeType i = 0; i < actual.Size(); ++i) {
      if (!echoed_subset(actual[i], desired[i])) return false;
    }
    return true;
  }
  if (!actual.IsObject())
    return true;  // the values themselves were compared by core::json::is_subset()
  if (!desired.IsObject()) return false;
  for (const auto& member : actual.GetObject()) {
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (std::find(std::begin(kEchoed), std::end(kEchoed), name) == std::end(kEchoed)) continue;
    const auto it = desired.FindMember(member.name);
    if (it == desired.MemberEnd()) return false;  // defaults were stripped from both sides
    if (!echoed_subset(member.value, it->value)) return false;
  }
  return true;
}

std::string command_key(const rapidjson::Value& command) {
  const auto type = command.IsObject() ? core::json::get_int(command, "type").value_or(1) : 1;
  return fmt::format("{}:{}",
                     command.IsObject() ? core::json::get_string(command, "name").value_or("") : "",
                     type);
}

}  // namespace

bool same_commands(std::string_view desired_json, std::string_view actual_json) {
  auto desired = core::json::parse(desired_json);
  auto actual = core::json::parse(actual_json);
  if (!desired || !actual || !desired->IsArray() || !actual->IsArray()) return false;
  if (desired->Size() != actual->Size()) return false;
  strip(*desired);
  strip(*actual);
  for (const auto& want : desired->GetArray()) {
    const auto key = command_key(want);
    const auto have = std::find_if(actual->Begin(), actual->End(),
                                   [&](const auto& c) { return command_key(c) == key; });
    if (have == actual->End()) return false;
    // Both ways: a field only Discord still has (an old option, a description) is a change.
    rapidjson::Document a;
    a.CopyFrom(want, a.GetAllocator());
    rapidjson::Document b;
    b.CopyFrom(*have, b.GetAllocator());
    a.RemoveMember("type");
    b.RemoveMember("type");
    if (!core::json::is_subset(a, b) || !echoed_subset(b, a)) return false;
  }
  return true;
}

}  // namespace discord_front
