#include "aws/dynamodb_client.hpp"

#include <charconv>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "endpoint.hpp"

namespace aws {

std::string dynamodb_endpoint_override(const core::Environment& env) {
  return detail::endpoint_override(env, "DYNAMODB");
}

namespace ddb {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put_string(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void put_value(Writer& writer, const AttributeValue& value) {
  using Type = AttributeValue::Type;
  switch (value.type()) {
    case Type::s:
      writer.StartObject();
      writer.Key("S");
      put_string(writer, value.text());
      writer.EndObject();
      return;
    case Type::n:
      writer.StartObject();
      writer.Key("N");
      put_string(writer, value.text());
      writer.EndObject();
      return;
    case Type::boolean:
      writer.StartObject();
      writer.Key("BOOL");
      writer.Bool(value.as_bool().value_or(false));
      writer.EndObject();
      return;
    case Type::null:
      writer.StartObject();
      writer.Key("NULL");
      writer.Bool(true);
      writer.EndObject();
      return;
    case Type::other:
      // Kept as read: written back verbatim.
      writer.RawValue(value.text().data(), value.text().size(), rapidjson::kObjectType);
      return;
  }
}

void put_item_object(Writer& writer, const Item& item) {
  writer.StartObject();
  for (const auto& [name, value] : item) {
    put_string(writer, name);
    put_value(writer, value);
  }
  writer.EndObject();
}

void put_condition(Writer& writer, const std::string& expression_key, const std::string& expression,
                   const Names& names, const Values& values) {
  if (!expression.empty()) {
    writer.Key(expression_key.c_str());
    put_string(writer, expression);
  }
  if (!names.empty()) {
    writer.Key("ExpressionAttributeNames");
    writer.StartObject();
    for (const auto& [alias, name] : names) {
      put_string(writer, alias);
      put_string(writer, name);
    }
    writer.EndObject();
  }
  if (!values.empty()) {
    writer.Key("ExpressionAttributeValues");
    put_item_object(writer, values);
  }
}

std::string_view return_values_name(ReturnValues values) {
  switch (values) {
    case ReturnValues::none:
      return "NONE";
    case ReturnValues::all_old:
      return "ALL_OLD";
    case ReturnValues::all_new:
      return "ALL_NEW";
    case ReturnValues::updated_old:
      return "UPDATED_OLD";
    case ReturnValues::updated_new:
      return "UPDATED_NEW";
  }
  return "NONE";
}

void put_returns(Writer& writer, ReturnValues values, bool old_item_on_failure) {
  if (values != ReturnValues::none) {
    writer.Key("ReturnValues");
    put_string(writer, return_values_name(values));
  }
  if (old_item_on_failure) {
    writer.Key("ReturnValuesOnConditionCheckFailure");
    writer.String("ALL_OLD");
  }
}

std::string text_of(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<AttributeValue> parse_value(const rapidjson::Value& value) {
  if (!value.IsObject() || value.MemberCount() != 1) return std::nullopt;
  const auto& member = *value.MemberBegin();
  const std::string_view type(member.name.GetString(), member.name.GetStringLength());
  if (type == "S" && member.value.IsString()) {
    return AttributeValue::s(std::string(member.value.GetString(), member.value.GetStringLength()));
  }
  if (type == "N" && member.value.IsString()) {
    return AttributeValue::n_text(
        std::string(member.value.GetString(), member.value.GetStringLength()));
  }
  if (type == "BOOL" && member.value.IsBool())
    return AttributeValue::boolean(member.value.GetBool());
  if (type == "NULL") return AttributeValue::null();
  return AttributeValue::other(core::json::to_string(value));
}

std::string table_subject(const std::string& table) { return fmt::format("table {}", table); }

}  // namespace

AttributeValue AttributeValue::s(std::string text) {
  return AttributeValue(Type::s, std::move(text), false);
}
AttributeValue AttributeValue::n(std::int64_t number) {
  return AttributeValue(Type::n, std::to_string(number), false);
}
AttributeValue AttributeValue::n_text(std::string text) {
  return AttributeValue(Type::n, std::move(text), false);
}
AttributeValue AttributeValue::boolean(bool value) {
  return AttributeValue(Type::boolean, {}, value);
}
AttributeValue AttributeValue::null() { return AttributeValue(Type::null, {}, false); }
AttributeValue AttributeValue::other(std::string json) {
  return AttributeValue(Type::other, std::move(json), false);
}

std::optional<std::string> AttributeValue::as_string() const {
  if (type_ != Type::s) return std::nullopt;
  return text_;
}

std::optional<std::int64_t> AttributeValue::as_int() const {
  if (type_ != Type::n) return std::nullopt;
  std::int64_t out = 0;
  const char* first = text_.data();
  const char* last = first + text_.size();
  auto [end, ec] = std::from_chars(first, last, out);
  if (ec != std::errc() || end != last) return std::nullopt;
  return out;
}

std::optional<bool> AttributeValue::as_bool() const {
  if (type_ != Type::boolean) return std::nullopt;
  return flag_;
}

std::optional<Item> parse_item(const rapidjson::Value& value) {
  if (!value.IsObject()) return std::nullopt;
  Item item;
  for (const auto& member : value.GetObject()) {
    auto parsed = parse_value(member.value);
    if (!parsed) return std::nullopt;
    item.emplace(std::string(member.name.GetString(), member.name.GetStringLength()),
                 std::move(*parsed));
  }
  return item;
}

}  // namespace ddb

using namespace ddb;  // NOLINT: the client's own vocabulary

DynamoDbClient::DynamoDbClient(ServiceClientPtr service) : service_(std::move(service)) {}

Outcome<std::optional<Item>> DynamoDbClient::get_item(const GetItemRequest& request) {
  constexpr std::string_view kOperation = "GetItem";
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("TableName");
  put_string(writer, request.table);
  writer.Key("Key");
  put_item_object(writer, request.key);
  writer.Key("ConsistentRead");
  writer.Bool(request.consistent_read);
  writer.EndObject();
  auto answer = service_->call_json(kOperation, text_of(buffer), Retryability::read,
                                    table_subject(request.table));
  if (!answer) return std::move(answer).failure();
  const auto* found = core::json::get_object(*answer, "Item");
  if (found == nullptr) return std::optional<Item>();
  auto item = parse_item(*found);
  if (!item) return service_->unreadable(kOperation, "Item is not an item", request.table);
  return std::optional<Item>(std::move(*item));
}

Outcome<WriteResult> DynamoDbClient::write(std::string_view operation, const std::string& body,
                                           const std::string& table) {
  std::string error_body;
  auto answer = service_->call_json(operation, body, Retryability::idempotent, table_subject(table),
                                    &error_body);
  if (!answer) {
    if (!answer.failure().is("ConditionalCheckFailedException")) return std::move(answer).failure();
    WriteResult result;
    result.condition_failed = true;
    if (auto document = core::json::parse(error_body); document && document->IsObject()) {
      if (const auto* item = core::json::get_object(*document, "Item")) {
        result.item = parse_item(*item);
      }
    }
    return result;
  }
  WriteResult result;
  if (const auto* attributes = core::json::get_object(*answer, "Attributes")) {
    result.item = parse_item(*attributes);
    if (!result.item) return service_->unreadable(operation, "Attributes is not an item", table);
  }
  return result;
}

namespace {

// The body of one conditional write: the table, the item (PutItem) or key
// (UpdateItem, DeleteItem), an update expression when there is one, the
// condition and what comes back (ALL_OLD on a failed condition when asked).
std::string write_body(const std::string& table, const char* item_member, const Item& item,
                       std::string_view update, const Condition& condition,
                       ReturnValues return_values, bool old_item_on_failure) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("TableName");
  put_string(writer, table);
  writer.Key(item_member);
  put_item_object(writer, item);
  if (!update.empty()) {
    writer.Key("UpdateExpression");
    put_string(writer, update);
  }
  put_condition(writer, "ConditionExpression", condition.expression, condition.names,
                condition.values);
  put_returns(writer, return_values, old_item_on_failure && !condition.expression.empty());
  writer.EndObject();
  return text_of(buffer);
}

}  // namespace

Outcome<WriteResult> DynamoDbClient::put_item(const PutItemRequest& request) {
  return write("PutItem",
               write_body(request.table, "Item", request.item, {}, request.condition,
                          request.return_values, request.old_item_on_failure),
               request.table);
}

Outcome<WriteResult> DynamoDbClient::update_item(const UpdateItemRequest& request) {
  return write("UpdateItem",
               write_body(request.table, "Key", request.key, request.update, request.condition,
                          request.return_values, request.old_item_on_failure),
               request.table);
}

Outcome<WriteResult> DynamoDbClient::delete_item(const DeleteItemRequest& request) {
  return write("DeleteItem",
               write_body(request.table, "Key", request.key, {}, request.condition,
                          request.return_values, request.old_item_on_failure),
               request.table);
}

Outcome<std::vector<Item>> DynamoDbClient::query(const QueryRequest& request) {
  constexpr std::string_view kOperation = "Query";
  // A page per call; bounded so that a store that keeps answering with a
  // LastEvaluatedKey cannot keep the caller forever.
  constexpr int kMaxPages = 1000;
  std::vector<Item> items;
  std::optional<Item> start;
  for (int page = 0; page < kMaxPages; ++page) {
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    writer.Key("TableName");
    put_string(writer, request.table);
    put_condition(writer, "KeyConditionExpression", request.key_condition, request.names,
                  request.values);
    writer.Key("ConsistentRead");
    writer.Bool(request.consistent_read);
    if (request.page_limit > 0) {
      writer.Key("Limit");
      writer.Int(request.page_limit);
    }
    if (start) {
      writer.Key("ExclusiveStartKey");
      put_item_object(writer, *start);
    }
    writer.EndObject();
    auto answer = service_->call_json(kOperation, text_of(buffer), Retryability::read,
                                      table_subject(request.table));
    if (!answer) return std::move(answer).failure();
    const auto* found = core::json::get_array(*answer, "Items");
    if (found == nullptr) return service_->unreadable(kOperation, "no Items array", request.table);
    for (const auto& value : found->GetArray()) {
      auto item = parse_item(value);
      if (!item) return service_->unreadable(kOperation, "an item is not an item", request.table);
      items.push_back(std::move(*item));
    }
    const auto* last = core::json::get_object(*answer, "LastEvaluatedKey");
    if (last == nullptr) return items;
    start = parse_item(*last);
    if (!start) {
      return service_->unreadable(kOperation, "LastEvaluatedKey is not a key", request.table);
    }
  }
  return service_->unreadable(kOperation, "too many pages", request.table);
}

namespace {

Outcome<TableDescription> read_table(const ServiceClient& service, std::string_view operation,
                                     const rapidjson::Value& answer, const std::string& table) {
  const rapidjson::Value* description = core::json::get_object(answer, "TableDescription");
  if (description == nullptr) description = core::json::get_object(answer, "Table");
  if (description == nullptr) return service.unreadable(operation, "no table description", table);
  TableDescription out;
  out.name = std::string(core::json::get_string(*description, "TableName").value_or(table));
  out.status = std::string(core::json::get_string(*description, "TableStatus").value_or(""));
  out.arn = std::string(core::json::get_string(*description, "TableArn").value_or(""));
  return out;
}

}  // namespace

Outcome<TableDescription> DynamoDbClient::create_table(const CreateTableRequest& request) {
  constexpr std::string_view kOperation = "CreateTable";
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("TableName");
  put_string(writer, request.table);
  writer.Key("AttributeDefinitions");
  writer.StartArray();
  auto definition = [&](const KeyAttribute& key) {
    writer.StartObject();
    writer.Key("AttributeName");
    put_string(writer, key.name);
    writer.Key("AttributeType");
    put_string(writer, key.type);
    writer.EndObject();
  };
  definition(request.hash_key);
  if (request.range_key) definition(*request.range_key);
  writer.EndArray();
  writer.Key("KeySchema");
  writer.StartArray();
  auto schema = [&](const KeyAttribute& key, std::string_view kind) {
    writer.StartObject();
    writer.Key("AttributeName");
    put_string(writer, key.name);
    writer.Key("KeyType");
    put_string(writer, kind);
    writer.EndObject();
  };
  schema(request.hash_key, "HASH");
  if (request.range_key) schema(*request.range_key, "RANGE");
  writer.EndArray();
  writer.Key("BillingMode");
  put_string(writer, request.billing_mode);
  if (request.sse_enabled) {
    writer.Key("SSESpecification");
    writer.StartObject();
    writer.Key("Enabled");
    writer.Bool(true);
    writer.EndObject();
  }
  writer.EndObject();
  // A repeated CreateTable ends in ResourceInUseException, which callers treat as done.
  auto answer = service_->call_json(kOperation, text_of(buffer), Retryability::idempotent,
                                    table_subject(request.table));
  if (!answer) return std::move(answer).failure();
  return read_table(*service_, kOperation, *answer, request.table);
}

Outcome<TableDescription> DynamoDbClient::describe_table(const std::string& table) {
  constexpr std::string_view kOperation = "DescribeTable";
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("TableName");
  put_string(writer, table);
  writer.EndObject();
  auto answer =
      service_->call_json(kOperation, text_of(buffer), Retryability::read, table_subject(table));
  if (!answer) return std::move(answer).failure();
  return read_table(*service_, kOperation, *answer, table);
}

Outcome<Done> DynamoDbClient::update_time_to_live(const std::string& table,
                                                  const std::string& attribute, bool enabled) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("TableName");
  put_string(writer, table);
  writer.Key("TimeToLiveSpecification");
  writer.StartObject();
  writer.Key("Enabled");
  writer.Bool(enabled);
  writer.Key("AttributeName");
  put_string(writer, attribute);
  writer.EndObject();
  writer.EndObject();
  auto answer = service_->call_json("UpdateTimeToLive", text_of(buffer), Retryability::idempotent,
                                    table_subject(table));
  if (!answer) return std::move(answer).failure();
  return Done{};
}

Outcome<TimeToLive> DynamoDbClient::describe_time_to_live(const std::string& table) {
  constexpr std::string_view kOperation = "DescribeTimeToLive";
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("TableName");
  put_string(writer, table);
  writer.EndObject();
  auto answer =
      service_->call_json(kOperation, text_of(buffer), Retryability::read, table_subject(table));
  if (!answer) return std::move(answer).failure();
  const auto* description = core::json::get_object(*answer, "TimeToLiveDescription");
  if (description == nullptr) {
    return service_->unreadable(kOperation, "no TimeToLiveDescription", table);
  }
  TimeToLive out;
  out.status = std::string(core::json::get_string(*description, "TimeToLiveStatus").value_or(""));
  out.attribute = std::string(core::json::get_string(*description, "AttributeName").value_or(""));
  return out;
}

}  // namespace aws
