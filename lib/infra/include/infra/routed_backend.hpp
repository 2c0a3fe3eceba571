#pragma once

#include <string>
#include <string_view>

#include "infra/backend.hpp"

namespace infra {

/// The hybrid backend (design §9): everything goes to `native` (the aws
/// backend) except what only an orchestrator can do — `teardown
/// --level=full` and `spinup` — which goes to `orchestrator` (the Lambda
/// backend) when there is one. Without one, those two are `native`'s to
/// refuse through unsupported(). Neither backend is owned.
class RoutedBackend final : public Backend {
 public:
  /// `orchestrator` may be null (no ORCHESTRATOR_LAMBDA_ARN).
  RoutedBackend(Backend& native, Backend* orchestrator);

  std::string_view name() const override { return name_; }

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
  std::optional<std::string> unsupported(const LifecycleRequest& request) const override;
  core::Result<std::vector<WhitelistEntry>> whitelist_expire(
      std::string_view environment, core::TimePoint now, const RequestContext& context) override;

  /// Whether `request` needs the orchestrator: a full teardown or a spinup.
  static bool needs_orchestrator(const LifecycleRequest& request);

 private:
  Backend& route(const LifecycleRequest& request) const;

  Backend& native_;
  Backend* orchestrator_;
  std::string name_;
};

}  // namespace infra
