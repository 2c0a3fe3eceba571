#include "aws/service_client.hpp"

#include <fmt/format.h>

#include "aws/sigv4.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "endpoint.hpp"
#include "retry.hpp"
#include "xml.hpp"

namespace aws {
namespace {

using detail::Classified;
using detail::Verdict;

// urllib.parse.quote_plus's safe set (Python 3.7+): letters, digits and _.-~.
bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '~';
}

void append_form(std::string& out, std::string_view text) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  for (const char raw : text) {
    const auto c = static_cast<unsigned char>(raw);
    if (unreserved(c)) {
      out.push_back(raw);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
}

// What an AWS error answer says.
struct ErrorAnswer {
  long status = 0;
  std::string code;
  std::string message;
  std::string request_id;
};

std::string header_request_id(const core::http::Response& response) {
  for (const char* name : {"x-amzn-RequestId", "x-amz-request-id"}) {
    if (auto id = response.header(name)) return core::utf8_repair(core::trim(*id));
  }
  return {};
}

// JSON 1.0/1.1: {"__type": "...", "message": "..."}, the request id in x-amzn-RequestId.
ErrorAnswer parse_json_error(const core::http::Response& response) {
  ErrorAnswer error;
  error.status = response.status;
  error.request_id = header_request_id(response);
  if (auto type = response.header("x-amzn-ErrorType")) {
    error.code = detail::clean_code(core::utf8_repair(*type));
  }
  if (auto body = core::json::parse(response.body); body && body->IsObject()) {
    for (const char* key : {"__type", "code", "Code"}) {
      if (!error.code.empty()) break;
      if (auto value = core::json::get_string(*body, key)) error.code = detail::clean_code(*value);
    }
    for (const char* key : {"message", "Message", "errorMessage"}) {
      if (auto value = core::json::get_string(*body, key)) {
        error.message = std::string(*value);
        break;
      }
    }
  }
  return error;
}

// Query: <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>;
// EC2: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>.
ErrorAnswer parse_xml_error(const core::http::Response& response) {
  ErrorAnswer error;
  error.status = response.status;
  error.request_id = header_request_id(response);
  detail::Parsed parsed;
  detail::parse(response.body, parsed);
  if (!parsed.error.empty()) return error;
  const pugi::xml_node root = parsed.document.document_element();
  const pugi::xml_node found = detail::descendant(root, "Error");
  if (found) {
    error.code = detail::clean_code(detail::text(found, "Code"));
    error.message = detail::text(found, "Message");
  }
  for (const char* name : {"RequestId", "RequestID", "requestId"}) {
    if (auto id = detail::descendant(root, name)) {
      error.request_id = core::utf8_repair(core::trim(id.child_value()));
      break;
    }
  }
  return error;
}

// A fault on AWS's side: whether the operation ran is unknown.
bool is_transient(const ErrorAnswer& error) {
  return (error.status >= 500 && error.status <= 504) || detail::is_transient_code(error.code);
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

core::ErrorCode code_for_refusal(const ErrorAnswer& error) {
  using core::ErrorCode;
  const std::string_view code = error.code;
  if (error.status == 401 || error.status == 403 || contains(code, "AccessDenied") ||
      contains(code, "UnauthorizedOperation") || contains(code, "AuthFailure") ||
      code == "InvalidClientTokenId" || code == "UnrecognizedClientException" ||
      code == "SignatureDoesNotMatch" || code == "InvalidSignatureException" ||
      detail::is_credentials_rejection(code)) {
    return ErrorCode::denied;
  }
  if (error.status == 404 || contains(code, "NotFound") || code == "MISSING") {
    return ErrorCode::not_found;
  }
  if (contains(code, "InvalidDBInstanceState") || contains(code, "InvalidDBClusterState") ||
      contains(code, "IncorrectInstanceState") || contains(code, "IncorrectState") ||
      contains(code, "ServiceNotActive") || contains(code, "Duplicate")) {
    return ErrorCode::conflict;
  }
  return ErrorCode::invalid_input;
}

std::string for_subject(std::string_view subject) {
  return subject.empty() ? std::string() : fmt::format(" for {}", subject);
}

struct AttemptFailure {
  CallError failure;      ///< the final error should this be the last attempt
  Classified classified;  ///< whether another attempt may help
  std::string summary;    ///< for the per-attempt log line
};

}  // namespace

std::string form_encode(const QueryParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    append_form(out, name);
    out.push_back('=');
    append_form(out, value);
  }
  return out;
}

core::Result<std::unique_ptr<ServiceClient>> ServiceClient::create(
    const ServiceSpec& spec, ServiceSettings settings, core::http::Client& http,
    CredentialsProvider& credentials, const core::Clock& clock, Sleeper& sleeper,
    core::LoggerPtr logger) {
  if (settings.region.empty()) {
    return core::make_error(
        core::ErrorCode::config,
        fmt::format("AWS {} needs a region: set AWS_REGION.", spec.display_name),
        fmt::format("aws {}: no region", spec.signing_name));
  }
  std::string url = settings.endpoint_url.empty()
                        ? detail::regional_endpoint(spec.endpoint_prefix, settings.region)
                        : settings.endpoint_url;
  while (url.ends_with('/')) url.pop_back();
  auto endpoint = detail::parse_endpoint(url, spec.display_name);
  if (!endpoint) return endpoint.error();
  return std::unique_ptr<ServiceClient>(
      new ServiceClient(spec, std::move(settings), std::move(url), std::move(endpoint->origin),
                        std::move(endpoint->host), std::move(endpoint->base_path), http,
                        credentials, clock, sleeper, std::move(logger)));
}

ServiceClient::ServiceClient(const ServiceSpec& spec, ServiceSettings settings, std::string url,
                             std::string origin, std::string host, std::string base_path,
                             core::http::Client& http, CredentialsProvider& credentials,
                             const core::Clock& clock, Sleeper& sleeper, core::LoggerPtr logger)
    : spec_(spec),
      settings_(std::move(settings)),
      url_(std::move(url)),
      origin_(std::move(origin)),
      host_(std::move(host)),
      base_path_(std::move(base_path)),
      http_(http),
      credentials_(credentials),
      clock_(clock),
      sleeper_(sleeper),
      logger_(std::move(logger)) {}

CallError ServiceClient::unreadable(std::string_view operation, std::string_view why,
                                    std::string_view subject) const {
  return CallError{
      core::make_error(core::ErrorCode::unavailable,
                       fmt::format("AWS answered {} {}{} with something infra-bot could not "
                                   "read; try again in a minute.",
                                   spec_.display_name, operation, for_subject(subject)),
                       fmt::format("aws {} {}: unreadable answer: {}", spec_.signing_name,
                                   operation, core::utf8_truncate(why, 300))),
      {},
      200,
      {},
      {}};
}

Outcome<rapidjson::Document> ServiceClient::call_json(std::string_view operation,
                                                      const std::string& body,
                                                      Retryability retryability,
                                                      std::string_view subject,
                                                      std::string* error_body) {
  const core::http::Headers headers = {
      {"Content-Type", spec_.protocol == Protocol::json10 ? "application/x-amz-json-1.0"
                                                          : "application/x-amz-json-1.1"},
      {"X-Amz-Target", fmt::format("{}.{}", spec_.target_prefix, operation)},
  };
  auto answer = send(operation, headers, body, retryability, subject, error_body);
  if (!answer) return std::move(answer).failure();
  // An operation without output may answer with an empty body.
  const std::string_view text = core::trim(*answer).empty() ? "{}" : std::string_view(*answer);
  auto document = core::json::parse(text);
  if (!document) {
    auto failure = unreadable(operation, document.error().detail, subject);
    logger_->warn("aws call failed: service={} operation={} detail={}", spec_.signing_name,
                  operation, failure.error.detail);
    return failure;
  }
  if (!document->IsObject()) {
    auto failure = unreadable(operation, "not a JSON object", subject);
    logger_->warn("aws call failed: service={} operation={} detail={}", spec_.signing_name,
                  operation, failure.error.detail);
    return failure;
  }
  return std::move(*document);
}

Outcome<std::string> ServiceClient::call_query(std::string_view operation,
                                               const QueryParams& params, Retryability retryability,
                                               std::string_view subject) {
  QueryParams all;
  all.reserve(params.size() + 2);
  all.emplace_back("Action", std::string(operation));
  all.emplace_back("Version", std::string(spec_.api_version));
  all.insert(all.end(), params.begin(), params.end());
  const core::http::Headers headers = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
  };
  return send(operation, headers, form_encode(all), retryability, subject);
}

Outcome<std::string> ServiceClient::send(std::string_view operation,
                                         const core::http::Headers& extra_headers,
                                         const std::string& body, Retryability retryability,
                                         std::string_view subject, std::string* error_body) {
  const std::string path = base_path_.empty() ? "/" : base_path_ + "/";
  const std::string url = origin_ + path;
  const sigv4::Options options{settings_.region, std::string(spec_.signing_name), true, false,
                               false};
  const std::string what =
      fmt::format("{} {}{}", spec_.display_name, operation, for_subject(subject));
  const int max_attempts = detail::max_attempts(settings_.retry);
  const bool json = spec_.protocol == Protocol::json11 || spec_.protocol == Protocol::json10;

  auto describe = [&](const ErrorAnswer& error) {
    return fmt::format("aws {} {}: code={} status={} message=\"{}\" request_id={}",
                       spec_.signing_name, operation, error.code.empty() ? "-" : error.code,
                       error.status, core::utf8_truncate(error.message, 500),
                       error.request_id.empty() ? "-" : error.request_id);
  };

  // An error answer → the CallError it means and whether trying again may help.
  auto classify = [&](const ErrorAnswer& error) {
    const std::string kind =
        error.code.empty() ? fmt::format("HTTP {}", error.status) : detail::short_code(error.code);
    const std::string said = error.message.empty()
                                 ? std::string()
                                 : fmt::format(" — {}", core::utf8_truncate(error.message, 300));
    auto make = [&](core::ErrorCode code, std::string message, Verdict verdict) {
      return AttemptFailure{CallError{core::make_error(code, std::move(message), describe(error)),
                                      error.code, error.status, error.request_id, error.message},
                            {verdict, {}},
                            fmt::format("http {} {}", error.status, kind)};
    };
    using core::ErrorCode;
    if (detail::is_throttling(error.status, error.code)) {
      return make(ErrorCode::unavailable,
                  fmt::format("AWS is throttling {} ({}); try again in a minute.", what, kind),
                  Verdict::throttled);
    }
    if (detail::is_credentials_rejection(error.code)) {
      return make(ErrorCode::denied,
                  fmt::format("AWS does not accept infra-bot's credentials for {} ({}); check "
                              "the task role or the AWS_* variables.",
                              what, kind),
                  Verdict::credentials);
    }
    if (is_transient(error)) {
      // It may have run: repeated unless the call is `once` (the loop's rule).
      if (retryability == Retryability::once) {
        return make(ErrorCode::indeterminate,
                    fmt::format("AWS failed {} ({}{}) after the request arrived: it may or may "
                                "not have happened. Check `/infra status` before retrying.",
                                what, kind, said),
                    Verdict::indeterminate);
      }
      return make(
          ErrorCode::unavailable,
          fmt::format("AWS failed {} ({}{}); try again in a few minutes.", what, kind, said),
          Verdict::indeterminate);
    }
    return make(code_for_refusal(error), fmt::format("AWS refused {}: {}{}", what, kind, said),
                Verdict::permanent);
  };

  auto classify_transport = [&](const core::Error& error) {
    const std::string detail = fmt::format(
        "aws {} {}: transport {}: {}", spec_.signing_name, operation, core::to_string(error.code),
        error.detail.empty() ? error.user_message : error.detail);
    const std::string summary = fmt::format("transport {}", core::to_string(error.code));
    using core::ErrorCode;
    auto make = [&](ErrorCode code, std::string message, Verdict verdict) {
      return AttemptFailure{
          CallError{core::make_error(code, std::move(message), detail), {}, 0, {}, {}},
          {verdict, {}},
          summary};
    };
    if (error.code == ErrorCode::indeterminate) {
      if (retryability == Retryability::once) {
        return make(ErrorCode::indeterminate,
                    fmt::format("No answer from AWS for {} (timed out or the connection dropped "
                                "after the request was sent): it may or may not have happened. "
                                "Check `/infra status` before retrying.",
                                what),
                    Verdict::indeterminate);
      }
      return make(ErrorCode::unavailable,
                  fmt::format("No answer from AWS for {} (timed out or the connection "
                              "dropped); try again in a minute.",
                              what),
                  Verdict::indeterminate);
    }
    if (error.code == ErrorCode::unavailable) {
      return make(ErrorCode::unavailable,
                  fmt::format("Could not reach AWS {} at {} ({}); try again in a minute.",
                              spec_.display_name, host_, operation),
                  Verdict::transient);
    }
    return make(error.code,
                error.user_message.empty() ? fmt::format("Calling AWS {} failed.", what)
                                           : error.user_message,
                Verdict::permanent);
  };

  // One attempt: the answer's body, or why there was none.
  struct Tried {
    std::optional<std::string> body;
    AttemptFailure failure;
    bool sent = true;  ///< false: no credentials, nothing went out
  };

  auto send_once = [&](int attempt) -> Tried {
    // Fresh credentials and signature on every attempt: they may have been
    // refreshed, and a signature is good for 5 minutes only.
    auto credentials = credentials_.get();
    if (!credentials) {
      core::Error error = credentials.error();
      // Paths, profile names and STS codes are for the operator (the log), not the chat.
      error.detail = fmt::format("aws {} {}: no credentials: {}{}", spec_.signing_name, operation,
                                 error.user_message,
                                 error.detail.empty() ? std::string() : "; " + error.detail);
      error.user_message = std::string(kNoCredentialsUserMessage);
      logger_->warn("aws call failed: service={} operation={} code={} detail={}",
                    spec_.signing_name, operation, core::to_string(error.code), error.detail);
      return Tried{{}, {CallError{std::move(error), {}, 0, {}, {}}, {}, "no credentials"}, false};
    }

    core::http::Headers headers = {{"Host", host_}};
    headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
    const sigv4::Request to_sign{"POST", path, "", headers, body};
    auto signed_request = sigv4::sign(to_sign, *credentials, options, clock_.now());
    for (auto& header : signed_request.headers) headers.push_back(std::move(header));

    core::http::Request request;
    request.method = "POST";
    request.url = url;
    request.headers = std::move(headers);
    request.body = body;
    request.connect_timeout = settings_.connect_timeout;
    request.total_timeout = settings_.timeout;

    const auto started = clock_.now();
    auto response = http_.send(request);
    // Everything AWS says may reach a Slack message or a log line: only UTF-8 gets in.
    if (response) response->body = core::utf8_repair(response->body);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count();

    if (response && response->status >= 200 && response->status < 300) {
      const std::string request_id = header_request_id(*response);
      logger_->debug(
          "aws call attempt {}/{}: service={} operation={} outcome=ok http_status={} "
          "request_id={} bytes={} elapsed_ms={}",
          attempt, max_attempts, spec_.signing_name, operation, response->status,
          request_id.empty() ? "-" : request_id, response->body.size(), elapsed);
      return Tried{std::move(response->body), {}};
    }
    Tried tried;
    if (error_body != nullptr) error_body->clear();
    if (response) {
      if (error_body != nullptr) *error_body = response->body;
      const ErrorAnswer error = json ? parse_json_error(*response) : parse_xml_error(*response);
      tried.failure = classify(error);
      if (tried.failure.classified.verdict == Verdict::throttled) {
        tried.failure.classified.retry_after = detail::retry_after(*response);
      }
    } else {
      tried.failure = classify_transport(response.error());
    }
    logger_->debug(
        "aws call attempt {}/{}: service={} operation={} outcome={} detail={} "
        "elapsed_ms={}",
        attempt, max_attempts, spec_.signing_name, operation, tried.failure.summary,
        tried.failure.failure.error.detail, elapsed);
    return tried;
  };
  auto classify_tried = [](const Tried& tried) {
    return tried.body ? Classified{Verdict::success, {}} : tried.failure.classified;
  };

  const std::string log_fields =
      fmt::format("service={} operation={}", spec_.signing_name, operation);
  const detail::AttemptLoop loop{
      .policy = settings_.retry,
      .repeatable = retryability != Retryability::once,
      .sleeper = sleeper_,
      .random = core::system_random(),
      .logger = *logger_,
      .log_prefix = "aws call",
      .log_fields = log_fields,
  };
  auto [last, attempts] = detail::run_attempts(loop, send_once, classify_tried);
  if (last.body) return std::move(*last.body);
  CallError failure = std::move(last.failure.failure);
  if (!last.sent) return failure;  // logged where it happened
  failure.error.detail += fmt::format(" attempts={}", attempts);
  // A refusal of one resource is routine for the caller (already stopped,
  // duplicate rule); AWS or network trouble is worth a warning.
  const bool trouble = failure.error.code == core::ErrorCode::unavailable ||
                       failure.error.code == core::ErrorCode::indeterminate;
  if (trouble) {
    logger_->warn("aws call failed: service={} operation={} code={} detail={}", spec_.signing_name,
                  operation, core::to_string(failure.error.code), failure.error.detail);
  } else {
    logger_->info("aws call refused: service={} operation={} code={} detail={}", spec_.signing_name,
                  operation, core::to_string(failure.error.code), failure.error.detail);
  }
  return failure;
}

}  // namespace aws
