#pragma once

// DynamoDB on AWS JSON 1.0 (shared/notes/aws-services.md §10): the single-item
// operations, Query, and the table set-up calls infra-bot's shared state uses.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/outcome.hpp"
#include "aws/service_client.hpp"

namespace core {
class Environment;
}

namespace aws {

inline constexpr ServiceSpec kDynamoDbService{"DynamoDB",       "dynamodb",          "dynamodb",
                                              Protocol::json10, "DynamoDB_20120810", ""};

/// AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL (empty: the regional
/// endpoint; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores both).
std::string dynamodb_endpoint_override(const core::Environment& env);

namespace ddb {

/// A typed attribute value: S, N (a decimal string on the wire), BOOL, NULL.
/// Other types read from an answer are kept as `other` with their JSON text.
class AttributeValue {
 public:
  enum class Type { s, n, boolean, null, other };

  AttributeValue() = default;
  static AttributeValue s(std::string text);
  static AttributeValue n(std::int64_t number);
  /// A number already in DynamoDB's decimal text form ("1.5", "-3").
  static AttributeValue n_text(std::string text);
  static AttributeValue boolean(bool value);
  static AttributeValue null();
  /// An unsupported type as it came: `json` is the value object's text ({"SS":[…]}).
  static AttributeValue other(std::string json);

  Type type() const { return type_; }
  /// S: the string; N: the decimal text; other: the JSON text.
  const std::string& text() const { return text_; }
  /// The string of an S value.
  std::optional<std::string> as_string() const;
  /// An N value that is a whole number in int64 range.
  std::optional<std::int64_t> as_int() const;
  std::optional<bool> as_bool() const;

  friend bool operator==(const AttributeValue&, const AttributeValue&) = default;

 private:
  AttributeValue(Type type, std::string text, bool flag)
      : type_(type), text_(std::move(text)), flag_(flag) {}
  Type type_ = Type::null;
  std::string text_;
  bool flag_ = false;
};

/// An item (or a key): attribute name → value.
using Item = std::map<std::string, AttributeValue>;
/// ExpressionAttributeNames ("#n" → "name").
using Names = std::map<std::string, std::string>;
/// ExpressionAttributeValues (":v" → value).
using Values = Item;

/// A condition on a write, with its aliases.
struct Condition {
  std::string expression;  ///< empty: no condition
  Names names;
  Values values;
};

enum class ReturnValues { none, all_old, all_new, updated_old, updated_new };

struct PutItemRequest {
  std::string table;
  Item item;
  Condition condition;
  ReturnValues return_values = ReturnValues::none;  ///< none or all_old
  /// ReturnValuesOnConditionCheckFailure ALL_OLD: a failed condition carries the item.
  bool old_item_on_failure = true;
};

struct UpdateItemRequest {
  std::string table;
  Item key;
  std::string update;   ///< UpdateExpression ("SET #a = :a ADD #n :one")
  Condition condition;  ///< names/values shared with `update`
  ReturnValues return_values = ReturnValues::none;
  bool old_item_on_failure = true;
};

struct DeleteItemRequest {
  std::string table;
  Item key;
  Condition condition;
  ReturnValues return_values = ReturnValues::none;  ///< none or all_old
  bool old_item_on_failure = true;
};

struct GetItemRequest {
  std::string table;
  Item key;
  bool consistent_read = true;
};

struct QueryRequest {
  std::string table;
  std::string key_condition;  ///< KeyConditionExpression
  Names names;
  Values values;
  bool consistent_read = true;
  int page_limit = 0;  ///< Limit per page; 0 = none
};

/// What a conditional write came to. A failed condition is an answer, not an
/// error: it is never retried.
struct WriteResult {
  bool condition_failed = false;
  /// On success: the attributes asked for by ReturnValues. On a failed
  /// condition: the item as it is (ALL_OLD), when the store sent it.
  std::optional<Item> item;
};

/// KeySchema / attribute definition of one key.
struct KeyAttribute {
  std::string name;
  std::string type;  ///< "S", "N", "B"
};

struct CreateTableRequest {
  std::string table;
  KeyAttribute hash_key;
  std::optional<KeyAttribute> range_key;
  std::string billing_mode = "PAY_PER_REQUEST";
  bool sse_enabled = true;
};

struct TableDescription {
  std::string name;
  std::string status;  ///< CREATING, ACTIVE, UPDATING, DELETING, …
  std::string arn;
};

struct TimeToLive {
  std::string status;  ///< ENABLED, ENABLING, DISABLED, DISABLING
  std::string attribute;
};

/// Parses an item ({"pk":{"S":"x"},…}); nullopt for something else.
std::optional<Item> parse_item(const rapidjson::Value& value);

}  // namespace ddb

/// DynamoDB as infra-bot uses it (an interface so callers can run against a
/// fake). Errors as ServiceClient's, with AWS's code kept
/// (ResourceNotFoundException, ResourceInUseException, ValidationException, …);
/// ConditionalCheckFailedException is ddb::WriteResult::condition_failed instead.
class DynamoDbApi {
 public:
  virtual ~DynamoDbApi() = default;
  /// GetItem: the item, nullopt when there is none.
  virtual Outcome<std::optional<ddb::Item>> get_item(const ddb::GetItemRequest& request) = 0;
  virtual Outcome<ddb::WriteResult> put_item(const ddb::PutItemRequest& request) = 0;
  virtual Outcome<ddb::WriteResult> update_item(const ddb::UpdateItemRequest& request) = 0;
  virtual Outcome<ddb::WriteResult> delete_item(const ddb::DeleteItemRequest& request) = 0;
  /// Query, every page (following LastEvaluatedKey).
  virtual Outcome<std::vector<ddb::Item>> query(const ddb::QueryRequest& request) = 0;
  virtual Outcome<ddb::TableDescription> create_table(const ddb::CreateTableRequest& request) = 0;
  virtual Outcome<ddb::TableDescription> describe_table(const std::string& table) = 0;
  virtual Outcome<Done> update_time_to_live(const std::string& table, const std::string& attribute,
                                            bool enabled) = 0;
  virtual Outcome<ddb::TimeToLive> describe_time_to_live(const std::string& table) = 0;
};

/// DynamoDbApi over a ServiceClient built with kDynamoDbService. Writes are
/// sent as `idempotent`: a conditional write repeated after a lost answer ends
/// in a failed condition whose ALL_OLD item tells the caller it was its own.
/// Thread-safe.
class DynamoDbClient final : public DynamoDbApi {
 public:
  explicit DynamoDbClient(ServiceClientPtr service);

  Outcome<std::optional<ddb::Item>> get_item(const ddb::GetItemRequest& request) override;
  Outcome<ddb::WriteResult> put_item(const ddb::PutItemRequest& request) override;
  Outcome<ddb::WriteResult> update_item(const ddb::UpdateItemRequest& request) override;
  Outcome<ddb::WriteResult> delete_item(const ddb::DeleteItemRequest& request) override;
  Outcome<std::vector<ddb::Item>> query(const ddb::QueryRequest& request) override;
  Outcome<ddb::TableDescription> create_table(const ddb::CreateTableRequest& request) override;
  Outcome<ddb::TableDescription> describe_table(const std::string& table) override;
  Outcome<Done> update_time_to_live(const std::string& table, const std::string& attribute,
                                    bool enabled) override;
  Outcome<ddb::TimeToLive> describe_time_to_live(const std::string& table) override;

  const ServiceClient& service() const { return *service_; }

 private:
  Outcome<ddb::WriteResult> write(std::string_view operation, const std::string& body,
                                  const std::string& table);

  ServiceClientPtr service_;
};

}  // namespace aws
