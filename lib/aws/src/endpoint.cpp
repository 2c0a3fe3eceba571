#include "endpoint.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/strings.hpp"

namespace aws::detail {

core::Result<Endpoint> parse_endpoint(std::string_view url, std::string_view service) {
  auto bad = [&](std::string_view why) {
    return core::make_error(
        core::ErrorCode::config,
        fmt::format("The {} endpoint \"{}\" is not usable: {}.", service, url, why),
        fmt::format("{} endpoint {}: {}", core::to_lower(service), url, why));
  };
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
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return bad("expected scheme://host[:port]");
  }
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
