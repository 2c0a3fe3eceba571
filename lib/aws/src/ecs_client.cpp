#include "aws/ecs_client.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"

namespace aws {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// DescribeServices takes at most 10 services a call.
constexpr std::size_t kDescribeBatch = 10;

void write(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

std::string finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The last '/' segment of an ARN or name ("…:service/cluster/api" → "api").
std::string_view last_segment(std::string_view text) {
  const auto slash = text.rfind('/');
  return slash == std::string_view::npos ? text : text.substr(slash + 1);
}

std::string str(const rapidjson::Value& object, std::string_view key) {
  return std::string(core::json::get_string(object, key).value_or(""));
}

EcsServiceDescription parse_service(const rapidjson::Value& object) {
  EcsServiceDescription service;
  service.arn = str(object, "serviceArn");
  service.name = str(object, "serviceName");
  if (service.name.empty()) service.name = std::string(last_segment(service.arn));
  service.cluster_arn = str(object, "clusterArn");
  service.status = str(object, "status");
  service.desired_count = core::json::get_int(object, "desiredCount").value_or(0);
  service.running_count = core::json::get_int(object, "runningCount").value_or(0);
  if (const auto* tags = core::json::get_array(object, "tags")) {
    for (const auto& tag : tags->GetArray()) {
      if (!tag.IsObject()) continue;
      service.tags.push_back(Tag{str(tag, "key"), str(tag, "value")});
    }
  }
  return service;
}

}  // namespace

EcsClient::EcsClient(ServiceClientPtr service) : service_(std::move(service)) {}

Outcome<EcsServices> EcsClient::describe_services(const std::string& cluster_arn,
                                                  const std::vector<std::string>& services) {
  constexpr std::string_view kOperation = "DescribeServices";
  EcsServices result;
  for (std::size_t first = 0; first < services.size(); first += kDescribeBatch) {
    const std::size_t last = std::min(services.size(), first + kDescribeBatch);
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    // Always the cluster: without it ECS looks in the cluster named "default".
    writer.Key("cluster");
    write(writer, cluster_arn);
    writer.Key("services");
    writer.StartArray();
    for (std::size_t i = first; i < last; ++i) write(writer, services[i]);
    writer.EndArray();
    writer.Key("include");
    writer.StartArray();
    writer.String("TAGS");
    writer.EndArray();
    writer.EndObject();

    const std::string subject =
        last - first == 1 ? fmt::format("service {}", last_segment(services[first]))
                          : fmt::format("services of cluster {}", last_segment(cluster_arn));
    auto answer = service_->call_json(kOperation, finish(buffer), Retryability::read, subject);
    if (!answer) return std::move(answer).failure();
    if (const auto* list = core::json::get_array(*answer, "services")) {
      for (const auto& item : list->GetArray()) {
        if (item.IsObject()) result.services.push_back(parse_service(item));
      }
    }
    if (const auto* list = core::json::get_array(*answer, "failures")) {
      for (const auto& item : list->GetArray()) {
        if (!item.IsObject()) continue;
        result.failures.push_back(
            EcsFailure{str(item, "arn"), str(item, "reason"), str(item, "detail")});
      }
    }
  }
  return result;
}

Outcome<EcsServiceDescription> EcsClient::update_service(const std::string& cluster_arn,
                                                         const std::string& service,
                                                         std::int64_t desired_count) {
  constexpr std::string_view kOperation = "UpdateService";
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("cluster");
  write(writer, cluster_arn);
  writer.Key("service");
  write(writer, service);
  writer.Key("desiredCount");
  writer.Int64(desired_count);
  writer.EndObject();
  // Idempotent: setting the same desiredCount again changes nothing and
  // starts no deployment.
  const std::string subject = fmt::format("service {}", last_segment(service));
  auto answer = service_->call_json(kOperation, finish(buffer), Retryability::idempotent, subject);
  if (!answer) return std::move(answer).failure();
  const auto* object = core::json::get_object(*answer, "service");
  if (object == nullptr) return service_->unreadable(kOperation, "no service object", subject);
  return parse_service(*object);
}

Outcome<Done> EcsClient::tag_resource(const std::string& arn, const Tags& tags) {
  constexpr std::string_view kOperation = "TagResource";
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("resourceArn");
  write(writer, arn);
  writer.Key("tags");
  writer.StartArray();
  for (const auto& tag : tags) {
    // ECS spells tag members in lower case.
    writer.StartObject();
    writer.Key("key");
    write(writer, tag.key);
    writer.Key("value");
    write(writer, tag.value);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  // Idempotent: the same tag again is the same state.
  auto answer = service_->call_json(kOperation, finish(buffer), Retryability::idempotent,
                                    fmt::format("service {}", last_segment(arn)));
  if (!answer) return std::move(answer).failure();
  return Done{};
}

}  // namespace aws
