#pragma once

#include <string_view>

#include "core/metrics.hpp"
#include "infra/backend.hpp"

namespace infra {

/// A Backend that counts every call in `infra_lambda_calls_total{function,
/// outcome}` (function: orchestrator or whitelist, the Lambda of design §4
/// that serves it; outcome: ok or the error code) and passes it on.
class MeteredBackend final : public Backend {
 public:
  MeteredBackend(Backend& inner, core::metrics::Registry& metrics);

  std::string_view name() const override { return inner_.name(); }
  core::Result<EnvironmentStatus> status(std::string_view environment,
                                         const RequestContext& context) override;
  core::Result<ActionResult> run(const LifecycleRequest& request,
                                 const RequestContext& context) override;
  core::Result<WhitelistAdded> whitelist_add(const WhitelistAdd& command,
                                             const RequestContext& context) override;
  core::Result<WhitelistRemoved> whitelist_remove(const WhitelistRemove& command,
                                                  const RequestContext& context) override;
  core::Result<WhitelistListing> whitelist_list(std::string_view environment,
                                                const RequestContext& context) override;
  core::Result<WhitelistRefreshed> whitelist_refresh(std::string_view environment,
                                                     const RequestContext& context) override;
  std::optional<std::string> unsupported(const LifecycleRequest& request) const override {
    return inner_.unsupported(request);
  }
  core::Result<std::vector<WhitelistEntry>> whitelist_expire(
      std::string_view environment, core::TimePoint now, const RequestContext& context) override;

 private:
  template <typename T>
  core::Result<T> count(std::string_view function, core::Result<T> result);

  Backend& inner_;
  core::metrics::Registry& metrics_;
};

}  // namespace infra
