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
//
// The handler is split by contract: this file reads a request, checks what every
// action shares and dispatches it; lambda_handler_orchestrator.cpp and
// lambda_handler_whitelist.cpp serve the two contracts; lambda_handler_json.cpp
// reads and writes the JSON.
#include "infra/lambda_handler.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "aws/lambda_runtime.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "lambda_handler_invocation.hpp"
#include "lambda_handler_json.hpp"

namespace infra {
namespace lambda_detail {
namespace {

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

std::string Invocation::run(std::string_view payload) {
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
                                   action == "teardown" || action == "spinup" || action == "reboot";
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

std::string Invocation::refuse(std::string_view message, std::string_view detail) {
  logger_->info(
      "lambda request refused: aws_request_id={} request_id={} action={} environment={} "
      "error=\"{}\"{}",
      context_.aws_request_id, common_.context.request_id, shown(common_.action),
      shown(common_.environment), message, detail.empty() ? "" : fmt::format(" detail={}", detail));
  return ok_false(message);
}

std::string Invocation::failed(const core::Error& error) {
  logger_->warn(
      "lambda action failed: aws_request_id={} request_id={} user={} action={} environment={} "
      "code={} detail={}",
      context_.aws_request_id, common_.context.request_id, common_.context.requested_by.user_id,
      common_.action, common_.environment, core::to_string(error.code),
      error.detail.empty() ? error.user_message : error.detail);
  return ok_false(error.user_message.empty() ? "The action failed." : error.user_message);
}

void Invocation::done() const {
  logger_->info(
      "lambda action done: aws_request_id={} request_id={} user={} action={} environment={}",
      context_.aws_request_id, common_.context.request_id, common_.context.requested_by.user_id,
      common_.action, common_.environment);
}

bool Invocation::is_protected() const {
  return std::find(protected_.begin(), protected_.end(), common_.environment) != protected_.end();
}

}  // namespace lambda_detail

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

LambdaAnswer LambdaHandler::handle(std::string_view payload,
                                   const LambdaInvocationContext& context) {
  std::string failure;
  try {
    lambda_detail::Invocation invocation(role_, environments_, protected_environments_,
                                         parser_settings_, backend_, clock_, logger_, context);
    return LambdaAnswer{invocation.run(payload), false, {}, {}};
  } catch (const std::exception& exception) {
    failure = lambda_detail::valid_utf8(core::utf8_truncate(exception.what(), 500));
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
