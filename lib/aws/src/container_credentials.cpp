#include "container_credentials.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/retry.hpp"
#include "core/strings.hpp"
#include "credential_source.hpp"

namespace aws::detail {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kRelativeUri = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
constexpr std::string_view kFullUri = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
constexpr std::string_view kTokenVariable = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
constexpr std::string_view kTokenFileVariable = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";

// botocore: 2 s timeout, 3 attempts; aws-c-auth: 2 s connect, 3 attempts, no
// retry on 4xx (aws.md §4.5). Two attempts keep a start-up without the
// endpoint short; the cache retries later anyway. Between attempts, full
// jitter so that the tasks of a service restarted together spread out.
constexpr auto kConnectTimeout = 1000ms;
constexpr auto kTotalTimeout = 2000ms;
constexpr int kAttempts = 2;
constexpr auto kBackoffBase = 250ms;
constexpr auto kMaxBackoff = 1000ms;

std::mutex retry_wait_mutex;
ContainerRetryWait retry_wait;  // guarded by retry_wait_mutex

// The wait before retry `retry_index` (0 = before the second attempt).
void wait_before_retry(int retry_index) {
  ContainerRetryWait wait;
  {
    std::lock_guard lock(retry_wait_mutex);
    wait = retry_wait;
  }
  auto& random = wait.random != nullptr ? *wait.random : core::system_random();
  const auto delay = core::retry::full_jitter(kBackoffBase, kMaxBackoff, retry_index, random);
  if (wait.sleep) {
    wait.sleep(delay);
  } else {
    std::this_thread::sleep_for(delay);
  }
}

bool has_space_or_control(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return true;
  }
  return false;
}

bool allowed_http_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    std::array<unsigned char, 4> bytes{};
    std::memcpy(bytes.data(), &v4, bytes.size());
    const bool loopback = bytes[0] == 127;  // 127.0.0.0/8
    const bool ecs = bytes == std::array<unsigned char, 4>{169, 254, 170, 2};
    const bool eks = bytes == std::array<unsigned char, 4>{169, 254, 170, 23};
    return loopback || ecs || eks;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    in6_addr allowed{};
    for (const char* text : {"::1", "fd00:ec2::23"}) {
      if (::inet_pton(AF_INET6, text, &allowed) == 1 &&
          std::memcmp(&v6, &allowed, sizeof(v6)) == 0) {
        return true;
      }
    }
  }
  return false;
}

core::Error config_error(std::string_view variable, std::string_view why) {
  return core::make_error(core::ErrorCode::config, fmt::format("{} {}", variable, why));
}

// The ECS / EKS Pod Identity credentials endpoint.
class ContainerSource final : public CredentialSource {
 public:
  ContainerSource(const core::Environment& env, core::http::Client& http)
      : env_(env), http_(http) {}

  std::string name() const override { return "container"; }
  std::string describe() const override {
    return origin_.empty() ? name() : "the container endpoint " + origin_;
  }

  core::Result<Credentials> fetch() override {
    auto url = endpoint();
    if (!url) return std::move(url).error();
    origin_ = url_origin(*url);
    auto token = authorization();
    if (!token) return std::move(token).error();

    core::http::Request request;
    request.method = "GET";
    request.url = *url;
    request.headers.emplace_back("Accept", "application/json");
    if (*token) request.headers.emplace_back("Authorization", std::move(**token));
    request.connect_timeout = kConnectTimeout;
    request.total_timeout = kTotalTimeout;

    core::Error last;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
      if (attempt > 1) wait_before_retry(attempt - 2);
      auto response = http_.send(request);
      if (!response) {
        last = core::make_error(core::ErrorCode::unavailable,
                                fmt::format("{} did not answer", origin_), response.error().detail);
        continue;
      }
      if (response->status == 200) return parse_credentials_json(response->body, origin_);
      last = core::make_error(core::ErrorCode::unavailable,
                              fmt::format("{} answered HTTP {}{}", origin_, response->status,
                                          error_code_of(response->body)));
      if (response->status < 500) break;  // a 4xx will not change on a second try
    }
    return last;
  }

 private:
  core::Result<std::string> endpoint() const {
    // RELATIVE wins over FULL (all SDKs).
    if (auto relative = env_.get(kRelativeUri); relative && !relative->empty()) {
      // Without the leading '/', "@host/…" would turn the ECS address into
      // user info and send the request elsewhere.
      if (relative->front() != '/') return config_error(kRelativeUri, "must start with \"/\"");
      if (has_space_or_control(*relative)) {
        return config_error(kRelativeUri, "contains a space or control character");
      }
      return std::string(kEcsCredentialsHost) + *relative;
    }
    if (auto full = env_.get(kFullUri); full && !full->empty()) {
      if (auto checked = check_full_uri(*full); !checked) return checked.error();
      return *full;
    }
    return core::make_error(core::ErrorCode::not_found, "AWS_CONTAINER_CREDENTIALS_* not set");
  }

  // The Authorization value: the token file (read on every fetch: it is
  // rotated, and it wins), else the variable, else none (the normal ECS case).
  core::Result<std::optional<std::string>> authorization() const {
    std::optional<std::string> token;
    std::string_view from = kTokenVariable;
    if (auto path = env_.get(kTokenFileVariable); path && !path->empty()) {
      from = kTokenFileVariable;
      std::ifstream in(*path, std::ios::binary);
      std::ostringstream content;
      if (in) content << in.rdbuf();
      if (!in || in.bad()) {
        return core::make_error(core::ErrorCode::unavailable,
                                fmt::format("{}: cannot read {}", kTokenFileVariable, *path));
      }
      token = std::move(content).str();
    } else {
      token = env_.get(kTokenVariable);
    }
    // As botocore: a line break would split the header. The file is taken
    // as it is, so a trailing newline is refused too (write it with printf).
    if (token && has_line_break(*token)) {
      return config_error(from, "holds a token with CR or LF, which a header value cannot contain");
    }
    if (token && token->empty()) token.reset();
    return token;
  }

  // " (code X)" from an ECS error body {"code": …, "message": …}.
  static std::string error_code_of(std::string_view body) {
    auto document = core::json::parse(body);
    if (!document || !document->IsObject()) return {};
    const auto code = core::json::get_string(*document, "code");
    if (!code || code->empty() || code->size() > 64 || has_space_or_control(*code)) return {};
    return fmt::format(" (code {})", *code);
  }

  const core::Environment& env_;
  core::http::Client& http_;
  std::string origin_;
};

}  // namespace

ContainerRetryWait set_container_retry_wait(ContainerRetryWait wait) {
  std::lock_guard lock(retry_wait_mutex);
  std::swap(wait, retry_wait);
  return wait;
}

core::Status check_full_uri(std::string_view url) {
  if (has_space_or_control(url) || url.find('\\') != std::string_view::npos) {
    return config_error(kFullUri, "contains a space, backslash or control character");
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return config_error(kFullUri, "is not an absolute http:// or https:// URL");
  }
  const auto scheme = core::to_lower(url.substr(0, scheme_end));
  const auto rest = url.substr(scheme_end + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return config_error(kFullUri, "has no host");
  if (scheme == "https") return {};
  if (scheme != "http") {
    return config_error(kFullUri, fmt::format("has scheme \"{}\": use https, or http on a "
                                              "loopback, ECS or EKS host",
                                              scheme));
  }
  std::string_view host;
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return config_error(kFullUri, "has an unclosed \"[\"");
    host = authority.substr(1, close - 1);
    port = authority.substr(close + 1);
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!port.empty() &&
      (port.front() != ':' || port.find_first_not_of("0123456789", 1) != std::string_view::npos)) {
    return config_error(kFullUri, "has a malformed port");
  }
  const auto lowered = core::to_lower(host);
  if (allowed_http_host(lowered)) return {};
  return config_error(
      kFullUri, fmt::format("uses http on host \"{}\", which is not allowed: use https, or http on "
                            "a loopback address (127.0.0.0/8, ::1, localhost), 169.254.170.2, "
                            "169.254.170.23 or fd00:ec2::23",
                            host));
}

CredentialSourcePtr make_container_source(const core::Environment& env, core::http::Client& http) {
  return std::make_unique<ContainerSource>(env, http);
}

}  // namespace aws::detail
