#include "aws/secrets_manager_client.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"

namespace aws {

SecretsManagerClient::SecretsManagerClient(ServiceClientPtr service)
    : service_(std::move(service)) {}

Outcome<SecretValue> SecretsManagerClient::get_secret_value(const std::string& secret_id) {
  constexpr std::string_view kOperation = "GetSecretValue";
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("SecretId");
  writer.String(secret_id.data(), static_cast<rapidjson::SizeType>(secret_id.size()));
  writer.EndObject();
  auto answer = service_->call_json(kOperation, std::string(buffer.GetString(), buffer.GetSize()),
                                    Retryability::read, secret_id);
  if (!answer) return std::move(answer).failure();
  const rapidjson::Document& document = *answer;
  SecretValue out;
  out.arn = std::string(core::json::get_string(document, "ARN").value_or(""));
  out.name = std::string(core::json::get_string(document, "Name").value_or(""));
  out.version_id = std::string(core::json::get_string(document, "VersionId").value_or(""));
  if (auto text = core::json::get_string(document, "SecretString")) {
    out.secret_string = std::string(*text);
  } else if (document.HasMember("SecretString")) {
    return service_->unreadable(kOperation, "SecretString is not a string", secret_id);
  }
  out.binary = document.HasMember("SecretBinary");
  return out;
}

}  // namespace aws
