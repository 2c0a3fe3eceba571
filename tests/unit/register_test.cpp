// `infra-bot register slack|discord` (issue 17), the real binary against the fakes over TLS:
// tests/fakes/fake_aws.py (SSM / Secrets Manager, SigV4 checked by botocore),
// fake_slack_manifest.py and fake_discord.py (its REST side). A first run creates / registers and
// stores; a second run writes nothing anywhere; every fail-closed case (access denied, throttled,
// KMS on the store read; another stored application without --force) makes no chat-side call; the
// rotated Slack pair is stored before it is used, and kept recoverable when it cannot be.

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "bot_process.hpp"
#include "core/config.hpp"
#include "core/json.hpp"
#include "discord_front/command_set.hpp"
#include "fake_aws.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kConfigToken = "xoxe.xoxp-1-CONFIGSECRETTOKEN";
constexpr const char* kRefreshToken = "xoxe-1-REFRESHSECRETTOKEN";
// A second pair the fake accepts (a rotated refresh token is used up).
constexpr const char* kConfigToken2 = "xoxe.xoxp-1-CONFIG2SECRETTOKEN";
constexpr const char* kRefreshToken2 = "xoxe-1-REFRESH2SECRETTOKEN";
constexpr const char* kBotToken = "MTAxNDAxNDAxNDAx.GfAkE.BOTSECRETTOKENVALUE";
constexpr const char* kAppId = "1014014014014014014";
constexpr const char* kGuild = "5550001112223334445";

// Values that must never appear in anything register prints or logs.
const std::vector<std::string> kSecretMarkers = {"SECRETTOKEN", "BOTSECRET", "ROT1", "REF1",
                                                 "SECRET\""};

// A Python fake of this test over TLS, with a JSON control API.
class FakeServer {
 public:
  FakeServer(const std::string& script, std::vector<std::string> args)
      : http_(core::http::make_curl_client(core::http::CurlSettings{test::test_tls().ca_file})) {
    const auto& tls = test::test_tls();
    args.insert(args.begin(), {"--tls", tls.cert_file, tls.key_file});
    process_ = std::make_unique<test::PythonFake>(std::string(FAKES_DIR) + "/" + script, args);
  }
  bool started() const { return process_->port() > 0; }
  std::string base() const { return "https://127.0.0.1:" + std::to_string(process_->port()); }

  testing::AssertionResult control(const std::string& path, const std::string& body) const {
    core::http::Request request;
    request.method = "POST";
    request.url = base() + path;
    request.body = body;
    request.headers.emplace_back("Content-Type", "application/json");
    auto response = http_->send(request);
    if (!response || response->status != 200) {
      return testing::AssertionFailure() << "control " << path << " failed";
    }
    return testing::AssertionSuccess();
  }

  /// A control endpoint's JSON answer (GET); a null document when it failed.
  rapidjson::Document fetch(const std::string& path) const {
    core::http::Request request;
    request.url = base() + path;
    auto response = http_->send(request);
    if (response && response->status == 200) {
      if (auto parsed = core::json::parse(response->body)) return std::move(*parsed);
    }
    ADD_FAILURE() << "control " << path << " failed";
    return rapidjson::Document();
  }

 protected:
  std::unique_ptr<core::http::Client> http_;
  std::unique_ptr<test::PythonFake> process_;
};

// fake_slack_manifest.py: one JSON line per call on stdout, a control API under /_fake/ with a
// sync marker.
class JsonFake : public FakeServer {
 public:
  using FakeServer::FakeServer;

  /// Every call so far (sync first, so a call already answered is listed).
  std::vector<rapidjson::Document> calls() const {
    const std::string token = std::to_string(++counter_);
    EXPECT_TRUE(control("/_fake/sync", R"({"token": ")" + token + R"("})"));
    const std::string marker = R"({"sync":")" + token + R"("})";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      const auto lines = process_->lines();
      if (std::find(lines.begin(), lines.end(), marker) != lines.end() ||
          std::chrono::steady_clock::now() > deadline) {
        std::vector<rapidjson::Document> out;
        for (const auto& line : lines) {
          auto parsed = core::json::parse(line);
          if (parsed && parsed->IsObject() && !parsed->HasMember("sync")) {
            out.push_back(std::move(*parsed));
          }
        }
        return out;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  /// Calls whose `key` is `value` (all when key is empty).
  std::size_t count(const std::string& key = {}, const std::string& value = {}) const {
    std::size_t n = 0;
    for (const auto& call : calls()) {
      if (key.empty() || test::FakeAws::str(call, key) == value) ++n;
    }
    return n;
  }
  std::size_t writes() const {
    std::size_t n = 0;
    for (const auto& call : calls()) n += core::json::get_bool(call, "write").value_or(false);
    return n;
  }

 private:
  mutable int counter_ = 0;
};

// Route keys of fake_discord.py's request records.
constexpr const char* kMeRoute = "GET /applications/@me";
constexpr const char* kGetCommandsRoute = "GET /applications/{app}/guilds/{guild}/commands";
constexpr const char* kPutCommandsRoute = "PUT /applications/{app}/guilds/{guild}/commands";

// tests/fakes/fake_discord.py (its REST side): the application kAppId with the bot token
// kBotToken, commands only in kGuild; the REST requests it saw from /_control/requests.
class DiscordFake : public FakeServer {
 public:
  DiscordFake()
      : FakeServer("fake_discord.py",
                   {"--token", kBotToken, "--app-id", kAppId, "--guild", kGuild}) {}

  /// Every REST request so far ({method, path, route, auth_ok, ua_ok, body, status, …}).
  std::vector<rapidjson::Document> requests() const {
    std::vector<rapidjson::Document> out;
    const auto answer = fetch("/_control/requests");
    if (const auto* list = core::json::get_array(answer, "requests")) {
      for (const auto& request : list->GetArray()) {
        rapidjson::Document copy;
        copy.CopyFrom(request, copy.GetAllocator());
        out.push_back(std::move(copy));
      }
    }
    return out;
  }
  /// Requests of `route` ("GET /applications/@me"; all when empty).
  std::size_t count(const std::string& route = {}) const {
    std::size_t n = 0;
    for (const auto& request : requests()) {
      if (route.empty() || test::FakeAws::str(request, "route") == route) ++n;
    }
    return n;
  }
  std::size_t writes() const {
    std::size_t n = 0;
    for (const auto& request : requests()) {
      const auto method = test::FakeAws::str(request, "method");
      n += method != "GET" && method != "HEAD";
    }
    return n;
  }
  /// The body of the last PUT of the guild's commands, as sent (null when there was none).
  rapidjson::Document last_put() const {
    rapidjson::Document body;
    for (const auto& request : requests()) {
      const auto it = request.FindMember("body");
      if (test::FakeAws::str(request, "route") == kPutCommandsRoute && it != request.MemberEnd()) {
        body.CopyFrom(it->value, body.GetAllocator());
      }
    }
    return body;
  }
};

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout
  std::string all;  // stdout and stderr
};

class RegisterTest : public ::testing::Test {
 protected:
  RegisterTest()
      : aws_(R"({
          "ssm": {"parameters": [
            {"name": "/ops/denied", "value": "x"},
            {"name": "/ops/badkey", "value": "{}", "kmsError": "InvalidKeyId"},
            {"name": "/ops/nokms", "value": "{}", "kmsError": "AccessDenied"}
          ]},
          "secretsmanager": {"secrets": [
            {"name": "ops/undecryptable", "string": "{}", "kmsError": "DecryptionFailure"},
            {"name": "ops/nokms", "string": "{}", "kmsError": "AccessDenied"}
          ]}})"),
        slack_("fake_slack_manifest.py",
               {"--config-token", kConfigToken, "--refresh-token", kRefreshToken, "--config-token",
                kConfigToken2, "--refresh-token", kRefreshToken2}) {}

  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
    ASSERT_TRUE(aws_.started()) << aws_.describe_last(3);
    ASSERT_TRUE(slack_.started());
    ASSERT_TRUE(discord_.started());
    tmp_ = std::filesystem::temp_directory_path() /
           ("infra-bot-register-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(tmp_);
    std::filesystem::create_directories(tmp_);
  }
  void TearDown() override {
    if (!aws_.started()) return;
    for (const auto& request : aws_.requests()) {
      EXPECT_TRUE(test::FakeAws::verified(request))
          << test::FakeAws::str(request, "operation") << ": "
          << test::FakeAws::str(request, "reason");
    }
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  test::BotProcess::Environment base_env() const {
    const auto& creds = aws_.credentials();
    return {{"SSL_CERT_FILE", test::test_tls().ca_file},
            {"AWS_ENDPOINT_URL", aws_.endpoint()},
            {"AWS_REGION", aws_.region()},
            {"AWS_ACCESS_KEY_ID", creds.access_key_id},
            {"AWS_SECRET_ACCESS_KEY", creds.secret_access_key},
            {"AWS_SESSION_TOKEN", creds.session_token},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"HOME", tmp_.string()},
            {"TMPDIR", tmp_.string()},
            {"LOG_FORMAT", "json"},
            {"SLACK_API_URL", slack_.base() + "/api/"},
            {"DISCORD_API_URL", discord_.base() + "/api/v10"},
            {"DISCORD_GUILD_ID", kGuild}};
  }
  test::BotProcess::Environment slack_env() const {
    auto env = base_env();
    env["SLACK_CONFIG_TOKEN"] = kConfigToken;
    env["SLACK_CONFIG_REFRESH_TOKEN"] = kRefreshToken;
    return env;
  }
  test::BotProcess::Environment discord_env() const {
    auto env = base_env();
    env["DISCORD_BOT_TOKEN"] = kBotToken;
    return env;
  }

  Outcome run(std::vector<std::string> args, const test::BotProcess::Environment& env) {
    if (args[1] == "slack") {
      args.push_back("--manifest");
      args.push_back(std::string(SOURCE_DIR) + "/deploy/slack/manifest.json");
    }
    test::BotProcess bot(args, env);
    Outcome result;
    auto code = bot.wait_exit(std::chrono::seconds(30));
    EXPECT_TRUE(code) << "register did not end";
    result.exit_code = code.value_or(-1);
    for (const auto& line : bot.stdout_lines()) result.out += line + "\n";
    for (const auto& line : bot.all_lines()) result.all += line + "\n";
    for (const auto& marker : kSecretMarkers) {
      EXPECT_THAT(result.all, Not(HasSubstr(marker))) << "a secret was printed";
    }
    return result;
  }

  std::size_t aws_writes() const {
    std::size_t n = 0;
    for (const auto& request : aws_.requests()) {
      const auto op = test::FakeAws::str(request, "operation");
      n += op == "PutParameter" || op == "CreateSecret" || op == "PutSecretValue";
    }
    return n;
  }

  /// The stored document (SSM parameter or secret) as JSON, a null document when absent.
  rapidjson::Document stored(const std::string& store) const {
    auto state = aws_.state();
    const bool ssm = store.starts_with("ssm:");
    const std::string id = store.substr(store.find(':') + 1);
    const auto* section = core::json::get_object(state, ssm ? "ssm" : "secretsmanager");
    const auto* list =
        section ? core::json::get_array(*section, ssm ? "parameters" : "secrets") : nullptr;
    if (list != nullptr) {
      for (const auto& item : list->GetArray()) {
        if (test::FakeAws::str(item, "name") == id) {
          auto parsed = core::json::parse(test::FakeAws::str(item, ssm ? "value" : "string"));
          if (parsed) return std::move(*parsed);
        }
      }
    }
    return rapidjson::Document();
  }

  static void expect_steps(const Outcome& run, bool success) {
    if (success) {
      EXPECT_THAT(run.out, HasSubstr("✔ ")) << run.all;
      EXPECT_EQ(run.exit_code, 0) << run.all;
      EXPECT_THAT(run.out, Not(HasSubstr("✘"))) << run.all;
    } else {
      EXPECT_NE(run.exit_code, 0) << run.all;
      EXPECT_THAT(run.all, HasSubstr("✘ ")) << run.all;
    }
  }

  /// What register discord PUTs with this test's configuration (the default environments).
  static rapidjson::Document desired_commands() {
    auto parsed =
        core::json::parse(discord_front::infra_commands_json(core::Config{}.environments));
    EXPECT_TRUE(parsed && parsed->IsArray());
    return parsed ? std::move(*parsed) : rapidjson::Document();
  }

  /// The guild's commands in the fake (which adds id, application_id, version, guild_id, nsfw,
  /// … to each, as Discord does).
  testing::AssertionResult seed_commands(const rapidjson::Value& commands) const {
    rapidjson::Document body(rapidjson::kObjectType);
    auto& allocator = body.GetAllocator();
    body.AddMember("guild", rapidjson::Value(kGuild, allocator), allocator);
    body.AddMember("commands", rapidjson::Value(commands, allocator), allocator);
    return discord_.control("/_control/commands", core::json::to_string(body));
  }

  test::FakeAws aws_;
  JsonFake slack_;
  DiscordFake discord_;
  std::filesystem::path tmp_;
};

// ---- Slack --------------------------------------------------------------------------------

TEST_F(RegisterTest, SlackFirstRunRotatesStoresAndCreatesSecondRunChangesNothing) {
  for (const std::string store : {"ssm:/infra-bot/slack", "secretsmanager:infra-bot/slack"}) {
    SCOPED_TRACE(store);
    auto env = slack_env();
    if (store.starts_with("secretsmanager:")) {
      env["SLACK_CONFIG_TOKEN"] = kConfigToken2;
      env["SLACK_CONFIG_REFRESH_TOKEN"] = kRefreshToken2;
    }
    const auto slack_before = slack_.count();
    const auto writes_before = aws_writes();
    auto first = run({"register", "slack", "--store", store}, env);
    expect_steps(first, true);
    EXPECT_THAT(first.out, HasSubstr("configuration token rotated"));
    EXPECT_THAT(first.out, HasSubstr("created"));
    EXPECT_THAT(first.out, HasSubstr("→ install the app to the workspace"));
    EXPECT_THAT(first.out, HasSubstr("connections:write"));
    auto calls = slack_.calls();
    std::vector<std::string> methods;
    for (std::size_t i = slack_before; i < calls.size(); ++i) {
      methods.push_back(test::FakeAws::str(calls[i], "method"));
    }
    EXPECT_THAT(methods, testing::ElementsAre("tooling.tokens.rotate", "apps.manifest.validate",
                                              "apps.manifest.create"));
    EXPECT_EQ(aws_writes() - writes_before, 2u) << "the rotated pair, then the app id";
    auto doc = stored(store);
    ASSERT_TRUE(doc.IsObject());
    const auto app_id = test::FakeAws::str(doc, "app_id");
    EXPECT_THAT(app_id, testing::StartsWith("A0FAKE"));
    EXPECT_THAT(test::FakeAws::str(doc, "config_token"), testing::StartsWith("xoxe.xoxp-1-ROT"));
    EXPECT_THAT(test::FakeAws::str(doc, "refresh_token"), testing::StartsWith("xoxe-1-REF"));
    EXPECT_GT(core::json::get_int(doc, "exp").value_or(0), 0);

    // The same command again: the environment's pair is recognised as already rotated.
    const auto slack_writes = slack_.writes();
    const auto aws_before_second = aws_writes();
    auto second = run({"register", "slack", "--store", store}, env);
    expect_steps(second, true);
    EXPECT_THAT(second.out, HasSubstr("already rotated"));
    EXPECT_THAT(second.out, HasSubstr("not updated"));
    EXPECT_EQ(slack_.writes(), slack_writes) << "no rotate, create or update";
    EXPECT_EQ(aws_writes(), aws_before_second) << "nothing stored";
    EXPECT_EQ(test::FakeAws::str(stored(store), "app_id"), app_id);
  }
}

TEST_F(RegisterTest, SlackUpdatesOnlyWhenTheExportDiffers) {
  const std::string store = "ssm:/infra-bot/slack";
  ASSERT_EQ(run({"register", "slack", "--store", store}, slack_env()).exit_code, 0);
  const auto app_id = test::FakeAws::str(stored(store), "app_id");
  // Someone changed the app in the portal.
  ASSERT_TRUE(slack_.control("/_fake/apps",
                             R"({")" + app_id + R"(": {"display_information": {"name": "old"}}})"));
  const auto updates = slack_.count("method", "apps.manifest.update");
  auto changed = run({"register", "slack", "--store", store}, base_env());
  expect_steps(changed, true);
  EXPECT_THAT(changed.out, HasSubstr("updated"));
  EXPECT_EQ(slack_.count("method", "apps.manifest.update"), updates + 1);
  auto again = run({"register", "slack", "--store", store}, base_env());
  expect_steps(again, true);
  EXPECT_EQ(slack_.count("method", "apps.manifest.update"), updates + 1) << "no second update";
  EXPECT_EQ(slack_.count("method", "apps.manifest.create"), 1u);
}

TEST_F(RegisterTest, SlackStoreReadFailuresStopBeforeAnySlackCall) {
  ASSERT_TRUE(aws_.fault(R"([
      {"service": "ssm", "operation": "GetParameter", "resource": "/ops/denied",
       "kind": "access_denied", "times": -1},
      {"service": "ssm", "operation": "GetParameter", "resource": "/ops/throttled",
       "kind": "throttle", "times": -1},
      {"service": "secretsmanager", "operation": "GetSecretValue", "resource": "ops/disabled",
       "code": "KMSDisabledException", "message": "arn:aws:kms:… is disabled", "times": -1}])"));
  for (const std::string store : {"ssm:/ops/denied", "ssm:/ops/throttled", "ssm:/ops/badkey",
                                  "ssm:/ops/nokms", "secretsmanager:ops/undecryptable",
                                  "secretsmanager:ops/nokms", "secretsmanager:ops/disabled"}) {
    SCOPED_TRACE(store);
    auto result = run({"register", "slack", "--store", store}, slack_env());
    expect_steps(result, false);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_THAT(result.out, HasSubstr("✘ reading " + store));
    EXPECT_THAT(result.out, HasSubstr("stopped before any Slack call"));
  }
  EXPECT_EQ(slack_.count(), 0u) << "no Slack call at all";
  EXPECT_EQ(aws_writes(), 0u);
}

TEST_F(RegisterTest, SlackRotatedPairIsStoredBeforeUseAndKeptWhenStoringFails) {
  const std::string store = "ssm:/infra-bot/slack";
  ASSERT_TRUE(aws_.fault(
      R"({"service": "ssm", "operation": "PutParameter", "kind": "access_denied", "times": 1})"));
  auto failed = run({"register", "slack", "--store", store}, slack_env());
  expect_steps(failed, false);
  EXPECT_THAT(failed.out, HasSubstr("could not store the rotated token pair"));
  EXPECT_THAT(failed.out, HasSubstr("stopped before using the new token"));
  EXPECT_EQ(slack_.count("method", "tooling.tokens.rotate"), 1u);
  EXPECT_EQ(slack_.count("method", "apps.manifest.validate"), 0u) << "not used before stored";
  EXPECT_EQ(slack_.count("method", "apps.manifest.create"), 0u);

  // The new pair is in a 0600 file under TMPDIR, and nowhere in the output.
  std::vector<std::filesystem::path> kept;
  for (const auto& entry : std::filesystem::directory_iterator(tmp_)) {
    if (entry.path().filename().string().starts_with("infra-bot-slack-tokens-")) {
      kept.push_back(entry.path());
    }
  }
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_THAT(failed.out, HasSubstr(kept[0].string()));
  struct stat info {};
  ASSERT_EQ(::stat(kept[0].c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ifstream file(kept[0]);
  std::string line;
  test::BotProcess::Environment recovered = base_env();
  while (std::getline(file, line)) {
    if (line.starts_with("SLACK_CONFIG")) {
      recovered[line.substr(0, line.find('='))] = line.substr(line.find('=') + 1);
    }
  }
  EXPECT_THAT(recovered["SLACK_CONFIG_TOKEN"], testing::StartsWith("xoxe.xoxp-1-ROT1"));
  EXPECT_THAT(recovered["SLACK_CONFIG_REFRESH_TOKEN"], testing::StartsWith("xoxe-1-REF1"));

  // The recovery the output describes: the kept pair, --force, the store writable again.
  auto recovery = run({"register", "slack", "--store", store, "--force"}, recovered);
  expect_steps(recovery, true);
  EXPECT_EQ(slack_.count("method", "apps.manifest.create"), 1u);
  EXPECT_THAT(test::FakeAws::str(stored(store), "refresh_token"),
              testing::StartsWith("xoxe-1-REF2"));
}

TEST_F(RegisterTest, SlackDoesNotReplaceAStoredPairWithoutForce) {
  const std::string store = "ssm:/infra-bot/slack";
  ASSERT_EQ(run({"register", "slack", "--store", store}, slack_env()).exit_code, 0);
  const auto calls = slack_.count();
  auto env = slack_env();
  env["SLACK_CONFIG_TOKEN"] = "xoxe.xoxp-1-OTHERSECRETTOKEN";
  env["SLACK_CONFIG_REFRESH_TOKEN"] = "xoxe-1-OTHERSECRETTOKEN";
  const auto writes = aws_writes();
  auto refused = run({"register", "slack", "--store", store}, env);
  expect_steps(refused, false);
  EXPECT_THAT(refused.out, HasSubstr("--force"));
  EXPECT_EQ(slack_.count(), calls) << "no Slack call";
  EXPECT_EQ(aws_writes(), writes);
}

TEST_F(RegisterTest, SlackRotatesAStoredTokenAboutToExpireWithoutForce) {
  std::ifstream file(std::string(SOURCE_DIR) + "/deploy/slack/manifest.json");
  std::stringstream manifest;
  manifest << file.rdbuf();
  ASSERT_TRUE(slack_.control("/_fake/apps", R"({"A0EXISTING": )" + manifest.str() + "}"));
  // exp 1: long expired; the refresh token still works (it does not expire).
  ASSERT_TRUE(aws_.merge_state(std::string(R"({"ssm": {"parameters": [{"name": "/bot/slack", )"
                                           R"("value": "{\"app_id\": \"A0EXISTING\", )"
                                           R"(\"config_token\": \")") +
                               kConfigToken2 + R"(\", \"refresh_token\": \")" + kRefreshToken2 +
                               R"(\", \"exp\": 1}"}]}})"));
  auto result = run({"register", "slack", "--store", "ssm:/bot/slack"}, base_env());
  expect_steps(result, true);
  EXPECT_THAT(result.out, HasSubstr("configuration token rotated"));
  EXPECT_THAT(result.out, HasSubstr("already matches"));
  EXPECT_EQ(slack_.count("method", "tooling.tokens.rotate"), 1u);
  EXPECT_EQ(slack_.count("method", "apps.manifest.update"), 0u);
  EXPECT_EQ(slack_.count("method", "apps.manifest.create"), 0u);
  auto doc = stored("ssm:/bot/slack");
  EXPECT_EQ(test::FakeAws::str(doc, "app_id"), "A0EXISTING");
  EXPECT_THAT(test::FakeAws::str(doc, "refresh_token"), testing::StartsWith("xoxe-1-REF1"));
  EXPECT_EQ(test::FakeAws::str(doc, "rotated_from").size(), 64u);
}

// ---- Discord ------------------------------------------------------------------------------

TEST_F(RegisterTest, DiscordFirstRunRegistersAndStoresSecondRunChangesNothing) {
  // The guild has no commands yet: the first run PUTs the real /infra set.
  const std::string store = "secretsmanager:infra-bot/discord";
  auto first = run({"register", "discord", "--store", store}, discord_env());
  expect_steps(first, true);
  EXPECT_THAT(first.out,
              HasSubstr("https://discord.com/oauth2/authorize?client_id=" + std::string(kAppId) +
                        "&scope=bot%20applications.commands&permissions=19456"));
  EXPECT_THAT(first.out, HasSubstr("Reset Token"));
  EXPECT_THAT(first.out, HasSubstr("/infra commands registered in guild " + std::string(kGuild)));
  EXPECT_EQ(discord_.count(kPutCommandsRoute), 1u);
  EXPECT_EQ(discord_.writes(), 1u) << "nothing but the PUT";
  {
    const auto put = discord_.last_put();
    ASSERT_TRUE(put.IsArray());
    const auto desired = desired_commands();
    EXPECT_TRUE(put == desired) << "the PUT body is discord_front::infra_commands_json";
    ASSERT_EQ(put.Size(), 1u);
    EXPECT_EQ(test::FakeAws::str(put[0u], "name"), "infra");
  }
  for (const auto& request : discord_.requests()) {
    EXPECT_TRUE(core::json::get_bool(request, "ua_ok").value_or(false)) << "User-Agent";
    EXPECT_TRUE(core::json::get_bool(request, "auth_ok").value_or(false));
    EXPECT_EQ(core::json::get_int(request, "status").value_or(0), 200);
  }
  auto doc = stored(store);
  EXPECT_EQ(test::FakeAws::str(doc, "app_id"), kAppId);
  EXPECT_EQ(test::FakeAws::str(doc, "token"), kBotToken);
  EXPECT_EQ(aws_writes(), 1u);

  auto second = run({"register", "discord", "--store", store}, discord_env());
  expect_steps(second, true);
  EXPECT_THAT(second.out, HasSubstr("up to date"));
  EXPECT_EQ(discord_.count(kPutCommandsRoute), 1u) << "no second PUT";
  EXPECT_EQ(aws_writes(), 1u) << "nothing stored again";

  // The stored token alone is enough now.
  auto from_store = run({"register", "discord", "--store", store}, base_env());
  expect_steps(from_store, true);
  EXPECT_EQ(discord_.count(kPutCommandsRoute), 1u);
  EXPECT_EQ(aws_writes(), 1u);
}

// commands_match through the binary: what Discord adds to a command is not a change; any
// difference in what register sends (a description, an option more or less, a command) is.
TEST_F(RegisterTest, DiscordPutsOnlyWhenTheCommandSetDiffers) {
  struct Variant {
    const char* name;
    std::function<void(rapidjson::Document&)> change;
    bool put;
  };
  const std::vector<Variant> variants = {
      {"the same set, with Discord's own fields", [](rapidjson::Document&) {}, false},
      {"explicit server fields and localizations",
       [](rapidjson::Document& doc) {
         auto& a = doc.GetAllocator();
         auto& command = doc[0u];
         command.AddMember("id", "1300000000000000001", a);
         command.AddMember("version", "1300000000000000002", a);
         command.AddMember("application_id", rapidjson::Value(kAppId, a), a);
         command.AddMember("name_localizations", rapidjson::Value(rapidjson::kNullType), a);
         command["options"][0u].AddMember("required", false, a);  // a default
       },
       false},
      {"another description",
       [](rapidjson::Document& doc) { doc[0u]["description"] = "Run the old infra-bot"; }, true},
      {"another subcommand description",
       [](rapidjson::Document& doc) { doc[0u]["options"][1u]["description"] = "old status"; },
       true},
      {"a subcommand Discord still has",
       [](rapidjson::Document& doc) {
         auto& a = doc.GetAllocator();
         rapidjson::Value old(rapidjson::kObjectType);
         old.AddMember("type", 1, a);
         old.AddMember("name", "destroy", a);
         old.AddMember("description", "gone", a);
         doc[0u]["options"].PushBack(old, a);
       },
       true},
      {"a subcommand Discord lacks",
       [](rapidjson::Document& doc) { doc[0u]["options"].Erase(doc[0u]["options"].Begin()); },
       true},
      {"no commands", [](rapidjson::Document& doc) { doc.SetArray(); }, true},
      {"another command too",
       [](rapidjson::Document& doc) {
         auto& a = doc.GetAllocator();
         rapidjson::Value old(rapidjson::kObjectType);
         old.AddMember("name", "old", a);
         old.AddMember("description", "gone", a);
         doc.PushBack(old, a);
       },
       true},
  };
  for (const auto& variant : variants) {
    SCOPED_TRACE(variant.name);
    auto commands = desired_commands();
    variant.change(commands);
    ASSERT_TRUE(seed_commands(commands));
    const auto puts = discord_.count(kPutCommandsRoute);
    auto result = run({"register", "discord"}, discord_env());
    expect_steps(result, true);
    EXPECT_EQ(discord_.count(kPutCommandsRoute), puts + (variant.put ? 1 : 0));
    EXPECT_THAT(result.out, HasSubstr(variant.put ? "/infra commands registered"
                                                  : "/infra commands in guild " +
                                                        std::string(kGuild) + " are up to date"));
  }
}

TEST_F(RegisterTest, DiscordWithoutStoreStoresNothing) {
  auto result = run({"register", "discord"}, discord_env());
  expect_steps(result, true);
  EXPECT_THAT(result.out, HasSubstr("not stored"));
  EXPECT_EQ(aws_.count(), 0u);
}

TEST_F(RegisterTest, DiscordStoreReadFailuresStopBeforeAnyDiscordCall) {
  ASSERT_TRUE(aws_.fault(R"([
      {"service": "ssm", "operation": "GetParameter", "resource": "/ops/denied",
       "kind": "access_denied", "times": -1},
      {"service": "ssm", "operation": "GetParameter", "resource": "/ops/throttled",
       "kind": "throttle", "times": -1}])"));
  for (const std::string store :
       {"ssm:/ops/denied", "ssm:/ops/throttled", "ssm:/ops/badkey", "ssm:/ops/nokms",
        "secretsmanager:ops/undecryptable", "secretsmanager:ops/nokms"}) {
    SCOPED_TRACE(store);
    auto result = run({"register", "discord", "--store", store}, discord_env());
    expect_steps(result, false);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_THAT(result.out, HasSubstr("stopped before any Discord call"));
  }
  // The token itself behind a reference that cannot be read: the same.
  auto env = discord_env();
  env["DISCORD_BOT_TOKEN"] = "ssm:/ops/nokms";
  auto by_reference = run({"register", "discord"}, env);
  EXPECT_EQ(by_reference.exit_code, 1) << by_reference.all;
  EXPECT_THAT(by_reference.out, HasSubstr("✘ DISCORD_BOT_TOKEN: ssm:/ops/nokms: cannot be"));
  EXPECT_EQ(discord_.count(), 0u) << "no Discord call at all";
  EXPECT_EQ(aws_writes(), 0u);
}

TEST_F(RegisterTest, DiscordRefusesAnotherStoredApplicationWithoutForce) {
  ASSERT_TRUE(aws_.merge_state(std::string(R"({"ssm": {"parameters": [{"name": "/bot/discord", )"
                                           R"("value": "{\"app_id\": \"999\", \"token\": \")") +
                               kBotToken + R"(\"}"}]}})"));
  auto refused = run({"register", "discord", "--store", "ssm:/bot/discord"}, discord_env());
  expect_steps(refused, false);
  EXPECT_THAT(refused.out, HasSubstr("stored for application 999"));
  EXPECT_EQ(discord_.count(kGetCommandsRoute) + discord_.count(kPutCommandsRoute), 0u)
      << "the commands are not touched";
  EXPECT_EQ(discord_.writes(), 0u);
  EXPECT_EQ(aws_writes(), 0u);

  auto forced =
      run({"register", "discord", "--store", "ssm:/bot/discord", "--force"}, discord_env());
  expect_steps(forced, true);
  EXPECT_EQ(test::FakeAws::str(stored("ssm:/bot/discord"), "app_id"), kAppId);
}

TEST_F(RegisterTest, DiscordRejectedTokenChangesNothing) {
  auto env = discord_env();
  env["DISCORD_BOT_TOKEN"] = "MTAxNDAxNDAxNDAx.GfAkE.WRONGSECRETTOKEN";
  auto result = run({"register", "discord", "--store", "ssm:/bot/new"}, env);
  expect_steps(result, false);
  EXPECT_THAT(result.out, HasSubstr("did not accept the bot token"));
  EXPECT_EQ(discord_.writes(), 0u);
  EXPECT_EQ(aws_writes(), 0u);
}

TEST_F(RegisterTest, DiscordWaitsOutARateLimit) {
  ASSERT_TRUE(discord_.control(
      "/_control/rate_limit",
      std::string(R"({"route": ")") + kMeRoute + R"(", "count": 1, "retry_after": 0.05})"));
  auto result = run({"register", "discord"}, discord_env());
  expect_steps(result, true);
  EXPECT_EQ(discord_.count(kMeRoute), 2u) << "asked again after retry_after";
}

TEST_F(RegisterTest, DiscordTokenFromAReferenceIsNotStoredAgain) {
  ASSERT_TRUE(aws_.merge_state(std::string(R"({"ssm": {"parameters": [{"name": "/bot/token", )"
                                           R"("value": ")") +
                               kBotToken + R"("}]}})"));
  auto env = base_env();
  env["DISCORD_BOT_TOKEN"] = "ssm:/bot/token";
  auto result = run({"register", "discord", "--store", "ssm:/bot/register"}, env);
  expect_steps(result, true);
  EXPECT_THAT(result.out, HasSubstr("bot token read from ssm:/bot/token"));
  EXPECT_EQ(aws_writes(), 0u);
}

}  // namespace
