// INTERACTION_CREATE's `d` as a typed value (../shared/notes/discord.md §3.1–3.2).
// Everything arriving here is untrusted: each field is checked for its JSON type,
// and an error's detail names the field, never a value (the token is a secret).
#include "discord/interaction.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/error.hpp"
#include "core/json.hpp"

namespace discord {
namespace {

using core::json::get_array;
using core::json::get_int;
using core::json::get_object;
using core::json::get_string;

// Discord nests command → group → subcommand → value: anything deeper is not
// an interaction, and bounding it keeps the recursion below shallow.
constexpr int kMaxOptionDepth = 3;

core::Error malformed(std::string detail) {
  return core::make_error(core::ErrorCode::invalid_input, "That Discord interaction is malformed.",
                          "discord interaction: " + std::move(detail));
}

std::string string_or_empty(const rapidjson::Value& object, std::string_view key) {
  return std::string(get_string(object, key).value_or(""));
}

// An option value as text: strings as given; integers, numbers and booleans as
// JSON prints them ("7", "2.5", "true"), so the grammar reads what was chosen.
std::optional<std::string> value_text(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsBool()) return std::string(value.GetBool() ? "true" : "false");
  if (value.IsNumber()) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    return std::string(buffer.GetString(), buffer.GetSize());
  }
  return std::nullopt;
}

core::Result<std::vector<CommandOption>> parse_options(const rapidjson::Value& array, int depth) {
  if (depth > kMaxOptionDepth) return malformed("options nested too deeply");
  std::vector<CommandOption> out;
  out.reserve(array.Size());
  for (const auto& item : array.GetArray()) {
    if (!item.IsObject()) return malformed("an option is not an object");
    CommandOption option;
    const auto name = get_string(item, "name");
    const auto type = get_int(item, "type");
    if (!name || !type) return malformed("an option without name or type");
    option.name = std::string(*name);
    option.type = static_cast<int>(*type);
    if (const auto member = item.FindMember("value"); member != item.MemberEnd()) {
      option.value = value_text(member->value);
      if (!option.value) return malformed("an option value is not a string, number or boolean");
    }
    if (const rapidjson::Value* nested = get_array(item, "options")) {
      auto children = parse_options(*nested, depth + 1);
      if (!children) return children.error();
      option.options = std::move(*children);
    }
    out.push_back(std::move(option));
  }
  return out;
}

// A text input's (or a select's) submitted value into `values`.
void read_input(const rapidjson::Value& component, std::map<std::string, std::string>& values) {
  if (!component.IsObject()) return;
  const auto custom_id = get_string(component, "custom_id");
  if (!custom_id) return;
  if (const auto value = get_string(component, "value")) {
    values[std::string(*custom_id)] = std::string(*value);
  } else if (const rapidjson::Value* selected = get_array(component, "values")) {
    std::string joined;
    for (const auto& v : selected->GetArray()) {
      if (!v.IsString()) continue;
      if (!joined.empty()) joined += ',';
      joined.append(v.GetString(), v.GetStringLength());
    }
    values[std::string(*custom_id)] = std::move(joined);
  }
}

// Both modal forms (§3.2): Label (type 18) holding one component, and the
// deprecated Action Row (type 1) holding text inputs.
std::map<std::string, std::string> modal_values(const rapidjson::Value& components) {
  std::map<std::string, std::string> values;
  for (const auto& top : components.GetArray()) {
    if (!top.IsObject()) continue;
    const auto type = get_int(top, "type").value_or(0);
    if (type == 18) {
      if (const rapidjson::Value* inner = get_object(top, "component")) read_input(*inner, values);
    } else if (type == 1) {
      if (const rapidjson::Value* row = get_array(top, "components")) {
        for (const auto& inner : row->GetArray()) read_input(inner, values);
      }
    } else {
      read_input(top, values);
    }
  }
  return values;
}

core::Result<Interaction> parse_document(const rapidjson::Value& d) {
  if (!d.IsObject()) return malformed("not a JSON object");
  Interaction out;
  const auto id = get_string(d, "id");
  const auto type = get_int(d, "type");
  const auto token = get_string(d, "token");
  if (!id || id->empty()) return malformed("missing id");
  if (!type || *type < 1 || *type > 5) return malformed("missing or unknown type");
  if (!token || token->empty()) return malformed("missing token");
  out.id = std::string(*id);
  out.type = static_cast<InteractionType>(*type);
  out.token = std::string(*token);
  out.application_id = string_or_empty(d, "application_id");
  out.guild_id = string_or_empty(d, "guild_id");
  out.channel_id = string_or_empty(d, "channel_id");
  if (out.channel_id.empty()) {
    if (const rapidjson::Value* channel = get_object(d, "channel")) {
      out.channel_id = string_or_empty(*channel, "id");
    }
  }

  // In a guild the user is member.user; in a DM it is user (exactly one is sent).
  const rapidjson::Value* user = nullptr;
  if (const rapidjson::Value* member = get_object(d, "member")) {
    user = get_object(*member, "user");
    if (const rapidjson::Value* roles = get_array(*member, "roles")) {
      for (const auto& role : roles->GetArray()) {
        if (role.IsString()) out.roles.emplace_back(role.GetString(), role.GetStringLength());
      }
    }
  }
  if (user == nullptr) user = get_object(d, "user");
  if (out.type != InteractionType::ping) {
    if (user == nullptr) return malformed("no member.user or user");
    out.user_id = string_or_empty(*user, "id");
    if (out.user_id.empty()) return malformed("user without id");
    out.user_name = string_or_empty(*user, "global_name");
    if (out.user_name.empty()) out.user_name = string_or_empty(*user, "username");
  }
  if (const rapidjson::Value* message = get_object(d, "message")) {
    out.message_id = string_or_empty(*message, "id");
  }
  if (out.type == InteractionType::ping) return out;

  const rapidjson::Value* data = get_object(d, "data");
  if (data == nullptr) return malformed("missing data");
  switch (out.type) {
    case InteractionType::application_command:
    case InteractionType::autocomplete: {
      const auto name = get_string(*data, "name");
      if (!name || name->empty()) return malformed("command without name");
      out.command_name = std::string(*name);
      if (const rapidjson::Value* options = get_array(*data, "options")) {
        auto parsed = parse_options(*options, 1);
        if (!parsed) return parsed.error();
        out.options = std::move(*parsed);
      }
      break;
    }
    case InteractionType::message_component: {
      const auto custom_id = get_string(*data, "custom_id");
      const auto component_type = get_int(*data, "component_type");
      if (!custom_id || !component_type) return malformed("component without custom_id or type");
      out.custom_id = std::string(*custom_id);
      out.component_type = static_cast<int>(*component_type);
      break;
    }
    case InteractionType::modal_submit: {
      const auto custom_id = get_string(*data, "custom_id");
      const rapidjson::Value* components = get_array(*data, "components");
      if (!custom_id || components == nullptr) return malformed("modal without custom_id");
      out.custom_id = std::string(*custom_id);
      out.modal_values = modal_values(*components);
      break;
    }
    case InteractionType::ping:
      break;
  }
  return out;
}

}  // namespace

core::Result<Interaction> parse_interaction(std::string_view json) {
  auto document = core::json::parse(json);
  if (!document) return malformed("not JSON");
  return parse_document(*document);
}

}  // namespace discord
