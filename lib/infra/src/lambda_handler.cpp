// design §4's two contracts served by infra-bot itself (`infra-bot lambda`).
//
// Choices, and why:
// - Every field is read and checked before the backend is called, so a bad payload is a
//   refusal and never half an action.
// - Contract failures — a payload that does not parse, an unknown action or environment,
//   a protected environment, a Backend Error — are {"ok": false, "error"} answers, as the
//   seed's Lambdas answer them; LambdaBackend shows the text to the user. Only an
//   exception escaping the backend (a bug, an allocation failure) becomes a function
//   error through /invocation/{id}/error.
// - The protected-environment check is this Lambda's own (the seed's "additional
//   protection in the orchestrator"): whoever invokes it, stop, teardown and reboot of a
//   protected environment are refused before the backend sees them.
// - Every string written is valid UTF-8 (invalid bytes from a backend become U+FFFD), so
//   the answer is always JSON that any caller can read.
#include "infra/lambda_handler.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "aws/lambda_runtime.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"

namespace infra {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::int64_t kMinTtlSeconds = 60;          // 1 minute
constexpr std::int64_t kMaxTtlSeconds = 31'536'000;  // 365 days
constexpr std::string_view kCompleted = "Operation completed successfully.";

// `text` with every ill-formed UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t ignored = 0;
    const std::size_t length = core::utf8_decode(text, i, ignored);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

void key(Writer& writer, std::string_view name) {
  writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}

void string(Writer& writer, std::string_view value) {
  const std::string checked = valid_utf8(value);
  writer.String(checked.data(), static_cast<rapidjson::SizeType>(checked.size()));
}

void member(Writer& writer, std::string_view name, std::string_view value) {
  key(writer, name);
  string(writer, value);
}

void member(Writer& writer, std::string_view name, std::int64_t value) {
  key(writer, name);
  writer.Int64(value);
}

void strings_member(Writer& writer, std::string_view name, const std::vector<std::string>& items) {
  key(writer, name);
  writer.StartArray();
  for (const auto& item : items) string(writer, item);
  writer.EndArray();
}

std::string finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ok_false(std::string_view message) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  key(writer, "ok");
  writer.Bool(false);
  member(writer, "error", message);
  writer.EndObject();
  return finish(buffer);
}

void write_entry(Writer& writer, const WhitelistEntry& entry) {
  writer.StartObject();
  member(writer, "cidr", entry.cidr);
  member(writer, "description", entry.description);
  member(writer, "added_by", entry.added_by);
  if (entry.expires_at) member(writer, "expires_at", core::format_rfc3339(*entry.expires_at));
  writer.EndObject();
}

// A contract refusal: the text for the caller (logged with the request by refuse()).
struct Refusal {
  std::string message;
};

template <class T>
using Checked = std::variant<T, Refusal>;

// How a backticked value from the caller is shown back: bounded, no backticks.
std::string shown(std::string_view text) {
  std::string out = core::utf8_truncate(text, 64);
  std::replace(out.begin(), out.end(), '`', '\'');
  return out;
}

// The fields every request shares.
struct Common {
  std::string action;
  std::string environment;  ///< empty when the request has none (checked per action)
  bool has_environment = false;
  RequestContext context;
};

// An optional string member: absent or null → nullopt; another type → refusal.
Checked<std::optional<std::string>> optional_string(const rapidjson::Value& object,
                                                    std::string_view name) {
  const auto it = object.FindMember(rapidjson::Value(
      rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  if (it == object.MemberEnd() || it->value.IsNull()) return std::optional<std::string>{};
  if (!it->value.IsString()) return Refusal{fmt::format("`{}` must be a string.", name)};
  return std::optional<std::string>(
      std::string(it->value.GetString(), it->value.GetStringLength()));
}

Checked<std::string> required_string(const rapidjson::Value& object, std::string_view name) {
  auto value = optional_string(object, name);
  if (auto* refusal = std::get_if<Refusal>(&value)) return *refusal;
  auto& text = std::get<std::optional<std::string>>(value);
  if (!text || core::trim(*text).empty()) {
    return Refusal{fmt::format("The request has no `{}`.", name)};
  }
  return std::move(*text);
}

Checked<Common> read_common(const rapidjson::Value& body, std::string_view aws_request_id) {
  Common common;
  auto action = required_string(body, "action");
  if (auto* refusal = std::get_if<Refusal>(&action)) return *refusal;
  common.action = std::get<std::string>(std::move(action));

  auto environment = optional_string(body, "environment");
  if (auto* refusal = std::get_if<Refusal>(&environment)) return *refusal;
  if (auto& text = std::get<std::optional<std::string>>(environment)) {
    common.environment = core::to_lower(core::trim(*text));
    common.has_environment = !common.environment.empty();
  }

  auto request_id = optional_string(body, "request_id");
  if (auto* refusal = std::get_if<Refusal>(&request_id)) return *refusal;
  common.context.request_id =
      std::get<std::optional<std::string>>(request_id).value_or(std::string(aws_request_id));

  const auto it = body.FindMember("requested_by");
  if (it != body.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsObject()) return Refusal{"`requested_by` must be an object."};
    auto& who = common.context.requested_by;
    for (auto [name, field] :
         {std::pair{"user_id", &who.user_id}, std::pair{"user_name", &who.user_name},
          std::pair{"team_id", &who.team_id}, std::pair{"channel_id", &who.channel_id}}) {
      auto value = optional_string(it->value, name);
      if (std::get_if<Refusal>(&value)) {
        return Refusal{fmt::format("`requested_by.{}` must be a string.", name)};
      }
      *field = std::get<std::optional<std::string>>(value).value_or("");
    }
  }
  return common;
}

}  // namespace

std::string_view to_string(core::LambdaRole role) {
  switch (role) {
    case core::LambdaRole::orchestrator:
      return "orchestrator";
    case core::LambdaRole::whitelist:
      return "whitelist";
  }
  return "unknown";
}

LambdaHandler::LambdaHandler(core::LambdaRole role, const core::Config& config, Backend& backend,
                             const core::Clock& clock, core::LoggerPtr logger)
    : role_(role),
      environments_(config.environments),
      protected_environments_(config.protected_environments),
      parser_settings_(ParserSettings::from(config)),
      backend_(backend),
      clock_(clock),
      logger_(std::move(logger)) {}

namespace {

// The work of one invocation, with the handler's state at hand.
class Invocation {
 public:
  Invocation(core::LambdaRole role, const std::vector<std::string>& environments,
             const std::vector<std::string>& protected_environments,
             const ParserSettings& parser_settings, Backend& backend, const core::Clock& clock,
             const core::LoggerPtr& logger, const LambdaInvocationContext& context)
      : role_(role),
        environments_(environments),
        protected_(protected_environments),
        parser_settings_(parser_settings),
        backend_(backend),
        clock_(clock),
        logger_(logger),
        context_(context) {}

  std::string run(std::string_view payload) {
    auto document = core::json::parse(payload);
    if (!document) {
      return refuse("The request is not valid JSON.",
                    "payload does not parse: " + document.error().detail);
    }
    if (!document->IsObject()) {
      return refuse("The request must be a JSON object.", "payload is not an object");
    }
    auto common = read_common(*document, context_.aws_request_id);
    if (auto* refusal = std::get_if<Refusal>(&common)) return refuse(refusal->message);
    common_ = std::get<Common>(std::move(common));

    const auto& action = common_.action;
    const bool orchestrator_action = action == "status" || action == "stop" || action == "start" ||
                                     action == "teardown" || action == "spinup" ||
                                     action == "reboot";
    const bool whitelist_action =
        action == "add" || action == "remove" || action == "list" || action == "refresh";
    if (role_ == core::LambdaRole::orchestrator && whitelist_action) {
      return refuse(
          fmt::format("`{}` is an action of the IP whitelist Lambda; this is the "
                      "orchestrator (status, stop, start, teardown, spinup, reboot).",
                      action));
    }
    if (role_ == core::LambdaRole::whitelist && orchestrator_action) {
      return refuse(
          fmt::format("`{}` is an action of the orchestrator Lambda; this is the IP "
                      "whitelist Lambda (add, remove, list, refresh).",
                      action));
    }
    if (!orchestrator_action && !whitelist_action) {
      return refuse(role_ == core::LambdaRole::orchestrator
                        ? fmt::format("Unknown action `{}`. The orchestrator accepts status, "
                                      "stop, start, teardown, spinup and reboot.",
                                      shown(action))
                        : fmt::format("Unknown action `{}`. The IP whitelist Lambda accepts add, "
                                      "remove, list and refresh.",
                                      shown(action)));
    }
    if (!common_.has_environment) return refuse("The request has no `environment`.");
    if (std::find(environments_.begin(), environments_.end(), common_.environment) ==
        environments_.end()) {
      return refuse(fmt::format("Unknown environment `{}`. Known: {}.", shown(common_.environment),
                                core::join(environments_)));
    }
    if (context_.deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*context_.deadline - clock_.now());
      if (left.count() <= 0) {
        return refuse("The invocation ran out of time before it started; nothing was done.");
      }
    }

    if (action == "status") return status();
    if (orchestrator_action) return lifecycle(*document);
    if (action == "add") return whitelist_add(*document);
    if (action == "remove") return whitelist_remove(*document);
    if (action == "list") return whitelist_list();
    return whitelist_refresh();
  }

 private:
  std::string refuse(std::string_view message, std::string_view detail = {}) {
    logger_->info(
        "lambda request refused: aws_request_id={} request_id={} action={} environment={} "
        "error=\"{}\"{}",
        context_.aws_request_id, common_.context.request_id, shown(common_.action),
        shown(common_.environment), message,
        detail.empty() ? "" : fmt::format(" detail={}", detail));
    return ok_false(message);
  }

  std::string failed(const core::Error& error) {
    logger_->warn(
        "lambda action failed: aws_request_id={} request_id={} user={} action={} environment={} "
        "code={} detail={}",
        context_.aws_request_id, common_.context.request_id, common_.context.requested_by.user_id,
        common_.action, common_.environment, core::to_string(error.code),
        error.detail.empty() ? error.user_message : error.detail);
    return ok_false(error.user_message.empty() ? "The action failed." : error.user_message);
  }

  void done() const {
    logger_->info(
        "lambda action done: aws_request_id={} request_id={} user={} action={} environment={}",
        context_.aws_request_id, common_.context.request_id, common_.context.requested_by.user_id,
        common_.action, common_.environment);
  }

  bool is_protected() const {
    return std::find(protected_.begin(), protected_.end(), common_.environment) != protected_.end();
  }

  std::string status() {
    auto result = backend_.status(common_.environment, common_.context);
    if (!result) return failed(result.error());
    done();
    const auto& status = *result;
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    key(writer, "ok");
    writer.Bool(true);
    member(writer, "environment",
           status.environment.empty() ? common_.environment : status.environment);
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
    writer.EndObject();
    return finish(buffer);
  }

  std::string lifecycle(const rapidjson::Value& body) {
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
      if (text && !core::trim(*text).empty())
        request.instance_name = std::string(core::trim(*text));
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
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    key(writer, "ok");
    writer.Bool(true);
    member(writer, "action", action);
    member(writer, "environment",
           outcome.environment.empty() ? common_.environment : outcome.environment);
    member(writer, "message", outcome.message.empty() ? kCompleted : outcome.message);
    key(writer, "details");
    writer.StartObject();
    for (const auto& [name, count] : outcome.details) member(writer, name, count);
    writer.EndObject();
    strings_member(writer, "notes", outcome.notes);
    writer.EndObject();
    return finish(buffer);
  }

  // The `cidr` member, canonical; a refusal names what is wrong with it.
  Checked<Cidr> read_cidr(const rapidjson::Value& body) {
    auto text = required_string(body, "cidr");
    if (auto* refusal = std::get_if<Refusal>(&text)) return *refusal;
    auto cidr = parse_cidr(core::trim(std::get<std::string>(text)), parser_settings_);
    if (!cidr) return Refusal{cidr.error().user_message};
    return std::move(*cidr);
  }

  std::string whitelist_add(const rapidjson::Value& body) {
    WhitelistAdd command;
    command.env = common_.environment;
    auto cidr = read_cidr(body);
    if (auto* refusal = std::get_if<Refusal>(&cidr)) return refuse(refusal->message);
    command.cidr = std::get<Cidr>(std::move(cidr));

    const auto ttl = body.FindMember("ttl_seconds");
    if (ttl == body.MemberEnd() || ttl->value.IsNull()) {
      return refuse("The request has no `ttl_seconds`.");
    }
    if (!ttl->value.IsInt64()) {
      return refuse("`ttl_seconds` must be a whole number of seconds.");
    }
    const std::int64_t seconds = ttl->value.GetInt64();
    if (seconds < kMinTtlSeconds || seconds > kMaxTtlSeconds) {
      return refuse(
          fmt::format("`ttl_seconds` must be between {} (1 minute) and {} (365 days), not {}.",
                      kMinTtlSeconds, kMaxTtlSeconds, seconds));
    }
    command.ttl = std::chrono::seconds(seconds);

    auto description = optional_string(body, "description");
    if (auto* refusal = std::get_if<Refusal>(&description)) return refuse(refusal->message);
    command.description = std::get<std::optional<std::string>>(std::move(description));

    auto result = backend_.whitelist_add(command, common_.context);
    if (!result) return failed(result.error());
    done();
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    key(writer, "ok");
    writer.Bool(true);
    member(writer, "environment",
           result->environment.empty() ? common_.environment : result->environment);
    key(writer, "entry");
    write_entry(writer, result->entry);
    key(writer, "replaced");
    writer.Bool(result->replaced);
    writer.EndObject();
    return finish(buffer);
  }

  std::string whitelist_remove(const rapidjson::Value& body) {
    auto cidr = read_cidr(body);
    if (auto* refusal = std::get_if<Refusal>(&cidr)) return refuse(refusal->message);
    WhitelistRemove command{std::get<Cidr>(std::move(cidr)), common_.environment};
    auto result = backend_.whitelist_remove(command, common_.context);
    if (!result) return failed(result.error());
    done();
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    key(writer, "ok");
    writer.Bool(true);
    member(writer, "environment",
           result->environment.empty() ? common_.environment : result->environment);
    member(writer, "cidr", result->cidr.empty() ? command.cidr.text : result->cidr);
    writer.EndObject();
    return finish(buffer);
  }

  std::string whitelist_list() {
    auto result = backend_.whitelist_list(common_.environment, common_.context);
    if (!result) return failed(result.error());
    done();
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    key(writer, "ok");
    writer.Bool(true);
    member(writer, "environment",
           result->environment.empty() ? common_.environment : result->environment);
    key(writer, "entries");
    writer.StartArray();
    for (const auto& entry : result->entries) write_entry(writer, entry);
    writer.EndArray();
    writer.EndObject();
    return finish(buffer);
  }

  std::string whitelist_refresh() {
    auto result = backend_.whitelist_refresh(common_.environment, common_.context);
    if (!result) return failed(result.error());
    done();
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    key(writer, "ok");
    writer.Bool(true);
    member(writer, "environment",
           result->environment.empty() ? common_.environment : result->environment);
    strings_member(writer, "security_groups", result->security_groups);
    member(writer, "rules_added", result->rules_added);
    member(writer, "rules_removed", result->rules_removed);
    // Beyond §4 (LambdaBackend reads it when present): what the refresh found expired.
    if (!result->expired.empty()) {
      key(writer, "expired");
      writer.StartArray();
      for (const auto& entry : result->expired) write_entry(writer, entry);
      writer.EndArray();
    }
    writer.EndObject();
    return finish(buffer);
  }

  core::LambdaRole role_;
  const std::vector<std::string>& environments_;
  const std::vector<std::string>& protected_;
  const ParserSettings& parser_settings_;
  Backend& backend_;
  const core::Clock& clock_;
  const core::LoggerPtr& logger_;
  const LambdaInvocationContext& context_;
  Common common_;
};

}  // namespace

LambdaAnswer LambdaHandler::handle(std::string_view payload,
                                   const LambdaInvocationContext& context) {
  std::string failure;
  try {
    Invocation invocation(role_, environments_, protected_environments_, parser_settings_, backend_,
                          clock_, logger_, context);
    return LambdaAnswer{invocation.run(payload), false, {}, {}};
  } catch (const std::exception& exception) {
    failure = valid_utf8(core::utf8_truncate(exception.what(), 500));
  } catch (...) {
    failure = "infra-bot lambda failed with an unknown exception.";
  }
  logger_->error("lambda handler failed: aws_request_id={} exception={}", context.aws_request_id,
                 failure);
  LambdaAnswer answer;
  answer.function_error = true;
  answer.error_type = "Runtime.HandlerError";
  answer.error_message = std::move(failure);
  answer.body = aws::LambdaErrorReport{answer.error_message, answer.error_type}.to_json();
  return answer;
}

}  // namespace infra
