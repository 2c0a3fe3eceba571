// The IP allow-list's replies: added, removed, the listing, a refresh, an expiry.
#include "infra/views.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/strings.hpp"
#include "views_format.hpp"

namespace infra::views {

using namespace detail;

namespace {

using core::reply::Divider;
using core::reply::Header;
using core::reply::Section;
using core::reply::Visibility;

std::string whitelist_entry_line(const WhitelistEntry& entry, core::TimePoint now) {
  std::string left = "no expiry";
  if (entry.expires_at) {
    const auto remaining = std::chrono::ceil<std::chrono::seconds>(*entry.expires_at - now);
    left = remaining.count() > 0 ? format_time_left(remaining) + " left" : "expired";
  }
  std::string line = fmt::format("`{}`", or_unknown(entry.cidr));
  if (!entry.description.empty()) line += fmt::format(" — {}", entry.description);
  line += fmt::format(" (added by {}, {})", or_unknown(entry.added_by), left);
  return line;
}

}  // namespace

Message render_whitelist_added(const WhitelistAdded& added, core::TimePoint now) {
  const auto& entry = added.entry;
  std::string expires = "Expires: never";
  if (entry.expires_at) {
    const auto remaining = std::chrono::ceil<std::chrono::seconds>(*entry.expires_at - now);
    expires = fmt::format(
        "Expires: {} ({})", core::format_rfc3339(*entry.expires_at),
        remaining.count() > 0 ? "in " + format_time_left(remaining) : std::string("expired"));
  }
  std::vector<std::string> lines = {
      fmt::format("CIDR: `{}`", or_unknown(entry.cidr)),
      "Description: " + (entry.description.empty() ? std::string("(none)") : entry.description),
      "Added by: " + or_unknown(entry.added_by),
      std::move(expires),
      fmt::format("Ports: {}", kWhitelistPorts),
  };
  if (added.replaced) {
    lines.emplace_back(":repeat: This CIDR was already listed: its expiry was renewed.");
  }
  return message(
      fmt::format("Whitelisted {} in {}.", or_unknown(entry.cidr), or_unknown(added.environment)),
      {
          Header{title_line(kOk, "whitelist add", added.environment)},
          Divider{},
          Section{"", std::move(lines)},
      },
      Visibility::in_channel);
}

Message render_whitelist_removed(const WhitelistRemoved& removed) {
  return message(fmt::format("Removed {} from the {} whitelist.", or_unknown(removed.cidr),
                             or_unknown(removed.environment)),
                 {
                     Header{title_line(kOk, "whitelist remove", removed.environment)},
                     Divider{},
                     Section{"", {fmt::format("CIDR: `{}` removed.", or_unknown(removed.cidr))}},
                 },
                 Visibility::in_channel);
}

Message render_whitelist_list(const WhitelistListing& listing, core::TimePoint now) {
  Section section;
  if (listing.entries.empty()) {
    section.lines.emplace_back("No entries.");
  } else {
    section.title = plural(listing.entries.size(), "entry:", "entries:");
    for (const auto& entry : listing.entries) {
      section.lines.push_back(whitelist_entry_line(entry, now));
    }
  }
  return message(fmt::format("IP whitelist of {}: {}.", or_unknown(listing.environment),
                             plural(listing.entries.size(), "entry", "entries")),
                 {
                     Header{"IP Whitelist: " + upper_env(listing.environment)},
                     Divider{},
                     std::move(section),
                 },
                 Visibility::ephemeral);
}

Message render_whitelist_refreshed(const WhitelistRefreshed& refreshed) {
  const std::string groups =
      refreshed.security_groups.empty() ? "none" : core::join(refreshed.security_groups);
  std::vector<core::reply::Block> blocks = {
      Header{title_line(kOk, "whitelist refresh", refreshed.environment)},
      Divider{},
      Section{"",
              {
                  "Security groups: " + groups,
                  fmt::format("Rules added: {}", refreshed.rules_added),
                  fmt::format("Rules removed: {}", refreshed.rules_removed),
              }},
  };
  // What the refresh took away: the expiry sweep will not announce these.
  if (!refreshed.expired.empty()) {
    Section expired{"Expired and removed:", {}};
    for (const auto& entry : refreshed.expired) {
      std::string line = fmt::format("`{}`", or_unknown(entry.cidr));
      if (!entry.description.empty()) line += fmt::format(" — {}", entry.description);
      line += fmt::format(" (added by {})", or_unknown(entry.added_by));
      expired.lines.push_back(std::move(line));
    }
    blocks.emplace_back(std::move(expired));
  }
  return message(fmt::format("Refreshed the {} whitelist: {} added, {} removed.",
                             or_unknown(refreshed.environment), refreshed.rules_added,
                             refreshed.rules_removed),
                 std::move(blocks), Visibility::in_channel);
}

Message render_whitelist_expired(const WhitelistEntry& entry, std::string_view environment) {
  std::string line =
      fmt::format(":hourglass: `{}` expired and was removed from the allow-list of `{}`",
                  or_unknown(entry.cidr), or_unknown(environment));
  if (!entry.description.empty()) line += fmt::format(" ({})", entry.description);
  line += fmt::format(" — added by {}", or_unknown(entry.added_by));
  if (entry.expires_at) line += ", expired " + core::format_rfc3339(*entry.expires_at);
  line += '.';
  return notice(std::move(line), Visibility::in_channel);
}

}  // namespace infra::views
