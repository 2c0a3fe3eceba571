#include "infra/metered_backend.hpp"

#include <string>
#include <utility>

namespace infra {
namespace {
constexpr std::string_view kOrchestrator = "orchestrator";
constexpr std::string_view kWhitelist = "whitelist";
}  // namespace

MeteredBackend::MeteredBackend(Backend& inner, core::metrics::Registry& metrics)
    : inner_(inner), metrics_(metrics) {
  metrics_.declare_counter("infra_lambda_calls_total",
                           "Backend (Lambda) calls, by function and outcome");
}

template <typename T>
core::Result<T> MeteredBackend::count(std::string_view function, core::Result<T> result) {
  const std::string outcome =
      result ? std::string("ok") : std::string(core::to_string(result.error().code));
  metrics_.increment("infra_lambda_calls_total",
                     {{"function", std::string(function)}, {"outcome", outcome}});
  return result;
}

core::Result<EnvironmentStatus> MeteredBackend::status(std::string_view environment,
                                                       const RequestContext& context) {
  return count(kOrchestrator, inner_.status(environment, context));
}

core::Result<ActionResult> MeteredBackend::run(const LifecycleRequest& request,
                                               const RequestContext& context) {
  return count(kOrchestrator, inner_.run(request, context));
}

core::Result<WhitelistAdded> MeteredBackend::whitelist_add(const WhitelistAdd& command,
                                                           const RequestContext& context) {
  return count(kWhitelist, inner_.whitelist_add(command, context));
}

core::Result<WhitelistRemoved> MeteredBackend::whitelist_remove(const WhitelistRemove& command,
                                                                const RequestContext& context) {
  return count(kWhitelist, inner_.whitelist_remove(command, context));
}

core::Result<WhitelistListing> MeteredBackend::whitelist_list(std::string_view environment,
                                                              const RequestContext& context) {
  return count(kWhitelist, inner_.whitelist_list(environment, context));
}

core::Result<WhitelistRefreshed> MeteredBackend::whitelist_refresh(std::string_view environment,
                                                                   const RequestContext& context) {
  return count(kWhitelist, inner_.whitelist_refresh(environment, context));
}

core::Result<std::vector<WhitelistEntry>> MeteredBackend::whitelist_expire(
    std::string_view environment, core::TimePoint now, const RequestContext& context) {
  return count(kWhitelist, inner_.whitelist_expire(environment, now, context));
}

}  // namespace infra
