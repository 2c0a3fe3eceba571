#include "infra/lambda_backend.hpp"

#include <chrono>
#include <utility>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "core/strings.hpp"

namespace infra {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(Writer& writer, std::string_view key, std::string_view value) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// "request_id" and "requested_by" (design §4), on every call.
void write_context(Writer& writer, const RequestContext& context) {
  write_string(writer, "request_id", context.request_id);
  writer.Key("requested_by");
  writer.StartObject();
  const auto& who = context.requested_by;
  write_string(writer, "user_id", who.user_id);
  write_string(writer, "user_name", who.user_name);
  write_string(writer, "team_id", who.team_id);
  write_string(writer, "channel_id", who.channel_id);
  writer.EndObject();
}

std::string finish(rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string orchestrator_payload(std::string_view action, std::string_view environment,
                                 std::optional<TeardownLevel> level, const RequestContext& context,
                                 const std::optional<std::string>& instance_name = std::nullopt) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  write_string(writer, "action", action);
  write_string(writer, "environment", environment);
  if (level) write_string(writer, "level", to_string(*level));
  if (instance_name) write_string(writer, "name", *instance_name);
  write_context(writer, context);
  write_string(writer, "source", "slack");
  writer.EndObject();
  return finish(buffer);
}

// remove, list and refresh; add has its own fields.
std::string whitelist_payload(std::string_view action, const std::string* cidr,
                              std::string_view environment, const RequestContext& context) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  write_string(writer, "action", action);
  if (cidr != nullptr) write_string(writer, "cidr", *cidr);
  write_string(writer, "environment", environment);
  write_context(writer, context);
  writer.EndObject();
  return finish(buffer);
}

std::string whitelist_add_payload(const WhitelistAdd& command, const RequestContext& context) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  write_string(writer, "action", "add");
  write_string(writer, "cidr", command.cidr.text);
  writer.Key("ttl_seconds");
  writer.Int64(command.ttl.count());
  // Only when given: renewing an entry without --description keeps the old
  // one (the Lambda reads a missing description as "unchanged"/empty).
  if (command.description) write_string(writer, "description", *command.description);
  write_string(writer, "environment", command.env);
  write_context(writer, context);
  writer.EndObject();
  return finish(buffer);
}

std::string string_or(const rapidjson::Value& object, std::string_view key,
                      std::string_view fallback = {}) {
  return std::string(core::json::get_string(object, key).value_or(fallback));
}

WhitelistEntry parse_entry(const rapidjson::Value& object) {
  WhitelistEntry entry;
  entry.cidr = string_or(object, "cidr");
  entry.description = string_or(object, "description");
  entry.added_by = string_or(object, "added_by");
  // Missing or unreadable expiry: shown as "never" rather than guessed.
  if (auto text = core::json::get_string(object, "expires_at")) {
    entry.expires_at = core::parse_rfc3339(*text);
  }
  return entry;
}

// Which Lambda a call goes to, for messages and logs.
struct Target {
  const aws::FunctionRef& function;
  std::string_view role;  ///< "orchestrator" / "IP whitelist Lambda"
  std::chrono::seconds timeout;
};

core::Error no_whitelist_lambda() {
  return core::make_error(core::ErrorCode::config,
                          "IP whitelist commands are not set up for this bot: it has no IP "
                          "whitelist Lambda (an operator sets IP_WHITELIST_LAMBDA_ARN).",
                          "whitelist command without IP_WHITELIST_LAMBDA_ARN");
}

}  // namespace

LambdaBackend::LambdaBackend(LambdaBackendSettings settings, aws::LambdaClient& lambda,
                             const core::Clock& clock, core::LoggerPtr logger)
    : settings_(std::move(settings)), lambda_(lambda), clock_(clock), logger_(std::move(logger)) {}

namespace {

// One invocation: the response document when the Lambda answered
// {"ok": true, …} (or without "ok"), else an Error for the user.
core::Result<rapidjson::Document> call(aws::LambdaClient& lambda, const core::Clock& clock,
                                       const core::LoggerPtr& logger, const Target& target,
                                       std::string_view action, std::string_view environment,
                                       const RequestContext& context, std::string payload,
                                       aws::Idempotency idempotency) {
  const auto started = clock.now();
  const bool mutating = idempotency == aws::Idempotency::mutating;
  auto log = [&](std::string_view outcome, const core::Error* error) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - started).count();
    if (error == nullptr) {
      logger->info(
          "lambda call: request_id={} user={} function={} action={} environment={} outcome={} "
          "duration_ms={}",
          context.request_id, context.requested_by.user_id, target.function.invoke_name(), action,
          environment, outcome, elapsed);
    } else {
      // info, not warn: the client has already warned about the failure,
      // and this is the per-call record.
      logger->info(
          "lambda call: request_id={} user={} function={} action={} environment={} outcome={} "
          "code={} detail={} duration_ms={}",
          context.request_id, context.requested_by.user_id, target.function.invoke_name(), action,
          environment, outcome, core::to_string(error->code),
          error->detail.empty() ? error->user_message : error->detail, elapsed);
    }
  };
  auto fail = [&](std::string_view outcome,
                  core::Error error) -> core::Result<rapidjson::Document> {
    log(outcome, &error);
    return error;
  };
  // After a mutating call that ran and failed, part of it may have happened.
  const std::string check_hint =
      mutating ? fmt::format(" Check `/infra status {}` to see what changed.", environment) : "";

  aws::InvokeRequest request{target.function, std::move(payload),
                             aws::InvocationType::request_response, idempotency, target.timeout};
  auto outcome = lambda.invoke(request);
  if (!outcome) return fail("invoke_error", outcome.error());

  if (const auto* failed = std::get_if<aws::FunctionError>(&*outcome)) {
    std::string reason = failed->error_message;
    if (reason.empty()) reason = failed->error_type;
    if (reason.empty()) reason = "unknown error";
    std::string user =
        fmt::format("The {} failed: {}", target.role, core::utf8_truncate(reason, 500));
    if (!user.ends_with('.')) user += '.';
    return fail("function_error",
                core::make_error(
                    core::ErrorCode::unavailable, user + check_hint,
                    fmt::format("function error from {}: kind={} type={} message=\"{}\"",
                                target.function.invoke_name(), failed->kind, failed->error_type,
                                core::utf8_truncate(failed->error_message, 500))));
  }

  const auto& success = std::get<aws::InvokeSuccess>(*outcome);
  auto document = core::json::parse(success.payload);
  if (!document || !document->IsObject()) {
    return fail("malformed_response",
                core::make_error(core::ErrorCode::internal,
                                 fmt::format("The {} sent an answer infra-bot could not read.{}",
                                             target.role, check_hint),
                                 fmt::format("response of {} is not a JSON object: {} ({} bytes)",
                                             target.function.invoke_name(),
                                             document ? "wrong type" : document.error().detail,
                                             success.payload.size())));
  }
  if (core::json::get_bool(*document, "ok") == false) {
    std::string reason = string_or(*document, "error");
    if (reason.empty()) reason = string_or(*document, "message");
    if (reason.empty())
      reason = fmt::format("The {} reported a failure without a reason.", target.role);
    return fail("not_ok", core::make_error(
                              core::ErrorCode::unavailable, reason,
                              fmt::format("{} answered ok=false: {}", target.function.invoke_name(),
                                          core::utf8_truncate(reason, 500))));
  }
  log("ok", nullptr);
  return std::move(document).value();
}

}  // namespace

core::Result<EnvironmentStatus> LambdaBackend::status(std::string_view environment,
                                                      const RequestContext& context) {
  const Target target{settings_.orchestrator, "orchestrator", settings_.orchestrator_timeout};
  auto document = call(lambda_, clock_, logger_, target, "status", environment, context,
                       orchestrator_payload("status", environment, std::nullopt, context),
                       aws::Idempotency::read_only);
  if (!document) return document.error();
  const auto& body = *document;

  EnvironmentStatus status;
  status.environment = string_or(body, "environment", environment);
  if (const auto* services = core::json::get_array(body, "ecs_services")) {
    for (const auto& item : services->GetArray()) {
      if (!item.IsObject()) continue;
      status.ecs_services.push_back(EcsService{string_or(item, "name"), string_or(item, "status"),
                                               core::json::get_int(item, "desired_count"),
                                               core::json::get_int(item, "running_count")});
    }
  }
  if (const auto* instances = core::json::get_array(body, "rds_instances")) {
    for (const auto& item : instances->GetArray()) {
      if (!item.IsObject()) continue;
      status.rds_instances.push_back(
          RdsInstance{string_or(item, "identifier"), string_or(item, "status")});
    }
  }
  // Beyond the seed's contract (infra-bot's own `lambda` sends them): read
  // when present, like every other field.
  if (const auto* clusters = core::json::get_array(body, "rds_clusters")) {
    for (const auto& item : clusters->GetArray()) {
      if (!item.IsObject()) continue;
      status.rds_clusters.push_back(RdsCluster{
          string_or(item, "identifier"), string_or(item, "status"), string_or(item, "engine")});
    }
  }
  if (const auto* instances = core::json::get_array(body, "ec2_instances")) {
    for (const auto& item : instances->GetArray()) {
      if (!item.IsObject()) continue;
      Ec2Instance instance{string_or(item, "id"), string_or(item, "name"), string_or(item, "state"),
                           string_or(item, "availability_zone"), std::nullopt};
      if (auto text = core::json::get_string(item, "launch_time")) {
        instance.launch_time = core::parse_rfc3339(*text);
      }
      status.ec2_instances.push_back(std::move(instance));
    }
  }
  if (const auto* problems = core::json::get_array(body, "problems")) {
    for (const auto& item : problems->GetArray()) {
      if (item.IsString()) status.problems.emplace_back(item.GetString(), item.GetStringLength());
    }
  }
  return status;
}

core::Result<ActionResult> LambdaBackend::run(const LifecycleRequest& request,
                                              const RequestContext& context) {
  const Target target{settings_.orchestrator, "orchestrator", settings_.orchestrator_timeout};
  const auto action = to_string(request.action);
  // "level" only for teardown (design §4); services when unset.
  std::optional<TeardownLevel> level;
  if (request.action == LifecycleAction::teardown) {
    level = request.level.value_or(TeardownLevel::services);
  }
  auto document =
      call(lambda_, clock_, logger_, target, action, request.environment, context,
           orchestrator_payload(action, request.environment, level, context, request.instance_name),
           aws::Idempotency::mutating);
  if (!document) return document.error();
  const auto& body = *document;

  ActionResult result;
  result.action = request.action;
  result.environment = string_or(body, "environment", request.environment);
  result.message = string_or(body, "message");
  if (const auto* details = core::json::get_object(body, "details")) {
    for (const auto& member : details->GetObject()) {
      if (!member.value.IsInt64()) continue;  // counters only
      result.details.emplace_back(
          std::string(member.name.GetString(), member.name.GetStringLength()),
          member.value.GetInt64());
    }
  }
  if (const auto* notes = core::json::get_array(body, "notes")) {
    for (const auto& item : notes->GetArray()) {
      if (item.IsString()) result.notes.emplace_back(item.GetString(), item.GetStringLength());
    }
  }
  return result;
}

core::Result<WhitelistAdded> LambdaBackend::whitelist_add(const WhitelistAdd& command,
                                                          const RequestContext& context) {
  if (!settings_.whitelist) return no_whitelist_lambda();
  const Target target{*settings_.whitelist, "IP whitelist Lambda", settings_.whitelist_timeout};
  const auto now = clock_.now();
  auto document = call(lambda_, clock_, logger_, target, "add", command.env, context,
                       whitelist_add_payload(command, context), aws::Idempotency::mutating);
  if (!document) return document.error();
  const auto& body = *document;

  // The entry as the Lambda reports it (under "entry" or at the top level);
  // what it leaves out is what we asked for.
  const auto* reported = core::json::get_object(body, "entry");
  WhitelistEntry entry = parse_entry(reported != nullptr ? *reported : body);
  if (entry.cidr.empty()) entry.cidr = command.cidr.text;
  if (entry.description.empty()) entry.description = command.description.value_or("");
  if (entry.added_by.empty()) {
    const auto& who = context.requested_by;
    entry.added_by = who.user_name.empty() ? who.user_id : who.user_name;
  }
  if (!entry.expires_at) entry.expires_at = now + command.ttl;

  WhitelistAdded added;
  added.environment = string_or(body, "environment", command.env);
  added.entry = std::move(entry);
  added.replaced = core::json::get_bool(body, "replaced").value_or(false);
  return added;
}

core::Result<WhitelistRemoved> LambdaBackend::whitelist_remove(const WhitelistRemove& command,
                                                               const RequestContext& context) {
  if (!settings_.whitelist) return no_whitelist_lambda();
  const Target target{*settings_.whitelist, "IP whitelist Lambda", settings_.whitelist_timeout};
  auto document = call(lambda_, clock_, logger_, target, "remove", command.env, context,
                       whitelist_payload("remove", &command.cidr.text, command.env, context),
                       aws::Idempotency::mutating);
  if (!document) return document.error();
  return WhitelistRemoved{string_or(*document, "environment", command.env),
                          string_or(*document, "cidr", command.cidr.text)};
}

core::Result<WhitelistListing> LambdaBackend::whitelist_list(std::string_view environment,
                                                             const RequestContext& context) {
  if (!settings_.whitelist) return no_whitelist_lambda();
  const Target target{*settings_.whitelist, "IP whitelist Lambda", settings_.whitelist_timeout};
  auto document =
      call(lambda_, clock_, logger_, target, "list", environment, context,
           whitelist_payload("list", nullptr, environment, context), aws::Idempotency::read_only);
  if (!document) return document.error();
  WhitelistListing listing;
  listing.environment = string_or(*document, "environment", environment);
  if (const auto* entries = core::json::get_array(*document, "entries")) {
    for (const auto& item : entries->GetArray()) {
      if (item.IsObject()) listing.entries.push_back(parse_entry(item));
    }
  }
  return listing;
}

core::Result<WhitelistRefreshed> LambdaBackend::whitelist_refresh(std::string_view environment,
                                                                  const RequestContext& context) {
  if (!settings_.whitelist) return no_whitelist_lambda();
  const Target target{*settings_.whitelist, "IP whitelist Lambda", settings_.whitelist_timeout};
  auto document =
      call(lambda_, clock_, logger_, target, "refresh", environment, context,
           whitelist_payload("refresh", nullptr, environment, context), aws::Idempotency::mutating);
  if (!document) return document.error();
  WhitelistRefreshed refreshed;
  refreshed.environment = string_or(*document, "environment", environment);
  if (const auto* groups = core::json::get_array(*document, "security_groups")) {
    for (const auto& group : groups->GetArray()) {
      if (group.IsString()) refreshed.security_groups.emplace_back(group.GetString());
    }
  }
  refreshed.rules_added = core::json::get_int(*document, "rules_added").value_or(0);
  refreshed.rules_removed = core::json::get_int(*document, "rules_removed").value_or(0);
  // Beyond the seed's contract (infra-bot's own `lambda` sends it).
  if (const auto* expired = core::json::get_array(*document, "expired")) {
    for (const auto& item : expired->GetArray()) {
      if (item.IsObject()) refreshed.expired.push_back(parse_entry(item));
    }
  }
  return refreshed;
}

}  // namespace infra
