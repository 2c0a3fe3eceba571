// The orchestrator's contract (design §4): status, and the lifecycle actions
// (stop, start, teardown, spinup, reboot), protected environments refused here.
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "core/strings.hpp"
#include "lambda_handler_invocation.hpp"
#include "lambda_handler_json.hpp"

namespace infra::lambda_detail {
namespace {

constexpr std::string_view kCompleted = "Operation completed successfully.";

}  // namespace

std::string Invocation::status() {
  auto result = backend_.status(common_.environment, common_.context);
  if (!result) return failed(result.error());
  done();
  const auto& status = *result;
  Answer answer(true);
  Writer& writer = answer.writer();
  member(writer, "environment", answered_environment(status.environment));
  key(writer, "ecs_services");
  writer.StartArray();
  for (const auto& service : status.ecs_services) {
    writer.StartObject();
    member(writer, "name", service.name);
    member(writer, "status", service.status);
    if (service.desired_count) member(writer, "desired_count", *service.desired_count);
    if (service.running_count) member(writer, "running_count", *service.running_count);
    writer.EndObject();
  }
  writer.EndArray();
  key(writer, "rds_instances");
  writer.StartArray();
  for (const auto& instance : status.rds_instances) {
    writer.StartObject();
    member(writer, "identifier", instance.identifier);
    member(writer, "status", instance.status);
    writer.EndObject();
  }
  writer.EndArray();
  key(writer, "rds_clusters");
  writer.StartArray();
  for (const auto& cluster : status.rds_clusters) {
    writer.StartObject();
    member(writer, "identifier", cluster.identifier);
    member(writer, "status", cluster.status);
    member(writer, "engine", cluster.engine);
    writer.EndObject();
  }
  writer.EndArray();
  key(writer, "ec2_instances");
  writer.StartArray();
  for (const auto& instance : status.ec2_instances) {
    writer.StartObject();
    member(writer, "id", instance.id);
    member(writer, "name", instance.name);
    member(writer, "state", instance.state);
    member(writer, "availability_zone", instance.availability_zone);
    if (instance.launch_time) {
      member(writer, "launch_time", core::format_rfc3339(*instance.launch_time));
    }
    writer.EndObject();
  }
  writer.EndArray();
  strings_member(writer, "problems", status.problems);
  return answer.text();
}

std::string Invocation::lifecycle(const rapidjson::Value& body) {
  LifecycleRequest request;
  request.environment = common_.environment;
  const auto& action = common_.action;
  if (action == "stop") {
    request.action = LifecycleAction::stop;
  } else if (action == "start") {
    request.action = LifecycleAction::start;
  } else if (action == "teardown") {
    request.action = LifecycleAction::teardown;
    auto level = optional_string(body, "level");
    if (auto* refusal = std::get_if<Refusal>(&level)) return refuse(refusal->message);
    const auto& text = std::get<std::optional<std::string>>(level);
    // The seed's default, and the lesser of the two.
    if (!text || *text == "services") {
      request.level = TeardownLevel::services;
    } else if (*text == "full") {
      request.level = TeardownLevel::full;
    } else {
      return refuse(fmt::format("`level` must be `services` or `full`, not `{}`.", shown(*text)));
    }
  } else if (action == "spinup") {
    request.action = LifecycleAction::spinup;
  } else {
    request.action = LifecycleAction::reboot;
    auto name = optional_string(body, "name");
    if (auto* refusal = std::get_if<Refusal>(&name)) return refuse(refusal->message);
    auto& text = std::get<std::optional<std::string>>(name);
    if (text && !core::trim(*text).empty()) request.instance_name = std::string(core::trim(*text));
  }

  const bool destructive = request.action == LifecycleAction::stop ||
                           request.action == LifecycleAction::teardown ||
                           request.action == LifecycleAction::reboot;
  if (destructive && is_protected()) {
    return refuse(fmt::format("`{}` is protected: {} is refused.", common_.environment, action));
  }
  if (auto reason = backend_.unsupported(request)) {
    // The backend's text is written for the bot ("set ORCHESTRATOR_LAMBDA_ARN"), which
    // already points here: say what this function is instead.
    logger_->info("lambda: {} of {} unsupported by the backend: {}", action, common_.environment,
                  *reason);
    return refuse(fmt::format(
        "infra-bot's orchestrator Lambda does not run `{}`: it stops, starts and reboots what "
        "is tagged with the environment. A full teardown or a spinup needs an orchestrator of "
        "your own behind ORCHESTRATOR_LAMBDA_ARN.",
        request.action == LifecycleAction::teardown ? "teardown --level=full" : action));
  }

  auto result = backend_.run(request, common_.context);
  if (!result) return failed(result.error());
  done();
  const auto& outcome = *result;
  Answer answer(true);
  Writer& writer = answer.writer();
  member(writer, "action", action);
  member(writer, "environment", answered_environment(outcome.environment));
  member(writer, "message", outcome.message.empty() ? kCompleted : outcome.message);
  key(writer, "details");
  writer.StartObject();
  for (const auto& [name, count] : outcome.details) member(writer, name, count);
  writer.EndObject();
  strings_member(writer, "notes", outcome.notes);
  return answer.text();
}

}  // namespace infra::lambda_detail
