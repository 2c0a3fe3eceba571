#include "credential_source.hpp"

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/strings.hpp"

namespace aws::detail {

core::Result<Credentials> parse_credentials_json(std::string_view body, std::string_view origin) {
  const auto fail = [&](std::string_view what) {
    return core::make_error(core::ErrorCode::unavailable, fmt::format("{} {}", origin, what));
  };
  auto document = core::json::parse(body);
  // The body is never quoted in an error: a half-valid one may hold a secret.
  if (!document || !document->IsObject()) return fail("returned a body that is not a JSON object");
  const auto& json = *document;
  const auto key_id = core::json::get_string(json, "AccessKeyId");
  const auto secret = core::json::get_string(json, "SecretAccessKey");
  const auto token = core::json::get_string(json, "Token");
  const auto expiration = core::json::get_string(json, "Expiration");
  if (!key_id || key_id->empty()) return fail("returned no AccessKeyId");
  if (!secret || secret->empty()) return fail("returned no SecretAccessKey");
  if (!expiration) return fail("returned no Expiration");
  const auto expires = core::parse_rfc3339(*expiration);
  if (!expires) return fail("returned an Expiration that is not an RFC 3339 time");
  return Credentials{std::string(*key_id), std::string(*secret),
                     token ? std::string(*token) : std::string(), *expires};
}

std::string url_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "(a URL without a scheme)";
  const auto rest = url.substr(scheme_end + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);  // user info may be a password
  }
  return fmt::format("{}://{}", core::to_lower(url.substr(0, scheme_end)), authority);
}

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace aws::detail
