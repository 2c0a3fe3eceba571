#include "aws/tagging_client.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "paging.hpp"

namespace aws {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

std::string request_body(const GetResourcesQuery& query, int per_page, const std::string& token) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  if (!query.tag_filters.empty()) {
    writer.Key("TagFilters");
    writer.StartArray();
    for (const auto& filter : query.tag_filters) {
      writer.StartObject();
      writer.Key("Key");
      write(writer, filter.key);
      if (!filter.values.empty()) {
        writer.Key("Values");
        writer.StartArray();
        for (const auto& value : filter.values) write(writer, value);
        writer.EndArray();
      }
      writer.EndObject();
    }
    writer.EndArray();
  }
  if (!query.resource_types.empty()) {
    writer.Key("ResourceTypeFilters");
    writer.StartArray();
    for (const auto& type : query.resource_types) write(writer, type);
    writer.EndArray();
  }
  writer.Key("ResourcesPerPage");
  writer.Int(per_page);
  // The first page goes without a token (botocore's paginator sends none).
  if (!token.empty()) {
    writer.Key("PaginationToken");
    write(writer, token);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

TaggingClient::TaggingClient(ServiceClientPtr service, TaggingSettings settings)
    : service_(std::move(service)), settings_(settings) {}

Outcome<std::vector<TaggedResource>> TaggingClient::get_resources(const GetResourcesQuery& query) {
  constexpr std::string_view kOperation = "GetResources";
  std::vector<TaggedResource> resources;
  detail::PageGuard guard("tagging API", kOperation, settings_.max_pages);
  std::string token;
  for (;;) {
    auto answer = service_->call_json(kOperation, request_body(query, settings_.per_page, token),
                                      Retryability::read);
    if (!answer) return std::move(answer).failure();
    const rapidjson::Document& document = *answer;
    if (const auto* list = core::json::get_array(document, "ResourceTagMappingList")) {
      for (const auto& item : list->GetArray()) {
        if (!item.IsObject()) continue;
        TaggedResource resource;
        resource.arn = std::string(core::json::get_string(item, "ResourceARN").value_or(""));
        if (resource.arn.empty()) continue;
        if (const auto* tags = core::json::get_array(item, "Tags")) {
          for (const auto& tag : tags->GetArray()) {
            if (!tag.IsObject()) continue;
            resource.tags.push_back(
                Tag{std::string(core::json::get_string(tag, "Key").value_or("")),
                    std::string(core::json::get_string(tag, "Value").value_or(""))});
          }
        }
        resources.push_back(std::move(resource));
      }
    } else if (document.HasMember("ResourceTagMappingList")) {
      return service_->unreadable(kOperation, "ResourceTagMappingList is not a list");
    }
    // Loop until the token is empty: a page may be empty and still carry one.
    token = std::string(core::json::get_string(document, "PaginationToken").value_or(""));
    if (token.empty()) break;
    if (auto stop = guard.next(token, resources.size())) return std::move(*stop);
  }
  return resources;
}

}  // namespace aws
