#pragma once

#include <string>
#include <vector>

#include "aws/outcome.hpp"
#include "aws/service_client.hpp"
#include "aws/tag.hpp"

namespace aws {

/// An RDS DB instance (DescribeDBInstances, Stop/StartDBInstance).
struct DbInstance {
  std::string identifier;
  std::string arn;
  std::string status;  ///< DBInstanceStatus: available, stopped, stopping, …
  std::string engine;
  std::string cluster_identifier;  ///< set for Aurora members: stop/start the cluster
  Tags tags;
  friend bool operator==(const DbInstance&, const DbInstance&) = default;
};

/// An RDS DB cluster (Aurora, Multi-AZ clusters).
struct DbCluster {
  std::string identifier;
  std::string arn;
  std::string status;
  std::string engine;
  std::vector<std::string> members;  ///< DBClusterMembers' instance identifiers
  Tags tags;
  friend bool operator==(const DbCluster&, const DbCluster&) = default;
};

/// RDS as the aws backend uses it.
class RdsApi {
 public:
  virtual ~RdsApi() = default;
  /// The instances with these identifiers, every page: one by
  /// DBInstanceIdentifier (an unknown one is a DBInstanceNotFound error),
  /// several by the filter db-instance-id; an empty list describes all.
  virtual Outcome<std::vector<DbInstance>> describe_db_instances(
      const std::vector<std::string>& identifiers) = 0;
  /// The clusters with these identifiers, as describe_db_instances
  /// (DBClusterIdentifier, filter db-cluster-id; DBClusterNotFoundFault).
  virtual Outcome<std::vector<DbCluster>> describe_db_clusters(
      const std::vector<std::string>& identifiers) = 0;
  virtual Outcome<DbInstance> stop_db_instance(const std::string& identifier) = 0;
  virtual Outcome<DbInstance> start_db_instance(const std::string& identifier) = 0;
  virtual Outcome<DbCluster> stop_db_cluster(const std::string& identifier) = 0;
  virtual Outcome<DbCluster> start_db_cluster(const std::string& identifier) = 0;
};

/// RDS over the Query protocol (XML answers). Stop/start are idempotent in
/// effect (a repeat meets InvalidDBInstanceState, which the caller reads by
/// re-describing). Thread-safe.
class RdsClient final : public RdsApi {
 public:
  explicit RdsClient(ServiceClientPtr service, int max_pages = 100);

  Outcome<std::vector<DbInstance>> describe_db_instances(
      const std::vector<std::string>& identifiers) override;
  Outcome<std::vector<DbCluster>> describe_db_clusters(
      const std::vector<std::string>& identifiers) override;
  Outcome<DbInstance> stop_db_instance(const std::string& identifier) override;
  Outcome<DbInstance> start_db_instance(const std::string& identifier) override;
  Outcome<DbCluster> stop_db_cluster(const std::string& identifier) override;
  Outcome<DbCluster> start_db_cluster(const std::string& identifier) override;

 private:
  ServiceClientPtr service_;
  int max_pages_;
};

}  // namespace aws
