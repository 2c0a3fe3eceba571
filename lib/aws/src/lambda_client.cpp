#include "aws/lambda_client.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "aws/sigv4.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "endpoint.hpp"
#include "retry.hpp"

namespace aws {
namespace {

// Lambda's request limits (API_Invoke: "6 MB for synchronous invocations and
// 1 MB for asynchronous"); on the wire the synchronous limit is exactly
// 6,291,456 bytes (RequestEntityTooLargeException text). Checked before
// sending so an oversized call fails fast and clearly.
constexpr std::size_t kMaxSyncPayload = 6'291'456;
constexpr std::size_t kMaxEventPayload = 1'048'576;

constexpr std::string_view kCheckStatus =
    "the action may or may not have run. Check `/infra status` before retrying.";

const char* invocation_type_header(InvocationType type) {
  switch (type) {
    case InvocationType::event:
      return "Event";
    case InvocationType::dry_run:
      return "DryRun";
    case InvocationType::request_response:
      break;
  }
  return "RequestResponse";
}

std::string label_of(const FunctionRef& function) {
  return function.qualifier ? function.name + ":" + *function.qualifier : function.name;
}

using detail::Classified;
using detail::Endpoint;
using detail::Verdict;

// What an AWS error response says (botocore's rest-json rules: the type from
// x-amzn-ErrorType, else the body's code/Code/__type, cut at ':' and after
// '#'; the message from message/Message).
struct ServiceError {
  long status = 0;
  std::string type;
  std::string message;
  std::string request_id;
};

ServiceError parse_service_error(const core::http::Response& response) {
  ServiceError error;
  error.status = response.status;
  if (auto id = response.header("x-amzn-RequestId")) error.request_id = std::string(*id);
  if (auto type = response.header("x-amzn-ErrorType")) error.type = detail::clean_code(*type);
  if (auto body = core::json::parse(response.body); body && body->IsObject()) {
    for (const char* key : {"code", "Code", "__type"}) {
      if (!error.type.empty()) break;
      if (auto value = core::json::get_string(*body, key)) error.type = detail::clean_code(*value);
    }
    for (const char* key : {"message", "Message"}) {
      if (auto value = core::json::get_string(*body, key)) {
        error.message = std::string(*value);
        break;
      }
    }
  }
  return error;
}

std::string type_or_status(const ServiceError& error) {
  return error.type.empty() ? fmt::format("HTTP {}", error.status) : detail::short_code(error.type);
}

struct AttemptFailure {
  core::Error error;      ///< the final error should this be the last attempt
  Classified classified;  ///< whether another attempt may help
  std::string summary;    ///< for the per-attempt log line
};

std::string detail_of(const FunctionRef& function, const ServiceError& error) {
  return fmt::format("lambda invoke {}: type={} status={} message=\"{}\" request_id={}",
                     function.invoke_name(), error.type.empty() ? "-" : error.type, error.status,
                     error.message, error.request_id.empty() ? "-" : error.request_id);
}

// A non-2xx answer → the Error it means and whether trying again may help.
AttemptFailure classify(const FunctionRef& function, const ServiceError& error,
                        Idempotency idempotency) {
  const std::string label = label_of(function);
  const std::string described = detail_of(function, error);
  const std::string kind = type_or_status(error);
  auto fail = [&](core::ErrorCode code, std::string message, Verdict verdict = Verdict::permanent) {
    return AttemptFailure{core::make_error(code, std::move(message), described),
                          {verdict, {}},
                          fmt::format("http {} {}", error.status, kind)};
  };
  using core::ErrorCode;

  if (detail::is_throttling(error.status, error.type)) {
    return fail(ErrorCode::unavailable,
                fmt::format("The Lambda function `{}` is being throttled by AWS ({}); try again "
                            "in a minute.",
                            label, kind),
                Verdict::throttled);
  }
  if (detail::is_credentials_rejection(error.type)) {
    return fail(ErrorCode::denied,
                fmt::format("AWS does not accept infra-bot's credentials ({}); check the task "
                            "role or the AWS_* variables.",
                            kind),
                Verdict::credentials);
  }
  if (error.type == "InvalidSignatureException") {
    return fail(ErrorCode::denied,
                fmt::format("AWS rejected infra-bot's request signature for `{}` ({}); check the "
                            "host clock and the credentials.",
                            label, kind));
  }
  if (error.status == 404 || error.type == "ResourceNotFoundException") {
    return fail(ErrorCode::not_found,
                fmt::format("Lambda function `{}` not found in {}.", label, function.region));
  }
  if (error.status == 403) {
    return fail(ErrorCode::denied,
                fmt::format("infra-bot's AWS role may not invoke `{}` ({}).", label,
                            error.type.empty() ? std::string("AccessDenied") : kind));
  }
  if (error.status == 409 || error.type == "ResourceConflictException") {
    return fail(ErrorCode::unavailable,
                fmt::format("Lambda function `{}` is busy being updated ({}); try again in a "
                            "minute.",
                            label, kind));
  }
  if (error.status == 413) {
    return fail(ErrorCode::invalid_input,
                fmt::format("The request to `{}` is too large for Lambda ({}).", label, kind));
  }
  if (error.status == 400 || error.status == 415) {
    return fail(
        ErrorCode::invalid_input,
        fmt::format("Lambda refused the call to `{}` ({}{}{}).", label, kind,
                    error.message.empty() ? "" : ": ", core::utf8_truncate(error.message, 200)));
  }
  if (error.status == 503) {
    return fail(ErrorCode::unavailable,
                fmt::format("AWS Lambda is unavailable right now ({}) for `{}`; try again in a "
                            "few minutes.",
                            kind, label),
                Verdict::transient);
  }
  if (error.status == 502) {
    if (error.type == "ResourceNotReadyException") {
      return fail(ErrorCode::unavailable,
                  fmt::format("Lambda function `{}` is not ready yet ({}); try again in a few "
                              "minutes.",
                              label, kind),
                  Verdict::transient);
    }
    // KMS, ENI, subnet, runtime, zip: the function could not start and will
    // not until someone fixes its configuration.
    return fail(ErrorCode::unavailable,
                fmt::format("Lambda function `{}` could not start ({}); its configuration needs "
                            "an operator.",
                            label, kind));
  }
  if (error.status == 500 || error.status == 504) {
    // It may have run: repeated for a read-only call only (the loop's rule).
    if (idempotency == Idempotency::mutating) {
      return fail(ErrorCode::indeterminate,
                  fmt::format("AWS Lambda answered `{}` with an error ({}) after the request was "
                              "sent: {}",
                              label, kind, kCheckStatus),
                  Verdict::indeterminate);
    }
    return fail(ErrorCode::unavailable,
                fmt::format("AWS Lambda had an internal error ({}) calling `{}`; try again in a "
                            "few minutes.",
                            kind, label),
                Verdict::indeterminate);
  }
  if (error.status >= 500) {
    return fail(ErrorCode::unavailable,
                fmt::format("AWS Lambda failed ({}) calling `{}`; try again in a few minutes.",
                            kind, label));
  }
  return fail(ErrorCode::internal, fmt::format("Lambda refused the call to `{}` ({}, HTTP {}).",
                                               label, kind, error.status));
}

// A transport failure (no HTTP response) → Error and retry rule.
AttemptFailure classify_transport(const FunctionRef& function, const Endpoint& endpoint,
                                  const core::Error& error, Idempotency idempotency,
                                  std::chrono::seconds timeout) {
  const std::string label = label_of(function);
  const std::string detail = fmt::format("lambda invoke {}: transport {}: {}",
                                         function.invoke_name(), core::to_string(error.code),
                                         error.detail.empty() ? error.user_message : error.detail);
  const std::string summary = fmt::format("transport {}", core::to_string(error.code));
  using core::ErrorCode;
  if (error.code == ErrorCode::unavailable) {
    return {core::make_error(ErrorCode::unavailable,
                             fmt::format("Could not reach AWS Lambda at {} to call `{}`; try "
                                         "again in a minute.",
                                         endpoint.host, label),
                             detail),
            {Verdict::transient, {}},
            summary};
  }
  if (error.code == ErrorCode::indeterminate) {
    if (idempotency == Idempotency::mutating) {
      return {core::make_error(
                  ErrorCode::indeterminate,
                  fmt::format("No answer from Lambda function `{}` (it timed out after {} s or "
                              "the connection dropped after the request was sent): {}",
                              label, timeout.count(), kCheckStatus),
                  detail),
              {Verdict::indeterminate, {}},
              summary};
    }
    return {core::make_error(ErrorCode::unavailable,
                             fmt::format("No answer from Lambda function `{}` (timed out or the "
                                         "connection dropped); try again in a minute.",
                                         label),
                             detail),
            {Verdict::indeterminate, {}},
            summary};
  }
  return {core::make_error(error.code,
                           error.user_message.empty()
                               ? fmt::format("Calling Lambda function `{}` failed.", label)
                               : error.user_message,
                           detail),
          {Verdict::permanent, {}},
          summary};
}

FunctionError parse_function_error(std::string kind, std::string body, std::string* trace_out) {
  FunctionError error;
  error.kind = std::move(kind);
  // Runtimes differ: Python sends stackTrace, Node.js trace; errorType is
  // missing from some runtime errors. Everything is optional.
  if (auto document = core::json::parse(body); document && document->IsObject()) {
    error.error_type = std::string(core::json::get_string(*document, "errorType").value_or(""));
    error.error_message =
        std::string(core::json::get_string(*document, "errorMessage").value_or(""));
    for (const char* key : {"trace", "stackTrace"}) {
      if (const auto* frames = core::json::get_array(*document, key)) {
        std::vector<std::string> lines;
        for (const auto& frame : frames->GetArray()) {
          if (frame.IsString()) lines.emplace_back(core::trim(frame.GetString()));
        }
        *trace_out = core::utf8_truncate(core::join(lines, " | "), 1000);
        break;
      }
    }
  } else if (document && document->IsString()) {
    // A function may throw a bare string.
    error.error_message = document->GetString();
  }
  error.payload = std::move(body);
  return error;
}

}  // namespace

LambdaClient::LambdaClient(LambdaSettings settings, core::http::Client& http,
                           CredentialsProvider& credentials, const core::Clock& clock,
                           Sleeper& sleeper, core::LoggerPtr logger)
    : settings_(std::move(settings)),
      http_(http),
      credentials_(credentials),
      clock_(clock),
      sleeper_(sleeper),
      logger_(std::move(logger)) {}

std::string LambdaClient::endpoint_for(const FunctionRef& function) const {
  if (!settings_.endpoint_url.empty()) {
    std::string url = settings_.endpoint_url;
    while (url.ends_with('/')) url.pop_back();
    return url;
  }
  return detail::regional_endpoint("lambda", function.region, function.partition);
}

core::Result<InvokeOutcome> LambdaClient::invoke(const InvokeRequest& request) {
  const FunctionRef& function = request.function;
  const std::string label = label_of(function);
  const bool event = request.type == InvocationType::event;

  const std::size_t limit = event ? kMaxEventPayload : kMaxSyncPayload;
  if (request.payload.size() > limit) {
    return core::make_error(
        core::ErrorCode::invalid_input,
        fmt::format("The request for `{}` is {} bytes, over Lambda's {}-byte limit for {} "
                    "invocations.",
                    label, request.payload.size(), limit, event ? "asynchronous" : "synchronous"),
        fmt::format("lambda invoke {}: payload {} bytes > {}", function.invoke_name(),
                    request.payload.size(), limit));
  }
  if (function.region.empty()) {
    return core::make_error(core::ErrorCode::config,
                            fmt::format("Lambda function `{}` has no region; set AWS_REGION or "
                                        "use a full ARN.",
                                        label),
                            "lambda invoke: function without region");
  }

  auto endpoint = detail::parse_endpoint(endpoint_for(function), "Lambda");
  if (!endpoint) return endpoint.error();

  // The function name is one path label: encoded once for the wire (':' →
  // %3A); the signer encodes the path again for the canonical request.
  const std::string path = endpoint->base_path + "/2015-03-31/functions/" +
                           sigv4::uri_encode(function.invoke_name(), false) + "/invocations";
  const std::string url = endpoint->origin + path;
  const sigv4::Options options{function.region, "lambda", true, false, false};
  const int max_attempts = detail::max_attempts(settings_.retry);

  // One attempt: the function's answer (a success or a function error), or
  // why there was none.
  struct Tried {
    std::optional<InvokeOutcome> answer;
    AttemptFailure failure;
    bool sent = true;  ///< false: no credentials, nothing went out
  };

  auto send = [&](int attempt) -> Tried {
    // Fresh credentials and a fresh signature on every attempt: they may have
    // been refreshed, and a signature is only good for 5 minutes.
    auto credentials = credentials_.get();
    if (!credentials) {
      core::Error error = credentials.error();
      // Paths, profile names and STS codes are for the operator (the log), not the chat.
      error.detail = fmt::format("lambda invoke {}: no credentials: {}{}", function.invoke_name(),
                                 error.user_message,
                                 error.detail.empty() ? std::string() : "; " + error.detail);
      error.user_message = std::string(kNoCredentialsUserMessage);
      logger_->warn("lambda invoke failed: function={} attempt={}/{} code={} detail={}",
                    function.invoke_name(), attempt, max_attempts, core::to_string(error.code),
                    error.detail);
      return Tried{{}, {std::move(error), {}, "no credentials"}, false};
    }

    core::http::Headers headers = {
        {"Host", endpoint->host},
        {"Content-Type", "application/json"},
        {"X-Amz-Invocation-Type", invocation_type_header(request.type)},
    };
    const sigv4::Request to_sign{"POST", path, "", headers, request.payload};
    auto signed_request = sigv4::sign(to_sign, *credentials, options, clock_.now());
    for (auto& header : signed_request.headers) headers.push_back(std::move(header));

    core::http::Request http_request;
    http_request.method = "POST";
    http_request.url = url;
    http_request.headers = std::move(headers);
    http_request.body = request.payload;
    http_request.connect_timeout = settings_.connect_timeout;
    http_request.total_timeout = request.timeout;

    const auto started = clock_.now();
    auto response = http_.send(http_request);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count();

    if (response && response->status >= 200 && response->status < 300) {
      const std::string aws_request_id =
          std::string(response->header("x-amzn-RequestId").value_or("-"));
      const auto function_error = response->header("X-Amz-Function-Error");
      if (function_error && !core::trim(*function_error).empty()) {
        std::string trace;
        auto failed = parse_function_error(std::string(core::trim(*function_error)),
                                           std::move(response->body), &trace);
        logger_->debug(
            "lambda invoke attempt {}/{}: function={} outcome=function_error kind={} "
            "error_type={} aws_request_id={} elapsed_ms={}",
            attempt, max_attempts, function.invoke_name(), failed.kind, failed.error_type,
            aws_request_id, elapsed);
        logger_->warn(
            "lambda function error: function={} kind={} error_type={} error_message=\"{}\" "
            "aws_request_id={} trace=\"{}\"",
            function.invoke_name(), failed.kind, failed.error_type,
            core::utf8_truncate(failed.error_message, 500), aws_request_id, trace);
        return Tried{InvokeOutcome(std::move(failed)), {}};
      }
      InvokeSuccess success;
      success.status = response->status;
      success.executed_version =
          std::string(response->header("X-Amz-Executed-Version").value_or(""));
      success.payload = std::move(response->body);
      logger_->debug(
          "lambda invoke attempt {}/{}: function={} outcome=ok http_status={} "
          "executed_version={} aws_request_id={} bytes={} elapsed_ms={}",
          attempt, max_attempts, function.invoke_name(), success.status,
          success.executed_version.empty() ? "-" : success.executed_version, aws_request_id,
          success.payload.size(), elapsed);
      return Tried{InvokeOutcome(std::move(success)), {}};
    }

    Tried tried;
    if (response) {
      const ServiceError service_error = parse_service_error(*response);
      tried.failure = classify(function, service_error, request.idempotency);
      if (tried.failure.classified.verdict == Verdict::throttled) {
        tried.failure.classified.retry_after = detail::retry_after(*response);
      }
      logger_->debug(
          "lambda invoke attempt {}/{}: function={} outcome={} error_type={} aws_request_id={} "
          "elapsed_ms={}",
          attempt, max_attempts, function.invoke_name(), tried.failure.summary,
          service_error.type.empty() ? "-" : service_error.type,
          service_error.request_id.empty() ? "-" : service_error.request_id, elapsed);
    } else {
      tried.failure = classify_transport(function, *endpoint, response.error(), request.idempotency,
                                         request.timeout);
      logger_->debug("lambda invoke attempt {}/{}: function={} outcome={} detail={} elapsed_ms={}",
                     attempt, max_attempts, function.invoke_name(), tried.failure.summary,
                     tried.failure.error.detail, elapsed);
    }
    return tried;
  };
  auto classify_tried = [](const Tried& tried) {
    return tried.answer ? Classified{Verdict::success, {}} : tried.failure.classified;
  };

  const std::string log_fields = fmt::format("function={}", function.invoke_name());
  const detail::AttemptLoop loop{
      .policy = settings_.retry,
      .repeatable = request.idempotency == Idempotency::read_only,
      .sleeper = sleeper_,
      .random = core::system_random(),
      .logger = *logger_,
      .log_prefix = "lambda invoke",
      .log_fields = log_fields,
  };
  auto [last, attempts] = detail::run_attempts(loop, send, classify_tried);
  if (last.answer) return std::move(*last.answer);
  core::Error error = std::move(last.failure.error);
  if (!last.sent) return error;  // logged where it happened
  error.detail += fmt::format(" attempts={}", attempts);
  logger_->warn("lambda invoke failed: function={} code={} detail={}", function.invoke_name(),
                core::to_string(error.code), error.detail);
  return error;
}

core::Result<std::string> invoke_policy_json(const std::vector<FunctionRef>& functions) {
  if (functions.empty()) {
    return core::make_error(core::ErrorCode::invalid_input,
                            "No Lambda functions are configured, so there is nothing to allow.",
                            "invoke_policy_json: empty function list");
  }
  std::vector<std::string> resources;
  auto add = [&](std::string resource) {
    if (std::find(resources.begin(), resources.end(), resource) == resources.end()) {
      resources.push_back(std::move(resource));
    }
  };
  for (const auto& function : functions) {
    auto arn = function.arn();
    if (!arn) {
      return core::make_error(
          core::ErrorCode::invalid_input,
          fmt::format("`{}` is a bare function name: an IAM policy needs the full ARN "
                      "(arn:aws:lambda:<region>:<account>:function:{}), because a name has no "
                      "account.",
                      label_of(function), function.name),
          fmt::format("invoke_policy_json: {} has no account", label_of(function)));
    }
    add(*arn);
    // An unqualified ARN matches only $LATEST; invoking an alias or version
    // of it needs "<arn>:*" as well.
    if (!function.qualifier) add(*arn + ":*");
  }

  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  writer.StartObject();
  writer.Key("Version");
  writer.String("2012-10-17");
  writer.Key("Statement");
  writer.StartArray();
  writer.StartObject();
  writer.Key("Sid");
  writer.String("InfraBotInvokeLambdas");
  writer.Key("Effect");
  writer.String("Allow");
  writer.Key("Action");
  writer.String("lambda:InvokeFunction");
  writer.Key("Resource");
  writer.StartArray();
  for (const auto& resource : resources) {
    writer.String(resource.data(), static_cast<rapidjson::SizeType>(resource.size()));
  }
  writer.EndArray();
  writer.EndObject();
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace aws
