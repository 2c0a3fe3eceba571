#include "infra/aws_backend.hpp"

#include <fmt/format.h>

namespace infra {
namespace {

core::Error not_yet(std::string_view what) {
  return core::make_error(core::ErrorCode::unavailable,
                          fmt::format("The aws backend cannot {} yet.", what),
                          fmt::format("aws backend: {} not implemented", what));
}

}  // namespace

class AwsBackend::Impl {
 public:
  Impl(AwsBackendSettings settings, AwsApis apis, const core::Clock& clock, core::LoggerPtr logger)
      : settings_(std::move(settings)),
        apis_(std::move(apis)),
        clock_(clock),
        logger_(std::move(logger)) {}

  AwsBackendSettings settings_;
  AwsApis apis_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
};

AwsBackend::AwsBackend(AwsBackendSettings settings, AwsApis apis, const core::Clock& clock,
                       core::LoggerPtr logger)
    : impl_(
          std::make_unique<Impl>(std::move(settings), std::move(apis), clock, std::move(logger))) {}

AwsBackend::~AwsBackend() = default;

core::Result<EnvironmentStatus> AwsBackend::status(std::string_view, const RequestContext&) {
  return not_yet("report status");
}
core::Result<ActionResult> AwsBackend::run(const LifecycleRequest&, const RequestContext&) {
  return not_yet("run actions");
}
core::Result<WhitelistAdded> AwsBackend::whitelist_add(const WhitelistAdd&, const RequestContext&) {
  return not_yet("edit the allow-list");
}
core::Result<WhitelistRemoved> AwsBackend::whitelist_remove(const WhitelistRemove&,
                                                            const RequestContext&) {
  return not_yet("edit the allow-list");
}
core::Result<WhitelistListing> AwsBackend::whitelist_list(std::string_view, const RequestContext&) {
  return not_yet("list the allow-list");
}
core::Result<WhitelistRefreshed> AwsBackend::whitelist_refresh(std::string_view,
                                                               const RequestContext&) {
  return not_yet("refresh the allow-list");
}
std::optional<std::string> AwsBackend::unsupported(const LifecycleRequest&) const {
  return std::nullopt;
}
core::Result<std::vector<WhitelistEntry>> AwsBackend::whitelist_expire(std::string_view,
                                                                       core::TimePoint,
                                                                       const RequestContext&) {
  return not_yet("expire allow-list entries");
}

core::Result<std::unique_ptr<AwsBackend>> make_aws_backend(const core::Config&, core::http::Client&,
                                                           aws::CredentialsProvider&,
                                                           const core::Clock&, aws::Sleeper&,
                                                           core::LoggerPtr) {
  return not_yet("start");
}

}  // namespace infra
