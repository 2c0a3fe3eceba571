#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aws/outcome.hpp"
#include "aws/service_client.hpp"
#include "aws/tag.hpp"

namespace aws {

/// A Resource Groups Tagging API tag filter: `key` with any of `values`
/// (no values = the key with any value).
struct TagFilter {
  std::string key;
  std::vector<std::string> values;
};

/// One resource GetResources returned, with the tags it had (may be empty for
/// a resource that was once tagged).
struct TaggedResource {
  std::string arn;
  Tags tags;
  friend bool operator==(const TaggedResource&, const TaggedResource&) = default;
};

struct GetResourcesQuery {
  std::vector<TagFilter> tag_filters;       ///< ANDed
  std::vector<std::string> resource_types;  ///< "ecs:service", "rds:db", "ec2:instance", …
};

/// The tagging API as the aws backend uses it (an interface so the backend's
/// logic can run against an in-memory fake).
class TaggingApi {
 public:
  virtual ~TaggingApi() = default;
  /// Every page of GetResources, in order.
  virtual Outcome<std::vector<TaggedResource>> get_resources(const GetResourcesQuery& query) = 0;
};

struct TaggingSettings {
  int per_page = 100;   ///< ResourcesPerPage (1–100)
  int max_pages = 100;  ///< more pages than this is an error (10,000 resources)
};

/// GetResources over JSON 1.1, paginated until the token is empty (a page may
/// be empty and still carry a token). The same token returned twice, or more
/// than `max_pages` pages, is an `unavailable` error that says so. Thread-safe.
class TaggingClient final : public TaggingApi {
 public:
  explicit TaggingClient(ServiceClientPtr service, TaggingSettings settings = {});

  Outcome<std::vector<TaggedResource>> get_resources(const GetResourcesQuery& query) override;

 private:
  ServiceClientPtr service_;
  TaggingSettings settings_;
};

}  // namespace aws
