#include "sts.hpp"

#include <fmt/format.h>

#include "aws/sigv4.hpp"
#include "core/strings.hpp"
#include "endpoint.hpp"
#include "retry.hpp"
#include "xml.hpp"

namespace aws::detail {
namespace {

constexpr std::string_view kStsVersion = "2011-06-15";
// Credential fetches happen behind the cache, which retries after 30 s: one
// quick second attempt is enough here.
constexpr int kAttempts = 2;
constexpr std::chrono::milliseconds kConnectTimeout{3000};
constexpr std::chrono::milliseconds kTotalTimeout{10000};

core::Error sts_error(std::string message) {
  return core::make_error(core::ErrorCode::unavailable, std::move(message));
}

}  // namespace

std::string sts_region(const core::Environment& env, std::string_view fallback) {
  for (const auto* variable : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto value = env.get(variable); value && !core::trim(*value).empty()) {
      return std::string(core::trim(*value));
    }
  }
  return std::string(fallback);
}

core::Result<StsEndpoint> sts_endpoint(const core::Environment& env, std::string_view region) {
  const std::string signing_region = region.empty() ? "us-east-1" : std::string(region);
  std::string url = endpoint_override(env, "STS");
  if (url.empty()) {
    url = region.empty() ? std::string("https://sts.amazonaws.com")
                         : regional_endpoint("sts", region);
  }
  while (url.ends_with('/')) url.pop_back();
  auto parsed = parse_endpoint(url, "STS");
  if (!parsed) return parsed.error();
  return StsEndpoint{std::move(url), std::move(parsed->origin), std::move(parsed->host),
                     std::move(parsed->base_path), signing_region};
}

core::Result<std::string> sts_call(core::http::Client& http, const StsEndpoint& endpoint,
                                   std::string_view action, const QueryParams& params,
                                   const Credentials* signer, const core::Clock& clock) {
  QueryParams all;
  all.reserve(params.size() + 2);
  all.emplace_back("Action", std::string(action));
  all.emplace_back("Version", std::string(kStsVersion));
  all.insert(all.end(), params.begin(), params.end());
  const std::string body = form_encode(all);
  const std::string path = endpoint.base_path.empty() ? "/" : endpoint.base_path + "/";

  core::Error last = sts_error(fmt::format("STS {} at {} was not tried", action, endpoint.url));
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    core::http::Headers headers = {
        {"Host", endpoint.host},
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
    };
    if (signer != nullptr) {
      const sigv4::Request to_sign{"POST", path, "", headers, body};
      const sigv4::Options options{endpoint.region, "sts", true, false, false};
      auto signed_request = sigv4::sign(to_sign, *signer, options, clock.now());
      for (auto& header : signed_request.headers) headers.push_back(std::move(header));
    }
    core::http::Request request;
    request.method = "POST";
    request.url = endpoint.origin + path;
    request.headers = std::move(headers);
    request.body = body;
    request.connect_timeout = kConnectTimeout;
    request.total_timeout = kTotalTimeout;
    auto response = http.send(request);
    if (!response) {
      const auto& error = response.error();
      last = sts_error(fmt::format("STS {} at {} failed: {}", action, endpoint.url,
                                   error.detail.empty() ? error.user_message : error.detail));
      if (error.code == core::ErrorCode::unavailable ||
          error.code == core::ErrorCode::indeterminate) {
        continue;
      }
      return last;
    }
    std::string answer = core::utf8_repair(response->body);
    if (response->status >= 200 && response->status < 300) return answer;
    // <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>
    Parsed parsed;
    parse(answer, parsed);
    std::string code;
    std::string message;
    std::string request_id;
    if (parsed.error.empty()) {
      const auto root = parsed.document.document_element();
      if (const auto found = descendant(root, "Error")) {
        code = clean_code(text(found, "Code"));
        message = text(found, "Message");
      }
      if (const auto id = descendant(root, "RequestId")) {
        request_id = std::string(core::trim(id.child_value()));
      }
    }
    last = sts_error(
        fmt::format("STS {} at {} refused: {} (HTTP {}){}{}", action, endpoint.url,
                    code.empty() ? "no error code" : code, response->status,
                    message.empty() ? std::string() : " — " + core::utf8_truncate(message, 300),
                    request_id.empty() ? std::string() : " request_id=" + request_id));
    const bool again = response->status >= 500 || is_throttling(response->status, code) ||
                       code == "IDPCommunicationError";
    if (!again) return last;
  }
  return last;
}

core::Result<Credentials> parse_sts_credentials(std::string_view xml, std::string_view action) {
  const auto fail = [&](std::string_view what) {
    return sts_error(fmt::format("STS {} answered {}", action, what));
  };
  Parsed parsed;
  parse(xml, parsed);
  if (!parsed.error.empty()) return fail("with something that is not XML");
  const auto result =
      descendant(parsed.document.document_element(), fmt::format("{}Result", action));
  if (!result) return fail(fmt::format("without {}Result", action));
  const auto credentials = child(result, "Credentials");
  if (!credentials) return fail("without Credentials");
  Credentials out{text(credentials, "AccessKeyId"), text(credentials, "SecretAccessKey"),
                  text(credentials, "SessionToken"), std::nullopt};
  if (out.access_key_id.empty()) return fail("without an AccessKeyId");
  if (out.secret_access_key.empty()) return fail("without a SecretAccessKey");
  if (out.session_token.empty()) return fail("without a SessionToken");
  const auto expires = core::parse_rfc3339(text(credentials, "Expiration"));
  if (!expires) return fail("without an RFC 3339 Expiration");
  out.expiration = *expires;
  return out;
}

core::Result<CallerIdentityFields> parse_caller_identity(std::string_view xml) {
  Parsed parsed;
  parse(xml, parsed);
  if (!parsed.error.empty()) {
    return sts_error("STS GetCallerIdentity answered with something that is not XML");
  }
  const auto result = descendant(parsed.document.document_element(), "GetCallerIdentityResult");
  if (!result) return sts_error("STS GetCallerIdentity answered without GetCallerIdentityResult");
  CallerIdentityFields fields{text(result, "Account"), text(result, "Arn"), text(result, "UserId")};
  if (fields.account.empty() || fields.arn.empty()) {
    return sts_error("STS GetCallerIdentity answered without an Account or Arn");
  }
  return fields;
}

}  // namespace aws::detail
