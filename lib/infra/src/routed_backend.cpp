#include "infra/routed_backend.hpp"

#include <fmt/format.h>

namespace infra {

RoutedBackend::RoutedBackend(Backend& native, Backend* orchestrator)
    : native_(native),
      orchestrator_(orchestrator),
      name_(orchestrator ? fmt::format("{}+{}", native.name(), orchestrator->name())
                         : std::string(native.name())) {}

bool RoutedBackend::needs_orchestrator(const LifecycleRequest& request) {
  return request.action == LifecycleAction::spinup ||
         (request.action == LifecycleAction::teardown &&
          request.level.value_or(TeardownLevel::services) == TeardownLevel::full);
}

Backend& RoutedBackend::route(const LifecycleRequest& request) const {
  return orchestrator_ != nullptr && needs_orchestrator(request) ? *orchestrator_ : native_;
}

core::Result<EnvironmentStatus> RoutedBackend::status(std::string_view environment,
                                                      const RequestContext& context) {
  return native_.status(environment, context);
}

core::Result<ActionResult> RoutedBackend::run(const LifecycleRequest& request,
                                              const RequestContext& context) {
  return route(request).run(request, context);
}

core::Result<WhitelistAdded> RoutedBackend::whitelist_add(const WhitelistAdd& command,
                                                          const RequestContext& context) {
  return native_.whitelist_add(command, context);
}

core::Result<WhitelistRemoved> RoutedBackend::whitelist_remove(const WhitelistRemove& command,
                                                               const RequestContext& context) {
  return native_.whitelist_remove(command, context);
}

core::Result<WhitelistListing> RoutedBackend::whitelist_list(std::string_view environment,
                                                             const RequestContext& context) {
  return native_.whitelist_list(environment, context);
}

core::Result<WhitelistRefreshed> RoutedBackend::whitelist_refresh(std::string_view environment,
                                                                  const RequestContext& context) {
  return native_.whitelist_refresh(environment, context);
}

std::optional<std::string> RoutedBackend::unsupported(const LifecycleRequest& request) const {
  return route(request).unsupported(request);
}

core::Result<std::vector<WhitelistEntry>> RoutedBackend::whitelist_expire(
    std::string_view environment, core::TimePoint now, const RequestContext& context) {
  return native_.whitelist_expire(environment, now, context);
}

}  // namespace infra
