#include "sso_credentials.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "aws/sigv4.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "credential_source.hpp"
#include "endpoint.hpp"

namespace aws::detail {
namespace {

constexpr std::chrono::milliseconds kConnectTimeout{3000};
constexpr std::chrono::milliseconds kTotalTimeout{10000};

core::Error sso_error(std::string message, std::string detail = {}) {
  return core::make_error(core::ErrorCode::unavailable, std::move(message), std::move(detail));
}

std::string login_hint(const SsoProfile& sso) {
  return sso.session_name.empty()
             ? fmt::format("run `aws sso login --profile {}`", sso.profile)
             : fmt::format("run `aws sso login --sso-session {}`", sso.session_name);
}

// botocore writes "%Y-%m-%dT%H:%M:%SZ"; older CLI v2 caches end in "UTC".
std::optional<core::TimePoint> parse_expires_at(std::string_view text) {
  std::string value(core::trim(text));
  if (value.ends_with("UTC")) value.replace(value.size() - 3, 3, "Z");
  return core::parse_rfc3339(value);
}

// When a cached sso-session token has less than this left, botocore refreshes it.
constexpr std::chrono::minutes kTokenRefreshWindow{15};

std::string member(const rapidjson::Value& object, std::string_view key) {
  const auto value = core::json::get_string(object, key);
  return value ? std::string(*value) : std::string();
}

// Writes the cache file the way a refresh leaves it: a new file, created
// readable by the owner only (it holds a refresh token and a client secret)
// under a unique name, written and synced, then renamed over the old one; on
// any failure the new file is removed and the old one stays.
bool write_cache(const std::string& path, const std::string& text) {
  std::string temporary = path + ".infra-bot.XXXXXX";
  const int fd = ::mkstemp(temporary.data());  // mode 0600
  if (fd < 0) return false;
  bool ok = true;
  for (std::size_t written = 0; ok && written < text.size();) {
    const auto n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      written += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  ok = ok && ::rename(temporary.c_str(), path.c_str()) == 0;
  if (!ok) ::unlink(temporary.c_str());
  return ok;
}

struct Refreshed {
  std::string access_token;
  core::TimePoint expires;
};

// SSO OIDC CreateToken with grantType=refresh_token (botocore's
// SSOTokenProvider): only for sso-session profiles whose cache holds
// refreshToken, clientId, clientSecret and a registrationExpiresAt in the
// future. The new token is written back to the cache file.
core::Result<Refreshed> refresh_token(const SsoProfile& sso, const std::string& path,
                                      rapidjson::Document& cache, const core::Environment& env,
                                      core::http::Client& http, const core::Clock& clock,
                                      core::Redactor& redactor) {
  const auto fail = [&](std::string why) {
    return core::make_error(core::ErrorCode::unavailable,
                            fmt::format("the SSO token refresh failed: {}", why));
  };
  const auto refresh = member(cache, "refreshToken");
  const auto client_id = member(cache, "clientId");
  const auto client_secret = member(cache, "clientSecret");
  const auto registration_expires = member(cache, "registrationExpiresAt");
  if (refresh.empty() || client_id.empty() || client_secret.empty() ||
      registration_expires.empty()) {
    return fail("the cache has no refreshToken, clientId, clientSecret or registrationExpiresAt");
  }
  redactor.add_rotating_secret(refresh);
  redactor.add_rotating_secret(client_secret);
  const auto registration_end = parse_expires_at(registration_expires);
  if (!registration_end || *registration_end <= clock.now()) {
    return fail("the client registration expired");
  }
  std::string url = endpoint_override(env, "SSO_OIDC");
  if (url.empty()) url = fmt::format("https://oidc.{}.amazonaws.com", sso.region);
  while (url.ends_with('/')) url.pop_back();
  auto endpoint = parse_endpoint(url, "SSO OIDC");
  if (!endpoint) return endpoint.error();
  core::http::Request request;
  request.method = "POST";
  request.url = endpoint->origin + endpoint->base_path + "/token";
  request.headers = {{"Host", endpoint->host}, {"Content-Type", "application/json"}};
  request.body = fmt::format(
      R"({{"clientId":{},"clientSecret":{},"grantType":"refresh_token","refreshToken":{}}})",
      core::json::quote(client_id), core::json::quote(client_secret), core::json::quote(refresh));
  request.connect_timeout = kConnectTimeout;
  request.total_timeout = kTotalTimeout;
  auto response = http.send(request);
  if (!response) {
    const auto& error = response.error();
    return fail(fmt::format("CreateToken at {}: {}", url,
                            error.detail.empty() ? error.user_message : error.detail));
  }
  auto answer = core::json::parse(core::utf8_repair(response->body));
  if (response->status < 200 || response->status >= 300) {
    std::string code;
    if (answer && answer->IsObject()) {
      for (const char* field : {"error", "__type", "code"}) {
        if (code.empty()) code = member(*answer, field);
      }
    }
    return fail(fmt::format("CreateToken at {} answered HTTP {} {}", url, response->status,
                            code.empty() ? "(no error code)" : core::utf8_truncate(code, 100)));
  }
  if (!answer || !answer->IsObject()) return fail("CreateToken answered with no JSON object");
  const auto access_token = member(*answer, "accessToken");
  const auto expires_in = core::json::get_int(*answer, "expiresIn");
  if (access_token.empty() || !expires_in || *expires_in <= 0) {
    return fail("CreateToken answered without accessToken or expiresIn");
  }
  redactor.add_rotating_secret(access_token);
  const auto new_refresh = member(*answer, "refreshToken");
  if (!new_refresh.empty()) redactor.add_rotating_secret(new_refresh);
  const auto expires = clock.now() + std::chrono::seconds(*expires_in);

  // The cache as botocore writes it after a refresh (other fields kept).
  auto& allocator = cache.GetAllocator();
  const auto set = [&](const char* key, const std::string& value) {
    rapidjson::Value text(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), allocator);
    if (cache.HasMember(key)) {
      cache[key] = text;
    } else {
      cache.AddMember(rapidjson::Value(key, allocator), text, allocator);
    }
  };
  set("startUrl", sso.start_url);
  set("region", sso.region);
  set("accessToken", access_token);
  set("expiresAt",
      core::format_rfc3339(std::chrono::time_point_cast<std::chrono::seconds>(expires)));
  if (!new_refresh.empty()) set("refreshToken", new_refresh);
  // A cache that cannot be written back only costs a refresh next time.
  (void)write_cache(path, core::json::to_string(cache));
  return Refreshed{access_token, expires};
}

}  // namespace

std::string sha1_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

core::Result<Credentials> fetch_sso_credentials(const SsoProfile& sso, const core::Environment& env,
                                                core::http::Client& http, const core::Clock& clock,
                                                core::Redactor& redactor) {
  const auto home = env.get("HOME");
  if (!home || home->empty()) {
    return core::make_error(core::ErrorCode::config,
                            fmt::format("SSO profile \"{}\": HOME is not set, so the token cache "
                                        "(~/.aws/sso/cache) cannot be found",
                                        sso.profile));
  }
  const std::string key = sso.session_name.empty() ? sso.start_url : sso.session_name;
  const std::string path = fmt::format("{}/.aws/sso/cache/{}.json", *home, sha1_hex(key));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return sso_error(fmt::format("SSO profile \"{}\": no cached token at {}; {}", sso.profile, path,
                                 login_hint(sso)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  auto document = core::json::parse(content.str());
  if (!document || !document->IsObject()) {
    return sso_error(fmt::format("SSO profile \"{}\": the token cache {} is not a JSON object; {}",
                                 sso.profile, path, login_hint(sso)));
  }
  const auto token = core::json::get_string(*document, "accessToken");
  const auto expires_text = core::json::get_string(*document, "expiresAt");
  if (!token || token->empty() || !expires_text) {
    return sso_error(
        fmt::format("SSO profile \"{}\": the token cache {} has no accessToken or "
                    "expiresAt; {}",
                    sso.profile, path, login_hint(sso)));
  }
  std::string access_token(*token);
  redactor.add_rotating_secret(access_token);
  auto expires = parse_expires_at(*expires_text);
  if (!expires) {
    return sso_error(
        fmt::format("SSO profile \"{}\": the token cache {} has an expiresAt that "
                    "is not a time; {}",
                    sso.profile, path, login_hint(sso)));
  }
  // botocore refreshes sso-session tokens inside the window; legacy ones never.
  std::string refresh_failure;
  if (!sso.session_name.empty() && *expires - clock.now() < kTokenRefreshWindow) {
    auto refreshed = refresh_token(sso, path, *document, env, http, clock, redactor);
    if (refreshed) {
      access_token = std::move(refreshed->access_token);
      expires = refreshed->expires;
    } else {
      refresh_failure = "; " + refreshed.error().user_message;
    }
  }
  if (*expires <= clock.now()) {
    return sso_error(fmt::format("SSO profile \"{}\": the SSO token in {} expired at {}{}; {}",
                                 sso.profile, path, core::format_rfc3339(*expires), refresh_failure,
                                 login_hint(sso)));
  }
  if (has_line_break(access_token)) {
    return sso_error(
        fmt::format("SSO profile \"{}\": the token in {} holds a line break", sso.profile, path));
  }

  std::string url = endpoint_override(env, "SSO");
  if (url.empty()) url = fmt::format("https://portal.sso.{}.amazonaws.com", sso.region);
  while (url.ends_with('/')) url.pop_back();
  auto endpoint = parse_endpoint(url, "SSO portal");
  if (!endpoint) return endpoint.error();
  core::http::Request request;
  request.method = "GET";
  request.url =
      fmt::format("{}{}/federation/credentials?role_name={}&account_id={}", endpoint->origin,
                  endpoint->base_path, sigv4::uri_encode(sso.role_name, false),
                  sigv4::uri_encode(sso.account_id, false));
  request.headers = {{"Host", endpoint->host},
                     {"Accept", "application/json"},
                     {"x-amz-sso_bearer_token", access_token}};
  request.connect_timeout = kConnectTimeout;
  request.total_timeout = kTotalTimeout;
  const std::string what =
      fmt::format("SSO profile \"{}\": GetRoleCredentials (role {} in account {}) at {}",
                  sso.profile, sso.role_name, sso.account_id, url);
  auto response = http.send(request);
  if (!response) {
    const auto& error = response.error();
    return sso_error(fmt::format("{} failed: {}", what,
                                 error.detail.empty() ? error.user_message : error.detail));
  }
  const std::string body = core::utf8_repair(response->body);
  if (response->status < 200 || response->status >= 300) {
    std::string code;
    if (auto type = response->header("x-amzn-ErrorType")) code = std::string(core::trim(*type));
    std::string message;
    if (auto json = core::json::parse(body); json && json->IsObject()) {
      for (const char* field : {"__type", "code"}) {
        if (!code.empty()) break;
        if (auto value = core::json::get_string(*json, field)) code = std::string(*value);
      }
      for (const char* field : {"message", "Message"}) {
        if (auto value = core::json::get_string(*json, field)) {
          message = core::utf8_truncate(*value, 300);
          break;
        }
      }
    }
    if (const auto colon = code.find(':'); colon != std::string::npos) code.erase(colon);
    return sso_error(fmt::format("{} refused: {} (HTTP {}){}{}", what,
                                 code.empty() ? "no error code" : code, response->status,
                                 message.empty() ? std::string() : " — " + message,
                                 response->status == 401 ? "; " + login_hint(sso) : std::string()));
  }
  auto json = core::json::parse(body);
  const rapidjson::Value* role =
      json && json->IsObject() ? core::json::get_object(*json, "roleCredentials") : nullptr;
  if (role == nullptr) return sso_error(fmt::format("{} answered without roleCredentials", what));
  const auto key_id = core::json::get_string(*role, "accessKeyId");
  const auto secret = core::json::get_string(*role, "secretAccessKey");
  const auto session = core::json::get_string(*role, "sessionToken");
  const auto expiration = core::json::get_int(*role, "expiration");  // epoch milliseconds
  if (!key_id || key_id->empty() || !secret || secret->empty() || !session || !expiration) {
    return sso_error(fmt::format(
        "{} answered without accessKeyId, secretAccessKey, sessionToken or expiration", what));
  }
  return Credentials{std::string(*key_id), std::string(*secret), std::string(*session),
                     core::TimePoint(std::chrono::milliseconds(*expiration))};
}

}  // namespace aws::detail
