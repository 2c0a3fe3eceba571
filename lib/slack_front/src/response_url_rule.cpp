#include "response_url_rule.hpp"

#include <algorithm>

namespace slack_front {
namespace {

constexpr std::string_view kSlackHooks = "https://hooks.slack.com/";
constexpr std::string_view kSlackApi = "https://slack.com/api/";

// "scheme://authority" of a URL, or empty when it has none.
std::string_view origin_of(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const auto path = url.find('/', scheme_end + 3);
  return url.substr(0, path);
}

}  // namespace

bool acceptable_response_url(std::string_view url, std::string_view slack_api_url) {
  // No spaces or control characters: nothing a URL parser could read two ways.
  const bool plain = std::all_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) != 0x7f;
  });
  if (!plain) return false;
  if (url.starts_with(kSlackHooks) && url.size() > kSlackHooks.size()) return true;
  if (slack_api_url == kSlackApi) return false;
  const std::string_view origin = origin_of(slack_api_url);
  if (origin.empty()) return false;
  // The same authority exactly: "https://127.0.0.1:8443" must not match "…:84430" or "…@evil".
  return url.size() > origin.size() + 1 && url.starts_with(origin) && url[origin.size()] == '/';
}

}  // namespace slack_front
