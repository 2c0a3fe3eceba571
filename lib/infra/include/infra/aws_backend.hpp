#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/ec2_client.hpp"
#include "aws/ecs_client.hpp"
#include "aws/lambda_client.hpp"
#include "aws/rds_client.hpp"
#include "aws/tagging_client.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "infra/backend.hpp"

namespace infra {

struct AwsBackendSettings {
  std::string tag_key = "Environment";  ///< an environment's resources carry tag_key=<name>
  std::vector<std::uint16_t> whitelist_ports{80, 443, 7233};
  std::string region;  ///< for messages ("nothing tagged … in eu-west-1")
};

/// The four AWS APIs the backend drives (owned by it).
struct AwsApis {
  std::unique_ptr<aws::TaggingApi> tagging;
  std::unique_ptr<aws::EcsApi> ecs;
  std::unique_ptr<aws::RdsApi> rds;
  std::unique_ptr<aws::Ec2Api> ec2;
};

/// infra::Backend driving an AWS account directly, scoped by tag: an
/// environment's resources are those tagged `tag_key=<environment>` (found
/// with the tagging API, then described by their services, whose current tags
/// decide). status reports ECS services, RDS instances and clusters and EC2
/// instances; stop/start act on all of them (an ECS service's desired count is
/// kept in its tag `infra-bot:desired-count` while stopped), teardown
/// --level=services stops ECS and RDS, reboot reboots EC2 instances. A
/// resource that fails is a note (status: a problem) and the rest goes on;
/// only when every resource failed is the result an Error. teardown
/// --level=full and spinup are unsupported() (they need the orchestrator
/// Lambda). The allow-list lives in the security groups tagged
/// `tag_key=<environment>` and `infra-bot:whitelist=true`, as ingress rules
/// whose description starts with `infra-bot:wl ` (see
/// whitelist_rule_description.hpp); no other rule is ever listed, changed or
/// removed. Thread-safe: the changes of one environment's allow-list (add,
/// remove, refresh, expire) run one at a time, so the expiry sweep never
/// revokes a rule a user is renewing (within this process; replicas still race).
class AwsBackend final : public Backend {
 public:
  AwsBackend(AwsBackendSettings settings, AwsApis apis, const core::Clock& clock,
             core::LoggerPtr logger);
  ~AwsBackend() override;

  std::string_view name() const override { return "aws"; }

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

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// The aws backend for `config` (region, tag_key, whitelist_ports and the
/// per-service endpoints aws_endpoints), its clients sending through `http`,
/// signed with `credentials` at `clock`'s time, backing off through
/// `sleeper`. `clock` is also the backend's "now" (allow-list expiry). Every
/// reference must outlive the backend. A config Error when the region is
/// missing or an endpoint URL is unusable.
core::Result<std::unique_ptr<AwsBackend>> make_aws_backend(
    const core::Config& config, core::http::Client& http, aws::CredentialsProvider& credentials,
    const core::Clock& clock, aws::Sleeper& sleeper, core::LoggerPtr logger);

}  // namespace infra
