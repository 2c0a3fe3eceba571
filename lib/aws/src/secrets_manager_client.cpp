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

namespace {

// CreateSecret / PutSecretValue share their shape: an id, the string and the request token.
Outcome<SecretValue> write_secret(ServiceClient& service, std::string_view operation,
                                  std::string_view id_key, const std::string& id,
                                  const std::string& secret_string, const std::string& token) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key(id_key.data(), static_cast<rapidjson::SizeType>(id_key.size()));
  writer.String(id.data(), static_cast<rapidjson::SizeType>(id.size()));
  writer.Key("ClientRequestToken");
  writer.String(token.data(), static_cast<rapidjson::SizeType>(token.size()));
  writer.Key("SecretString");
  writer.String(secret_string.data(), static_cast<rapidjson::SizeType>(secret_string.size()));
  writer.EndObject();
  // The ClientRequestToken makes a repeat of the same write a no-op (aws-services.md §9).
  auto answer = service.call_json(operation, std::string(buffer.GetString(), buffer.GetSize()),
                                  Retryability::idempotent, id);
  if (!answer) return std::move(answer).failure();
  SecretValue out;
  out.arn = std::string(core::json::get_string(*answer, "ARN").value_or(""));
  out.name = std::string(core::json::get_string(*answer, "Name").value_or(""));
  out.version_id = std::string(core::json::get_string(*answer, "VersionId").value_or(""));
  return out;
}

}  // namespace

Outcome<SecretValue> SecretsManagerClient::create_secret(const std::string& name,
                                                         const std::string& secret_string,
                                                         const std::string& client_request_token) {
  return write_secret(*service_, "CreateSecret", "Name", name, secret_string, client_request_token);
}

Outcome<SecretValue> SecretsManagerClient::put_secret_value(
    const std::string& secret_id, const std::string& secret_string,
    const std::string& client_request_token) {
  return write_secret(*service_, "PutSecretValue", "SecretId", secret_id, secret_string,
                      client_request_token);
}

}  // namespace aws
