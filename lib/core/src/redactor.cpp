#include "core/redactor.hpp"

#include <algorithm>
#include <array>

namespace core {
namespace {

constexpr std::string_view kMask = "[REDACTED]";
constexpr std::size_t kMinSecretSize = 8;

// Slack token families: bot, user, app-level, legacy/workspace, refresh, config.
constexpr std::array<std::string_view, 8> kSlackPrefixes = {"xoxb-", "xoxp-", "xapp-", "xoxa-",
                                                            "xoxo-", "xoxs-", "xoxr-", "xoxe"};

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}
bool is_upper_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// redact() skips to the next 'x' or 'A' (kCandidateStarts): every pattern must start with one.
constexpr std::string_view kCandidateStarts = "xA";
static_assert(std::all_of(kSlackPrefixes.begin(), kSlackPrefixes.end(),
                          [](std::string_view p) { return p.front() == 'x'; }),
              "every Slack prefix starts with 'x' (see kCandidateStarts)");

// Length of a Slack token starting at text[i], or 0.
std::size_t slack_token_at(std::string_view text, std::size_t i) {
  for (auto prefix : kSlackPrefixes) {
    if (text.substr(i, prefix.size()) != prefix) continue;
    std::size_t end = i + prefix.size();
    while (end < text.size() && is_token_char(text[end])) ++end;
    // "xoxb-" alone, or a word like "xoxe" with nothing after it, is not a token.
    if (end - i >= prefix.size() + 6) return end - i;
  }
  return 0;
}

// Length of an AWS access key id (AKIA/ASIA + 16 upper-case alphanumerics: both start with
// 'A', see kCandidateStarts) at text[i], or 0.
std::size_t access_key_at(std::string_view text, std::size_t i) {
  auto head = text.substr(i, 4);
  if (head != "AKIA" && head != "ASIA") return 0;
  if (i > 0 && is_upper_alnum(text[i - 1])) return 0;
  std::size_t end = i + 4;
  while (end < text.size() && is_upper_alnum(text[end])) ++end;
  return end - i == 20 ? 20 : 0;
}

}  // namespace

Redactor::Redactor(std::vector<std::string> secrets) {
  for (auto& secret : secrets) add_secret(std::move(secret));
}

void Redactor::add_secret(std::string secret) {
  if (secret.size() < kMinSecretSize) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.push_back(std::move(secret));
  // Longest first, so a secret that contains another is hidden whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string Redactor::redact(std::string_view text) const {
  std::string masked(text);
  for (const auto& secret : secrets_) {
    for (auto at = masked.find(secret); at != std::string::npos;
         at = masked.find(secret, at + kMask.size())) {
      masked.replace(at, secret.size(), kMask);
    }
  }
  std::string out;
  out.reserve(masked.size());
  for (std::size_t i = 0; i < masked.size();) {
    // Copy the text up to the next possible pattern start in one go instead of trying
    // ten prefixes at every byte.
    const auto next = masked.find_first_of(kCandidateStarts, i);
    if (next != i) {
      const auto stop = next == std::string::npos ? masked.size() : next;
      out.append(masked, i, stop - i);
      i = stop;
      continue;
    }
    if (auto n = slack_token_at(masked, i)) {
      // Keep the family ("xoxb-", or "xoxe" for its dashless forms) for debugging.
      const auto token = std::string_view(masked).substr(i, n);
      const auto dash = token.find('-');
      out.append(token.substr(0, dash != std::string_view::npos && dash <= 5 ? dash + 1 : 4));
      out.append(kMask);
      i += n;
    } else if (access_key_at(masked, i)) {
      out.append(masked, i, 4);
      out.append(kMask);
      i += 20;
    } else {
      out.push_back(masked[i++]);
    }
  }
  return out;
}

bool Redactor::contains_secret(std::string_view text) const { return redact(text) != text; }

}  // namespace core
