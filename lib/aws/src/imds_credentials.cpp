// EC2 instance metadata (IMDSv2) credentials, aws.md §4.6:
//   PUT /latest/api/token                               X-aws-ec2-metadata-token-ttl-seconds: 21600
//   GET /latest/meta-data/iam/security-credentials/     X-aws-ec2-metadata-token: <token>  → role
//   GET /latest/meta-data/iam/security-credentials/<role>                                  → JSON
// A 401 on a GET means the token went stale: fetch a new one and retry, once.
// No IMDSv1 fallback: a token refusal is an error, not a downgrade.

#include <optional>

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/strings.hpp"
#include "credential_source.hpp"

namespace aws::detail {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kDefaultEndpoint = "http://169.254.169.254";
constexpr std::string_view kTokenPath = "/latest/api/token";
constexpr std::string_view kRolesPath = "/latest/meta-data/iam/security-credentials/";
constexpr std::string_view kTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
constexpr std::string_view kTokenHeader = "X-aws-ec2-metadata-token";
constexpr auto kTokenTtl = 21600s;  // 6 h, as botocore and aws-c-auth ask
constexpr auto kTokenRenewEarly = 60s;
// IMDS is the last resort and often absent (Fargate, laptops): keep it short
// (botocore: 1 s, one attempt).
constexpr auto kConnectTimeout = 1000ms;
constexpr auto kTotalTimeout = 2000ms;

// IAM role names: [\w+=,.@-]+ (and what comes back is put in a URL path).
bool valid_role_name(std::string_view role) {
  if (role.empty() || role.size() > 128) return false;
  for (const char c : role) {
    const bool word =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && std::string_view("+=,.@-").find(c) == std::string_view::npos) return false;
  }
  return true;
}

class ImdsSource final : public CredentialSource {
 public:
  ImdsSource(const core::Environment& env, core::http::Client& http, const core::Clock& clock)
      : env_(env), http_(http), clock_(clock) {}

  std::string name() const override { return "IMDS"; }
  std::string describe() const override {
    return role_.empty() ? name()
                         : fmt::format("IMDS role \"{}\" at {}", role_, url_origin(endpoint_));
  }

  core::Result<Credentials> fetch() override {
    if (auto disabled = env_.get("AWS_EC2_METADATA_DISABLED");
        disabled && core::to_lower(core::trim(*disabled)) == "true") {
      return core::make_error(core::ErrorCode::not_found, "disabled by AWS_EC2_METADATA_DISABLED");
    }
    std::string endpoint(kDefaultEndpoint);
    if (auto configured = env_.get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        configured && !configured->empty()) {
      endpoint = *configured;
      while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    }
    if (endpoint != endpoint_) token_.reset();
    endpoint_ = endpoint;
    const auto origin = url_origin(endpoint_);
    bool token_refetched = false;

    auto roles = get(kRolesPath, token_refetched);
    if (!roles) return std::move(roles).error();
    if (roles->status == 404) {
      return unavailable(fmt::format("{} has no IAM role for this instance (HTTP 404)", origin));
    }
    if (roles->status != 200) {
      return unavailable(
          fmt::format("{} answered HTTP {} to the IAM role request", origin, roles->status));
    }
    const auto body = std::string_view(roles->body);
    const auto role = core::trim(body.substr(0, body.find('\n')));
    if (role.empty()) return unavailable(fmt::format("{} lists no IAM role", origin));
    if (!valid_role_name(role)) {
      return unavailable(fmt::format("{} returned a malformed IAM role name", origin));
    }

    auto document = get(std::string(kRolesPath) + std::string(role), token_refetched);
    if (!document) return std::move(document).error();
    if (document->status != 200) {
      return unavailable(
          fmt::format("{} answered HTTP {} to the credentials request for role "
                      "\"{}\"",
                      origin, document->status, role));
    }
    if (auto parsed = core::json::parse(document->body); parsed && parsed->IsObject()) {
      if (const auto code = core::json::get_string(*parsed, "Code"); code && *code != "Success") {
        return unavailable(
            fmt::format("{} reports the credentials for role \"{}\" as not "
                        "ready (Code is not Success)",
                        origin, role));
      }
    }
    auto credentials = parse_credentials_json(document->body, origin);
    if (credentials) role_ = std::string(role);
    return credentials;
  }

 private:
  static core::Error unavailable(std::string message, std::string detail = {}) {
    return core::make_error(core::ErrorCode::unavailable, std::move(message), std::move(detail));
  }

  core::http::Request request(std::string method, std::string_view path) const {
    core::http::Request out;
    out.method = std::move(method);
    out.url = endpoint_ + std::string(path);
    out.connect_timeout = kConnectTimeout;
    out.total_timeout = kTotalTimeout;
    return out;
  }

  // The session token, cached until shortly before its TTL runs out.
  core::Result<std::string> token() {
    const auto now = clock_.now();
    if (token_ && now < token_expires_) return *token_;
    auto put = request("PUT", kTokenPath);
    put.headers.emplace_back(std::string(kTtlHeader), std::to_string(kTokenTtl.count()));
    auto response = http_.send(put);
    const auto origin = url_origin(endpoint_);
    if (!response) {
      return unavailable(fmt::format("{} did not answer the IMDSv2 token request", origin),
                         response.error().detail);
    }
    if (response->status != 200) {
      return unavailable(
          fmt::format("{} answered HTTP {} to the IMDSv2 token request", origin, response->status));
    }
    if (response->body.empty() || has_line_break(response->body)) {
      return unavailable(fmt::format("{} returned a malformed IMDSv2 token", origin));
    }
    token_ = std::move(response->body);
    token_expires_ = now + kTokenTtl - kTokenRenewEarly;
    return *token_;
  }

  // GET with the token; a 401 means the token is stale: renew it and retry,
  // once per fetch.
  core::Result<core::http::Response> get(std::string_view path, bool& token_refetched) {
    for (;;) {
      auto session = token();
      if (!session) return std::move(session).error();
      auto get_request = request("GET", path);
      get_request.headers.emplace_back(std::string(kTokenHeader), std::move(*session));
      auto response = http_.send(get_request);
      if (!response) {
        return unavailable(fmt::format("{} did not answer", url_origin(endpoint_)),
                           response.error().detail);
      }
      if (response->status != 401 || token_refetched) return response;
      token_refetched = true;
      token_.reset();
    }
  }

  const core::Environment& env_;
  core::http::Client& http_;
  const core::Clock& clock_;
  std::string endpoint_;
  std::string role_;
  std::optional<std::string> token_;
  core::TimePoint token_expires_{};
};

}  // namespace

CredentialSourcePtr make_imds_source(const core::Environment& env, core::http::Client& http,
                                     const core::Clock& clock) {
  return std::make_unique<ImdsSource>(env, http, clock);
}

}  // namespace aws::detail
