#include "aws/ssm_client.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"

namespace aws {

SsmClient::SsmClient(ServiceClientPtr service) : service_(std::move(service)) {}

Outcome<SsmParameter> SsmClient::get_parameter(const std::string& name, bool with_decryption) {
  constexpr std::string_view kOperation = "GetParameter";
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("Name");
  writer.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  writer.Key("WithDecryption");
  writer.Bool(with_decryption);
  writer.EndObject();
  auto answer = service_->call_json(kOperation, std::string(buffer.GetString(), buffer.GetSize()),
                                    Retryability::read, name);
  if (!answer) return std::move(answer).failure();
  const auto* parameter = core::json::get_object(*answer, "Parameter");
  if (parameter == nullptr) return service_->unreadable(kOperation, "no Parameter object", name);
  const auto value = core::json::get_string(*parameter, "Value");
  if (!value) return service_->unreadable(kOperation, "Parameter.Value is not a string", name);
  SsmParameter out;
  out.name = std::string(core::json::get_string(*parameter, "Name").value_or(name));
  out.type = std::string(core::json::get_string(*parameter, "Type").value_or(""));
  out.value = std::string(*value);
  out.version = core::json::get_int(*parameter, "Version").value_or(0);
  out.arn = std::string(core::json::get_string(*parameter, "ARN").value_or(""));
  return out;
}

Outcome<std::int64_t> SsmClient::put_parameter(const std::string& name, const std::string& value,
                                               const std::string& type, bool overwrite) {
  constexpr std::string_view kOperation = "PutParameter";
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("Name");
  writer.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  writer.Key("Value");
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  writer.Key("Type");
  writer.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
  writer.Key("Overwrite");
  writer.Bool(overwrite);
  writer.EndObject();
  // Without Overwrite, a repeat of a put that did run answers ParameterAlreadyExists: never
  // re-send one that may have arrived. With it, repeating lands in the same state.
  auto answer =
      service_->call_json(kOperation, std::string(buffer.GetString(), buffer.GetSize()),
                          overwrite ? Retryability::idempotent : Retryability::once, name);
  if (!answer) return std::move(answer).failure();
  return core::json::get_int(*answer, "Version").value_or(0);
}

}  // namespace aws
