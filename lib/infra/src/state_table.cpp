// create_state_table(): the shared state's table, as the schema file says
// (deploy/terraform/modules/slack-bot/state_table.json, embedded at build time).

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/strings.hpp"
#include "infra/dynamodb_state.hpp"
#include "state_table_schema.hpp"

namespace infra {
namespace {

struct Schema {
  aws::ddb::KeyAttribute hash_key;
  std::optional<aws::ddb::KeyAttribute> range_key;
  std::string ttl_attribute;
  std::string billing_mode;
};

std::optional<aws::ddb::KeyAttribute> key_at(const rapidjson::Value& schema, std::string_view at) {
  const auto* key = core::json::get_object(schema, at);
  if (key == nullptr) return std::nullopt;
  auto name = core::json::get_string(*key, "name");
  auto type = core::json::get_string(*key, "type");
  if (!name || !type) return std::nullopt;
  return aws::ddb::KeyAttribute{std::string(*name), std::string(*type)};
}

core::Result<Schema> read_schema() {
  auto bad = [](std::string_view why) {
    return core::make_error(core::ErrorCode::internal,
                            "infra-bot's state table schema is broken (a build problem).",
                            fmt::format("state_table.json: {}", why));
  };
  auto document = core::json::parse(state_table_schema_json());
  if (!document || !document->IsObject()) return bad("not a JSON object");
  Schema schema;
  auto hash = key_at(*document, "hash_key");
  if (!hash) return bad("no hash_key {name, type}");
  schema.hash_key = std::move(*hash);
  if (core::json::get_object(*document, "range_key") != nullptr) {
    schema.range_key = key_at(*document, "range_key");
    if (!schema.range_key) return bad("range_key without name or type");
  }
  schema.ttl_attribute =
      std::string(core::json::get_string(*document, "ttl_attribute").value_or(""));
  schema.billing_mode =
      std::string(core::json::get_string(*document, "billing_mode").value_or("PAY_PER_REQUEST"));
  return schema;
}

core::Error failed(const std::string& table, std::string_view step, const aws::CallError& error) {
  return core::make_error(
      error.error.code == core::ErrorCode::denied ? core::ErrorCode::denied
                                                  : core::ErrorCode::unavailable,
      fmt::format("Could not set up the shared state table {} ({}): {}", table, step,
                  error.error.user_message),
      fmt::format("create_state_table {}: table={}: {}", step, table, error.error.detail));
}

bool ttl_on(const aws::ddb::TimeToLive& ttl, const std::string& attribute) {
  return (ttl.status == "ENABLED" || ttl.status == "ENABLING") && ttl.attribute == attribute;
}

}  // namespace

std::string_view state_table_schema_json() { return detail::kStateTableSchemaJson; }

core::Result<StateTableReport> create_state_table(aws::DynamoDbApi& db, const std::string& table,
                                                  aws::Sleeper& sleeper,
                                                  StateTableOptions options) {
  auto schema = read_schema();
  if (!schema) return std::move(schema).error();
  StateTableReport report;
  report.ttl_attribute = schema->ttl_attribute;

  aws::ddb::CreateTableRequest create;
  create.table = table;
  create.hash_key = schema->hash_key;
  create.range_key = schema->range_key;
  create.billing_mode = schema->billing_mode;
  create.sse_enabled = true;
  auto created = db.create_table(create);
  if (created) {
    report.created = true;
  } else if (!created.failure().is("ResourceInUseException")) {
    // Two creators racing: the loser is told the table exists (aws-services.md §10).
    return failed(table, "CreateTable", created.failure());
  }

  // CreateTable is asynchronous: data operations need ACTIVE.
  for (int poll = 0;; ++poll) {
    auto described = db.describe_table(table);
    if (!described) return failed(table, "DescribeTable", described.failure());
    if (described->status == "ACTIVE") break;
    if (poll + 1 >= options.max_polls) {
      return core::make_error(
          core::ErrorCode::unavailable,
          fmt::format("The shared state table {} is not ACTIVE yet ({}); try again later.", table,
                      described->status),
          fmt::format("create_state_table: table={} status={} after {} polls", table,
                      described->status, options.max_polls));
    }
    sleeper.sleep_for(options.poll_interval);
  }

  if (schema->ttl_attribute.empty()) return report;
  // UpdateTimeToLive is not idempotent: look first.
  auto ttl = db.describe_time_to_live(table);
  if (!ttl) return failed(table, "DescribeTimeToLive", ttl.failure());
  if (ttl_on(*ttl, schema->ttl_attribute)) return report;
  auto updated = db.update_time_to_live(table, schema->ttl_attribute, true);
  if (updated) {
    report.ttl_enabled_now = true;
    return report;
  }
  // Another creator enabled it between our look and our update: AWS answers
  // ValidationException ("TimeToLive is already enabled", or a change within
  // the hour). Done when TTL is on our attribute now.
  if (updated.failure().is("ValidationException")) {
    const std::string message = core::to_lower(updated.failure().message);
    auto again = db.describe_time_to_live(table);
    if ((again && ttl_on(*again, schema->ttl_attribute)) ||
        message.find("already enabled") != std::string::npos) {
      return report;
    }
  }
  return failed(table, "UpdateTimeToLive", updated.failure());
}

}  // namespace infra
