// A teardown's typed confirmation (both levels): the modal, its metadata, the
// button a mention gets instead, and the replies around it.
#include "infra/views.hpp"

#include <string>
#include <utility>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "views_format.hpp"

namespace infra::views {

using namespace detail;

namespace {

using core::reply::Section;
using core::reply::TextInput;
using core::reply::Visibility;

core::Error metadata_error(std::string detail) {
  return core::make_error(core::ErrorCode::invalid_input,
                          "This teardown confirmation could not be read. Run `/infra teardown "
                          "<env>` again.",
                          std::move(detail));
}

}  // namespace

std::string teardown_metadata_json(const TeardownConfirmation& confirmation) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto write = [&writer](std::string_view key, std::string_view value) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  writer.StartObject();
  write("channel", confirmation.channel_id);
  write("env", confirmation.environment);
  write("level", to_string(confirmation.level));
  write("response_url", confirmation.response_url);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

namespace {

// "A full teardown of dev", "A teardown of the dev services".
std::string teardown_of(const TeardownConfirmation& confirmation, std::string_view env) {
  return confirmation.level == TeardownLevel::full
             ? fmt::format("A full teardown of {}", env)
             : fmt::format("A teardown of the {} services", env);
}

}  // namespace

Message render_teardown_prompt(const TeardownConfirmation& confirmation) {
  const std::string& env = confirmation.environment;
  return message(
      fmt::format("{} needs a typed confirmation.", teardown_of(confirmation, env)),
      {
          Section{"",
                  {fmt::format(":warning: {} needs a typed confirmation.",
                               teardown_of(confirmation, fmt::format("`{}`", env)))}},
          core::reply::Actions{{core::reply::Button{fmt::format("Confirm teardown of {}…", env),
                                                    std::string(kOpenTeardownActionId),
                                                    teardown_metadata_json(confirmation), true}}},
      },
      Visibility::ephemeral);
}

Modal render_teardown_modal(const TeardownConfirmation& confirmation) {
  const std::string& env = confirmation.environment;
  Section warning;
  if (confirmation.level == TeardownLevel::full) {
    warning.title = ":warning: Full teardown of " + upper_env(env);
    warning.lines = {
        "This will destroy:",
        "• All ECS services and tasks",
        "• RDS instances (data preserved in snapshots)",
        "• NAT Gateways",
        "• Load Balancers",
        "Critical resources (VPC, S3, Secrets, IAM) will be preserved.",
        fmt::format("`/infra spinup {}` rebuilds it afterwards.", env),
    };
  } else {
    // What --level=services does: the running services go down, nothing
    // holding data is deleted. `full` is the level that deletes.
    warning.title = ":warning: Teardown of the " + upper_env(env) + " services";
    warning.lines = {
        fmt::format("This takes down the running services of `{}`:", env),
        "• the ECS services are stopped (scaled to zero)",
        "• the RDS instances are stopped; their data is kept",
        "Kept: the databases' data, load balancers, networking, the VPC, S3 buckets, Secrets "
        "Manager secrets and IAM roles.",
        fmt::format("Anyone using `{}` loses it until `/infra start {}` or `/infra spinup {}` "
                    "brings the services back.",
                    env, env, env),
        "`--level=full` is the teardown that deletes everything that costs money.",
    };
  }

  Modal modal;
  modal.callback_id = std::string(kTeardownCallbackId);
  modal.title = "Confirm Teardown";
  modal.submit = "Confirm Teardown";
  modal.close = "Cancel";
  modal.private_metadata = teardown_metadata_json(confirmation);
  modal.blocks = {std::move(warning)};
  // A plain-text label (no backticks), and a placeholder that is not the
  // answer: a field showing "dev" looks filled in already.
  modal.input = TextInput{std::string(kTeardownBlockId), std::string(kTeardownActionId),
                          fmt::format("Type '{}' to confirm", env), "Environment name"};
  return modal;
}

core::Result<TeardownConfirmation> parse_teardown_metadata(std::string_view private_metadata) {
  auto document = core::json::parse(private_metadata);
  if (!document) return metadata_error("private_metadata: " + document.error().detail);
  if (!document->IsObject()) return metadata_error("private_metadata is not a JSON object");

  TeardownConfirmation out;
  const auto env = core::json::get_string(*document, "env");
  if (!env || env->empty()) return metadata_error("private_metadata: missing or empty env");
  out.environment = std::string(*env);

  const auto level = core::json::get_string(*document, "level");
  if (level && *level == "full") {
    out.level = TeardownLevel::full;
  } else if (level && *level == "services") {
    out.level = TeardownLevel::services;
  } else {
    return metadata_error("private_metadata: missing or unknown level");
  }

  // channel and response_url may be empty (a console or a shortcut has none),
  // but when present they must be strings.
  auto optional_string = [&](std::string_view key, std::string& target) -> bool {
    if (!document->HasMember(rapidjson::StringRef(key.data(), key.size()))) return true;
    const auto value = core::json::get_string(*document, key);
    if (!value) return false;
    target = std::string(*value);
    return true;
  };
  if (!optional_string("channel", out.channel_id)) {
    return metadata_error("private_metadata: channel is not a string");
  }
  if (!optional_string("response_url", out.response_url)) {
    return metadata_error("private_metadata: response_url is not a string");
  }
  return out;
}

std::string teardown_mismatch_text(std::string_view environment) {
  return fmt::format("Type `{}` exactly to confirm the teardown.", environment);
}

Message render_teardown_cancelled(std::string_view environment) {
  return notice(
      fmt::format(":information_source: Teardown of `{}` cancelled.", or_unknown(environment)));
}

}  // namespace infra::views
