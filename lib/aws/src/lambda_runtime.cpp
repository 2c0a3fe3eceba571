// The Lambda Runtime API client of `infra-bot lambda` (shared/notes/aws-services.md §11).
//
// Choices, and why:
// - `next` is a long poll that may sit for hours while the environment is frozen between
//   invokes: no practical timeout (kNextTimeout), like aws-lambda-cpp's CURLOPT_TIMEOUT_MS 0
//   (our curl client refuses 0).
// - Request ids go into the path percent-encoded: they are UUIDs from the runtime, but a
//   stray '/' or '?' must never turn a response into a call on another resource.
// - Errors from `next` say whether to try again (`unavailable`: nothing reached the
//   runtime API) or to exit (everything else, a 500 above all: "container error").
#include "aws/lambda_runtime.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/strings.hpp"

namespace aws {
namespace {

constexpr std::string_view kApiVersion = "2018-06-01";
constexpr std::string_view kErrorContentType = "application/vnd.aws.lambda.error+json";

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

// "host:port" with a non-empty host (an IPv6 literal in brackets) and a port 1..65535.
bool valid_api(std::string_view api) {
  const auto colon = api.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = api.substr(0, colon);
  const std::string_view port = api.substr(colon + 1);
  if (host.find_first_of("/?#@ \t") != std::string_view::npos) return false;
  if (host.find(':') != std::string_view::npos && !(host.front() == '[' && host.back() == ']')) {
    return false;
  }
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc{} && end == port.data() + port.size() && value >= 1 && value <= 65535;
}

std::string header_or_empty(const core::http::Response& response, std::string_view name) {
  return std::string(response.header(name).value_or(std::string_view{}));
}

core::Error status_error(core::ErrorCode code, std::string_view what,
                         const core::http::Response& response) {
  return core::make_error(
      code, fmt::format("The Lambda runtime API refused {} (HTTP {}).", what, response.status),
      fmt::format("runtime API {}: HTTP {}: {}", what, response.status,
                  core::utf8_truncate(response.body, 300)));
}

}  // namespace

std::string LambdaErrorReport::to_json() const {
  return fmt::format(R"({{"errorMessage":{},"errorType":{},"stackTrace":[]}})",
                     core::json::quote(error_message), core::json::quote(error_type));
}

LambdaRuntimeClient::LambdaRuntimeClient(std::string api, core::http::Client& http)
    : base_url_(fmt::format("http://{}/{}", api, kApiVersion)), http_(http) {}

core::Result<std::unique_ptr<LambdaRuntimeClient>> LambdaRuntimeClient::from_environment(
    const core::Environment& env, core::http::Client& http) {
  auto api = env.get("AWS_LAMBDA_RUNTIME_API");
  if (!api || core::trim(*api).empty()) {
    return core::make_error(core::ErrorCode::config,
                            "AWS_LAMBDA_RUNTIME_API: not set; `infra-bot lambda` runs inside "
                            "AWS Lambda (a custom runtime), which sets it",
                            "AWS_LAMBDA_RUNTIME_API missing");
  }
  const std::string value(core::trim(*api));
  if (!valid_api(value)) {
    return core::make_error(core::ErrorCode::config,
                            fmt::format("AWS_LAMBDA_RUNTIME_API: expected host:port, got \"{}\"",
                                        core::utf8_truncate(value, 100)),
                            "AWS_LAMBDA_RUNTIME_API malformed");
  }
  return std::make_unique<LambdaRuntimeClient>(value, http);
}

core::Result<LambdaInvocation> LambdaRuntimeClient::next() {
  core::http::Request request;
  request.method = "GET";
  request.url = base_url_ + "/runtime/invocation/next";
  request.total_timeout = kNextTimeout;
  auto response = http_.send(request);
  if (!response) {
    const auto& error = response.error();
    // Only a request that never left may be repeated; a broken long poll means
    // the runtime API went away under us.
    const auto code = error.code == core::ErrorCode::unavailable ? core::ErrorCode::unavailable
                                                                 : core::ErrorCode::internal;
    return core::make_error(code, "The Lambda runtime API could not be reached.",
                            "runtime API next: " + error.detail);
  }
  if (response->status != 200) {
    // 500: container error, the runtime must exit; 403 and the rest are no better.
    return status_error(core::ErrorCode::internal, "next", *response);
  }
  LambdaInvocation invocation;
  invocation.request_id = header_or_empty(*response, "Lambda-Runtime-Aws-Request-Id");
  if (invocation.request_id.empty()) {
    return core::make_error(core::ErrorCode::internal,
                            "The Lambda runtime API sent an event without a request id.",
                            "runtime API next: 200 without Lambda-Runtime-Aws-Request-Id");
  }
  invocation.payload = std::move(response->body);
  if (auto deadline = response->header("Lambda-Runtime-Deadline-Ms")) {
    const auto text = core::trim(*deadline);
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc{} && end == text.data() + text.size() && ms > 0) {
      invocation.deadline = core::TimePoint(
          std::chrono::duration_cast<core::TimePoint::duration>(std::chrono::milliseconds(ms)));
    }
  }
  invocation.invoked_function_arn =
      header_or_empty(*response, "Lambda-Runtime-Invoked-Function-Arn");
  invocation.trace_id = header_or_empty(*response, "Lambda-Runtime-Trace-Id");
  invocation.client_context = header_or_empty(*response, "Lambda-Runtime-Client-Context");
  invocation.cognito_identity = header_or_empty(*response, "Lambda-Runtime-Cognito-Identity");
  return invocation;
}

core::Status LambdaRuntimeClient::post(const std::string& url, std::string_view body,
                                       bool error_report, std::string_view error_type,
                                       std::string_view what) {
  core::http::Request request;
  request.method = "POST";
  request.url = url;
  request.body = std::string(body);
  request.total_timeout = kPostTimeout;
  if (error_report) {
    request.headers.emplace_back("Content-Type", std::string(kErrorContentType));
    if (!error_type.empty()) {
      request.headers.emplace_back("Lambda-Runtime-Function-Error-Type", std::string(error_type));
    }
  } else {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  auto response = http_.send(request);
  if (!response) {
    auto error = response.error();
    error.detail = fmt::format("runtime API {}: {}", what, error.detail);
    return error;
  }
  if (response->status == 202) return {};
  if (response->status == 413) return status_error(core::ErrorCode::invalid_input, what, *response);
  return status_error(core::ErrorCode::internal, what, *response);
}

core::Status LambdaRuntimeClient::respond(std::string_view request_id, std::string_view payload) {
  return post(base_url_ + "/runtime/invocation/" + percent_encode(request_id) + "/response",
              payload, false, {}, "response");
}

core::Status LambdaRuntimeClient::report_error(std::string_view request_id,
                                               const LambdaErrorReport& report) {
  return post(base_url_ + "/runtime/invocation/" + percent_encode(request_id) + "/error",
              report.to_json(), true, report.error_type, "error");
}

core::Status LambdaRuntimeClient::report_init_error(const LambdaErrorReport& report) {
  return post(base_url_ + "/runtime/init/error", report.to_json(), true, report.error_type,
              "init error");
}

}  // namespace aws
