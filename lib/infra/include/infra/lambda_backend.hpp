#pragma once

#include <optional>

#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "infra/backend.hpp"

namespace infra {

struct LambdaBackendSettings {
  aws::FunctionRef orchestrator;
  /// None: the deployment has no IP whitelist Lambda, and every whitelist
  /// command is refused with one line that says so.
  std::optional<aws::FunctionRef> whitelist;
  std::chrono::seconds orchestrator_timeout{910};  ///< function max 900 s + margin
  std::chrono::seconds whitelist_timeout{70};
};

/// infra::Backend over the orchestrator and whitelist Lambdas with the exact
/// request/response contract of design §4 (fixtures in proto-fixtures/lambda/).
/// Responses are parsed leniently: unknown fields are ignored, missing ones
/// become empty/unknown; `{"ok": false, "error": …}` and function errors become
/// Errors with the Lambda's text for the user. status and whitelist list are
/// read-only (retried); everything else is mutating (never re-sent once it may
/// have run). Thread-safe.
class LambdaBackend final : public Backend {
 public:
  LambdaBackend(LambdaBackendSettings settings, aws::LambdaClient& lambda, const core::Clock& clock,
                core::LoggerPtr logger);

  std::string_view name() const override { return "lambda"; }

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

 private:
  LambdaBackendSettings settings_;
  aws::LambdaClient& lambda_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
};

}  // namespace infra
