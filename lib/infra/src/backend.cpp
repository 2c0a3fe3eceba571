#include "infra/backend.hpp"

#include "infra/command_parser.hpp"

namespace infra {
namespace {

// An entry's CIDR as a backend listed it: any prefix the backend holds.
core::Result<Cidr> parse_cidr_text(std::string_view text) {
  ParserSettings settings;
  settings.min_prefix_v4 = 1;
  settings.min_prefix_v6 = 1;
  return parse_cidr(text, settings);
}

}  // namespace

std::string_view to_string(LifecycleAction action) {
  switch (action) {
    case LifecycleAction::stop:
      return "stop";
    case LifecycleAction::start:
      return "start";
    case LifecycleAction::teardown:
      return "teardown";
    case LifecycleAction::spinup:
      return "spinup";
    case LifecycleAction::reboot:
      return "reboot";
  }
  return "unknown";
}

std::optional<std::string> Backend::unsupported(const LifecycleRequest&) const {
  return std::nullopt;
}

core::Result<std::vector<WhitelistEntry>> Backend::whitelist_expire(std::string_view environment,
                                                                    core::TimePoint now,
                                                                    const RequestContext& context) {
  auto listing = whitelist_list(environment, context);
  if (!listing) return listing.error();
  std::vector<WhitelistEntry> expired;
  for (auto& entry : listing->entries) {
    if (!entry.expires_at || *entry.expires_at > now) continue;
    auto cidr = parse_cidr_text(entry.cidr);
    if (!cidr) continue;  // not ours to remove: a listing we could not read back
    auto removed =
        whitelist_remove(WhitelistRemove{std::move(*cidr), std::string(environment)}, context);
    // An entry someone else removed meanwhile has expired all the same.
    if (removed || removed.error().code == core::ErrorCode::not_found) {
      expired.push_back(std::move(entry));
    } else {
      return removed.error();
    }
  }
  return expired;
}

}  // namespace infra
