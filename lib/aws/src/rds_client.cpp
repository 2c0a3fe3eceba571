#include "aws/rds_client.hpp"

#include <fmt/format.h>

#include "paging.hpp"
#include "xml.hpp"

namespace aws {
namespace {

// Up to this many identifiers in one describe's filter.
constexpr std::size_t kFilterBatch = 100;

DbInstance parse_instance(const pugi::xml_node& node) {
  DbInstance instance;
  instance.identifier = detail::text(node, "DBInstanceIdentifier");
  instance.arn = detail::text(node, "DBInstanceArn");
  instance.status = detail::text(node, "DBInstanceStatus");
  instance.engine = detail::text(node, "Engine");
  instance.cluster_identifier = detail::text(node, "DBClusterIdentifier");
  instance.tags = detail::tags_of(detail::child(node, "TagList"), "Tag", "Key", "Value");
  return instance;
}

DbCluster parse_cluster(const pugi::xml_node& node) {
  DbCluster cluster;
  cluster.identifier = detail::text(node, "DBClusterIdentifier");
  cluster.arn = detail::text(node, "DBClusterArn");
  cluster.status = detail::text(node, "Status");
  cluster.engine = detail::text(node, "Engine");
  detail::for_each(detail::child(node, "DBClusterMembers"), "DBClusterMember",
                   [&](const pugi::xml_node& member) {
                     cluster.members.push_back(detail::text(member, "DBInstanceIdentifier"));
                   });
  cluster.tags = detail::tags_of(detail::child(node, "TagList"), "Tag", "Key", "Value");
  return cluster;
}

// The <OpResult> element of an answer, or why there is none.
pugi::xml_node result_of(const detail::Parsed& parsed, std::string_view operation,
                         std::string& why) {
  if (!parsed.error.empty()) {
    why = parsed.error;
    return {};
  }
  const std::string wrapper = fmt::format("{}Result", operation);
  pugi::xml_node result = detail::child(parsed.document.document_element(), wrapper);
  if (!result) why = fmt::format("no <{}>", wrapper);
  return result;
}

std::string subject_for(std::string_view kind, const std::vector<std::string>& identifiers) {
  if (identifiers.size() == 1) return fmt::format("{} {}", kind, identifiers.front());
  return {};
}

// Describe{DBInstances,DBClusters}: every page of every batch of identifiers.
template <class T, class Parse>
Outcome<std::vector<T>> describe(ServiceClient& service, std::string_view operation,
                                 std::string_view id_param, std::string_view filter_name,
                                 std::string_view list_name, std::string_view item_name,
                                 std::string_view kind, const std::vector<std::string>& identifiers,
                                 int max_pages, Parse parse) {
  std::vector<T> out;
  std::size_t first = 0;
  do {
    const std::size_t last = std::min(identifiers.size(), first + kFilterBatch);
    const std::vector<std::string> batch(identifiers.begin() + static_cast<long>(first),
                                         identifiers.begin() + static_cast<long>(last));
    const std::string subject = subject_for(kind, batch);
    detail::PageGuard guard(service.spec().display_name, operation, max_pages);
    std::string marker;
    for (;;) {
      QueryParams params;
      if (batch.size() == 1) {
        // One identifier by name: an unknown one is a NotFound error, and IAM
        // and fault rules see which resource is asked for.
        params.emplace_back(std::string(id_param), batch.front());
      } else if (!batch.empty()) {
        params.emplace_back("Filters.Filter.1.Name", std::string(filter_name));
        for (std::size_t i = 0; i < batch.size(); ++i) {
          params.emplace_back(fmt::format("Filters.Filter.1.Values.Value.{}", i + 1), batch[i]);
        }
      }
      if (!marker.empty()) params.emplace_back("Marker", marker);
      auto answer = service.call_query(operation, params, Retryability::read, subject);
      if (!answer) return std::move(answer).failure();
      detail::Parsed parsed;
      detail::parse(*answer, parsed);
      std::string why;
      const pugi::xml_node result = result_of(parsed, operation, why);
      if (!result) return service.unreadable(operation, why, subject);
      detail::for_each(detail::child(result, list_name), item_name,
                       [&](const pugi::xml_node& item) { out.push_back(parse(item)); });
      marker = detail::text(result, "Marker");
      if (marker.empty()) break;
      if (auto stop = guard.next(marker, out.size())) return std::move(*stop);
    }
    first = last;
  } while (first < identifiers.size());
  return out;
}

// Stop/Start{DBInstance,DBCluster}: the resource as the answer shows it.
template <class T, class Parse>
Outcome<T> change(ServiceClient& service, std::string_view operation, std::string_view id_name,
                  std::string_view item_name, std::string_view kind, const std::string& identifier,
                  Parse parse) {
  const std::string subject = fmt::format("{} {}", kind, identifier);
  // Idempotent in effect: a repeat meets an invalid-state error, which the
  // caller reads by describing again.
  auto answer = service.call_query(operation, {{std::string(id_name), identifier}},
                                   Retryability::idempotent, subject);
  if (!answer) return std::move(answer).failure();
  detail::Parsed parsed;
  detail::parse(*answer, parsed);
  std::string why;
  const pugi::xml_node result = result_of(parsed, operation, why);
  if (!result) return service.unreadable(operation, why, subject);
  const pugi::xml_node item = detail::child(result, item_name);
  if (!item) return service.unreadable(operation, fmt::format("no <{}>", item_name), subject);
  return parse(item);
}

}  // namespace

RdsClient::RdsClient(ServiceClientPtr service, int max_pages)
    : service_(std::move(service)), max_pages_(max_pages) {}

Outcome<std::vector<DbInstance>> RdsClient::describe_db_instances(
    const std::vector<std::string>& identifiers) {
  return describe<DbInstance>(*service_, "DescribeDBInstances", "DBInstanceIdentifier",
                              "db-instance-id", "DBInstances", "DBInstance", "instance",
                              identifiers, max_pages_, parse_instance);
}

Outcome<std::vector<DbCluster>> RdsClient::describe_db_clusters(
    const std::vector<std::string>& identifiers) {
  return describe<DbCluster>(*service_, "DescribeDBClusters", "DBClusterIdentifier",
                             "db-cluster-id", "DBClusters", "DBCluster", "cluster", identifiers,
                             max_pages_, parse_cluster);
}

Outcome<DbInstance> RdsClient::stop_db_instance(const std::string& identifier) {
  return change<DbInstance>(*service_, "StopDBInstance", "DBInstanceIdentifier", "DBInstance",
                            "instance", identifier, parse_instance);
}

Outcome<DbInstance> RdsClient::start_db_instance(const std::string& identifier) {
  return change<DbInstance>(*service_, "StartDBInstance", "DBInstanceIdentifier", "DBInstance",
                            "instance", identifier, parse_instance);
}

Outcome<DbCluster> RdsClient::stop_db_cluster(const std::string& identifier) {
  return change<DbCluster>(*service_, "StopDBCluster", "DBClusterIdentifier", "DBCluster",
                           "cluster", identifier, parse_cluster);
}

Outcome<DbCluster> RdsClient::start_db_cluster(const std::string& identifier) {
  return change<DbCluster>(*service_, "StartDBCluster", "DBClusterIdentifier", "DBCluster",
                           "cluster", identifier, parse_cluster);
}

}  // namespace aws
