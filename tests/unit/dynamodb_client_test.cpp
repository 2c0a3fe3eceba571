// aws::DynamoDbClient against dynalite behind the fault proxy, which checks
// every request's SigV4 signature with botocore and records what was sent:
// the JSON 1.0 request shapes, ConditionalCheckFailed as an answer (never
// retried), error mapping, Query paging, and create_state_table.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "dynamodb_fakes.hpp"
#include "infra/dynamodb_state.hpp"

namespace {

using namespace std::chrono_literals;
using aws::ddb::AttributeValue;

class DynamoDbClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::state_node_modules_present()) {
      GTEST_SKIP() << "no dynalite in " << test::state_node_modules()
                   << " (./dev.sh test installs it)";
    }
    ASSERT_TRUE(db_.start("client"));
  }

  aws::ddb::Item key(const std::string& pk) {
    return {{"pk", AttributeValue::s(pk)}, {"sk", AttributeValue::s("-")}};
  }

  /// The last request the proxy saw with this X-Amz-Target suffix.
  rapidjson::Document last_request(std::string_view operation) {
    auto requests = db_.proxy().get("/requests");
    rapidjson::Document found;
    if (!requests.IsArray()) return found;
    for (const auto& entry : requests.GetArray()) {
      auto target = core::json::get_string(entry, "target");
      if (target && *target == "DynamoDB_20120810." + std::string(operation)) {
        found.CopyFrom(entry, found.GetAllocator());
      }
    }
    return found;
  }

  test::ProxiedTable db_;
};

TEST_F(DynamoDbClientTest, RequestsAreJson10SignedForDynamoDb) {
  aws::ddb::PutItemRequest put;
  put.table = db_.table();
  put.item = key("lock#1");
  put.item.emplace("owner", AttributeValue::s("me"));
  put.item.emplace("expires_at", AttributeValue::n(1700000100));
  put.item.emplace("flag", AttributeValue::boolean(true));
  put.condition.expression = "attribute_not_exists(#pk) OR #e < :now";
  put.condition.names = {{"#pk", "pk"}, {"#e", "expires_at"}};
  put.condition.values = {{":now", AttributeValue::n(1700000000)}};
  auto done = db_.stack().client().put_item(put);
  ASSERT_TRUE(done) << done.error().detail;
  EXPECT_FALSE(done->condition_failed);

  auto sent = last_request("PutItem");
  ASSERT_TRUE(sent.IsObject());
  EXPECT_EQ(core::json::get_string(sent, "content_type").value_or(""),
            "application/x-amz-json-1.0");
  EXPECT_TRUE(core::json::get_bool(sent, "verified").value_or(false))
      << core::json::get_string(sent, "reason").value_or("");
  auto body = core::json::parse(core::json::get_string(sent, "body").value_or(""));
  ASSERT_TRUE(body);
  EXPECT_EQ(core::json::get_string(*body, "TableName").value_or(""), db_.table());
  EXPECT_EQ(core::json::get_string(*body, "ConditionExpression").value_or(""),
            "attribute_not_exists(#pk) OR #e < :now");
  EXPECT_EQ(core::json::get_string(*body, "ReturnValuesOnConditionCheckFailure").value_or(""),
            "ALL_OLD");
  EXPECT_EQ(core::json::to_string((*body)["Item"]["expires_at"]), R"({"N":"1700000100"})");
  EXPECT_EQ(core::json::to_string((*body)["Item"]["flag"]), R"({"BOOL":true})");
  EXPECT_EQ(core::json::to_string((*body)["ExpressionAttributeNames"]),
            R"({"#e":"expires_at","#pk":"pk"})");
  EXPECT_EQ(core::json::to_string((*body)["ExpressionAttributeValues"]),
            R"({":now":{"N":"1700000000"}})");
  EXPECT_EQ(db_.proxy().counter("signature_bad"), 0);

  aws::ddb::GetItemRequest get{db_.table(), key("lock#1"), true};
  auto item = db_.stack().client().get_item(get);
  ASSERT_TRUE(item);
  ASSERT_TRUE(item->has_value());
  EXPECT_EQ((**item).at("owner").as_string(), "me");
  EXPECT_EQ((**item).at("expires_at").as_int(), 1700000100);
  EXPECT_EQ((**item).at("flag").as_bool(), true);
  auto get_sent = last_request("GetItem");
  auto get_body = core::json::parse(core::json::get_string(get_sent, "body").value_or(""));
  ASSERT_TRUE(get_body);
  EXPECT_EQ(core::json::get_bool(*get_body, "ConsistentRead"), true);
}

TEST_F(DynamoDbClientTest, ConditionalCheckFailedIsAnAnswerNeverRetried) {
  aws::ddb::PutItemRequest put;
  put.table = db_.table();
  put.item = key("once#1");
  put.condition.expression = "attribute_not_exists(#pk)";
  put.condition.names = {{"#pk", "pk"}};
  ASSERT_FALSE(db_.stack().client().put_item(put)->condition_failed);
  const auto before = db_.proxy().counter("requests");
  auto second = db_.stack().client().put_item(put);
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_TRUE(second->condition_failed);
  EXPECT_EQ(db_.proxy().counter("requests"), before + 1);  // one attempt only
}

TEST_F(DynamoDbClientTest, MissingItemAndMissingTable) {
  auto none = db_.stack().client().get_item({db_.table(), key("nothing"), true});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto missing = db_.stack().client().get_item({"no-such-table", key("x"), true});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.failure().code, "ResourceNotFoundException");
  EXPECT_EQ(missing.error().code, core::ErrorCode::not_found);
}

TEST_F(DynamoDbClientTest, ThrottlingAndServerErrorsAreRetried) {
  ASSERT_TRUE(db_.proxy().configure(R"({"script": ["throttle", "error_500"]})"));
  auto none = db_.stack().client().get_item({db_.table(), key("retry"), true});
  ASSERT_TRUE(none) << none.error().detail;
  EXPECT_EQ(db_.proxy().counter("throttle"), 1);
  EXPECT_EQ(db_.proxy().counter("error_500"), 1);
  ASSERT_TRUE(db_.proxy().configure(R"({"script": ["throttle", "throttle", "throttle"]})"));
  auto throttled = db_.stack().client().get_item({db_.table(), key("retry"), true});
  ASSERT_FALSE(throttled);
  EXPECT_EQ(throttled.failure().code, "ThrottlingException");
  EXPECT_EQ(throttled.error().code, core::ErrorCode::unavailable);
}

TEST_F(DynamoDbClientTest, QueryFollowsLastEvaluatedKey) {
  for (int i = 0; i < 7; ++i) {
    aws::ddb::PutItemRequest put;
    put.table = db_.table();
    put.item = {{"pk", AttributeValue::s("job")}, {"sk", AttributeValue::s(std::to_string(i))}};
    ASSERT_TRUE(db_.stack().client().put_item(put));
  }
  aws::ddb::QueryRequest query;
  query.table = db_.table();
  query.key_condition = "#pk = :pk";
  query.names = {{"#pk", "pk"}};
  query.values = {{":pk", AttributeValue::s("job")}};
  query.page_limit = 3;
  auto items = db_.stack().client().query(query);
  ASSERT_TRUE(items) << items.error().detail;
  EXPECT_EQ(items->size(), 7u);
}

TEST_F(DynamoDbClientTest, CreateStateTableIsIdempotent) {
  // SetUp created it: once more finds it and its TTL.
  auto again = infra::create_state_table(db_.stack().client(), db_.table(), db_.stack().sleeper(),
                                         {10ms, 1000});
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_FALSE(again->created);
  EXPECT_FALSE(again->ttl_enabled_now);
  EXPECT_EQ(again->ttl_attribute, "expires_at");
  auto ttl = db_.stack().client().describe_time_to_live(db_.table());
  ASSERT_TRUE(ttl);
  EXPECT_EQ(ttl->status, "ENABLED");
  EXPECT_EQ(ttl->attribute, "expires_at");
  auto created_body =
      core::json::parse(core::json::get_string(last_request("CreateTable"), "body").value_or(""));
  ASSERT_TRUE(created_body);
  EXPECT_EQ(core::json::get_string(*created_body, "BillingMode").value_or(""), "PAY_PER_REQUEST");
  EXPECT_EQ(core::json::to_string((*created_body)["SSESpecification"]), R"({"Enabled":true})");
  EXPECT_EQ(
      core::json::to_string((*created_body)["KeySchema"]),
      R"([{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}])");
}

TEST_F(DynamoDbClientTest, CreateStateTableFromTwoThreadsAtOnce) {
  const auto table = test::unique_table_name("race");
  core::Result<infra::StateTableReport> first = infra::StateTableReport{};
  core::Result<infra::StateTableReport> second = infra::StateTableReport{};
  std::thread a([&] {
    first =
        infra::create_state_table(db_.stack().client(), table, db_.stack().sleeper(), {10ms, 1000});
  });
  std::thread b([&] {
    second =
        infra::create_state_table(db_.stack().client(), table, db_.stack().sleeper(), {10ms, 1000});
  });
  a.join();
  b.join();
  ASSERT_TRUE(first) << first.error().detail;
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_EQ(first->created + second->created, 1);
  auto described = db_.stack().client().describe_table(table);
  ASSERT_TRUE(described);
  EXPECT_EQ(described->status, "ACTIVE");
  auto ttl = db_.stack().client().describe_time_to_live(table);
  ASSERT_TRUE(ttl);
  EXPECT_EQ(ttl->status, "ENABLED");
}

TEST(StateTableSchema, IsTheDeployFile) {
  std::ifstream file(std::string(SOURCE_DIR) +
                     "/deploy/terraform/modules/slack-bot/state_table.json");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  EXPECT_EQ(infra::state_table_schema_json(), text);
}

}  // namespace
