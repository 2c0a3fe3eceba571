#include "endpoint.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/environment.hpp"
#include "core/strings.hpp"

namespace aws::detail {

namespace {

// `url` without any user info ("user:secret@"): everything from the start of
// the authority up to the last '@' is dropped, so no password reaches a
// message or a log, however the rest of the URL is malformed.
std::string without_userinfo(std::string_view url) {
  const auto scheme_end = url.find("://");
  const std::size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const auto at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(at + 1));
}

}  // namespace

core::Result<Endpoint> parse_endpoint(std::string_view url, std::string_view service) {
  auto bad = [&, shown = without_userinfo(url)](std::string_view why) {
    return core::make_error(
        core::ErrorCode::config,
        fmt::format("The {} endpoint \"{}\" is not usable: {}.", service, shown, why),
        fmt::format("{} endpoint {}: {}", core::to_lower(service), shown, why));
  };
  // User info anywhere (even after a '/' that ends the authority early, as in
  // "user:pa/ss@host") is refused, and never echoed.
  if (url.find('@') != std::string_view::npos) {
    return bad("no user info (`user:password@`) in the URL");
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return bad("expected http:// or https://");
  const std::string scheme = core::to_lower(url.substr(0, scheme_end));
  if (scheme != "https" && scheme != "http") return bad("expected http:// or https://");
  std::string_view rest = url.substr(scheme_end + 3);
  const auto path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path =
      path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
  if (path.find_first_of("?#") != std::string_view::npos) return bad("no query or fragment");
  if (authority.empty()) return bad("expected scheme://host[:port]");
  while (path.ends_with('/')) path.remove_suffix(1);

  std::string host = core::to_lower(authority);
  // A port after the host (after ']' for an IPv6 literal) that is the
  // scheme's default is not part of Host (what curl and botocore send).
  const auto bracket = host.rfind(']');
  const auto colon = host.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    const std::string_view port = std::string_view(host).substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("bad port");
    }
    if ((scheme == "https" && port == "443") || (scheme == "http" && port == "80")) {
      host.erase(colon);
    }
  }
  return Endpoint{scheme + "://" + std::string(authority), std::move(host), std::string(path)};
}

std::string regional_endpoint(std::string_view prefix, std::string_view region,
                              std::string_view partition) {
  const bool china = region.starts_with("cn-") || partition == "aws-cn";
  return fmt::format("https://{}.{}.{}", prefix, region,
                     china ? "amazonaws.com.cn" : "amazonaws.com");
}

}  // namespace aws::detail

namespace aws::detail {

std::string endpoint_override(const core::Environment& env, std::string_view service_id) {
  if (auto ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
      ignore && core::to_lower(core::trim(*ignore)) == "true") {
    return {};
  }
  for (const auto& variable :
       {fmt::format("AWS_ENDPOINT_URL_{}", service_id), std::string("AWS_ENDPOINT_URL")}) {
    if (auto value = env.get(variable); value && !core::trim(*value).empty()) {
      return std::string(core::trim(*value));
    }
  }
  return {};
}

}  // namespace aws::detail
