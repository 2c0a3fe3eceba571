#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aws/outcome.hpp"
#include "aws/service_client.hpp"
#include "aws/tag.hpp"

namespace aws {

/// An ECS service as DescribeServices reports it (with its tags).
struct EcsServiceDescription {
  std::string arn;
  std::string name;
  std::string cluster_arn;
  std::string status;  ///< ACTIVE, DRAINING, INACTIVE
  std::int64_t desired_count = 0;
  std::int64_t running_count = 0;
  Tags tags;
  friend bool operator==(const EcsServiceDescription&, const EcsServiceDescription&) = default;
};

/// A DescribeServices `failures` entry (reason "MISSING" for an unknown service).
struct EcsFailure {
  std::string arn;
  std::string reason;
  std::string detail;
  friend bool operator==(const EcsFailure&, const EcsFailure&) = default;
};

struct EcsServices {
  std::vector<EcsServiceDescription> services;
  std::vector<EcsFailure> failures;
};

/// ECS as the aws backend uses it.
class EcsApi {
 public:
  virtual ~EcsApi() = default;
  /// Services (names or ARNs) of one cluster (its ARN), with their tags; any
  /// number (sent 10 a call).
  virtual Outcome<EcsServices> describe_services(const std::string& cluster_arn,
                                                 const std::vector<std::string>& services) = 0;
  /// UpdateService with only desiredCount (no new deployment). Idempotent.
  virtual Outcome<EcsServiceDescription> update_service(const std::string& cluster_arn,
                                                        const std::string& service,
                                                        std::int64_t desired_count) = 0;
  /// TagResource on a long ARN (…:service/<cluster>/<name>). Idempotent.
  virtual Outcome<Done> tag_resource(const std::string& arn, const Tags& tags) = 0;
};

/// ECS over JSON 1.1. Thread-safe.
class EcsClient final : public EcsApi {
 public:
  explicit EcsClient(ServiceClientPtr service);

  Outcome<EcsServices> describe_services(const std::string& cluster_arn,
                                         const std::vector<std::string>& services) override;
  Outcome<EcsServiceDescription> update_service(const std::string& cluster_arn,
                                                const std::string& service,
                                                std::int64_t desired_count) override;
  Outcome<Done> tag_resource(const std::string& arn, const Tags& tags) override;

 private:
  ServiceClientPtr service_;
};

}  // namespace aws
