#pragma once

// test::service::ServiceFixture — the whole service over real sockets: a fake Slack
// (fake_slack.py), a fake Lambda that checks SigV4 with botocore (fake_lambda.py) and the built
// `infra-bot run`, configured only through its environment (design §6). Tests push Socket Mode
// envelopes made from proto-fixtures/slack/ and assert on what the fakes recorded:
//
//   start();                                    // fakes + bot, waits for the hello
//   auto cmd = slash("stop dev");                // fresh envelope id, trigger_id, response_url
//   ASSERT_GT(slack().push(cmd.frame), 0);
//   auto ack = wait_ack(cmd.envelope_id);        // the ack event (payload, latency_ms)
//   ASSERT_TRUE(wait_final_replies(cmd.response_id, 1));
//
// TearDown() scans every line every infra-bot process of the test printed for the Slack tokens,
// the AWS secret key and the session token.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "bot_process.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/json.hpp"
#include "fake_lambda.hpp"
#include "fake_slack.hpp"
#include "infra/command_parser.hpp"
#include "infra/policy.hpp"
#include "infra/views.hpp"
#include "slack/blockkit.hpp"
#include "test_tls.hpp"

namespace test::service {

using namespace std::chrono_literals;
using Document = rapidjson::Document;
using Value = rapidjson::Value;

// The ids of proto-fixtures/slack/ (see its README).
inline constexpr const char* kTeam = "T0123ABCD";
inline constexpr const char* kChannel = "C0123ABCD";
inline constexpr const char* kUser = "U0456EFGH";
inline constexpr const char* kUserName = "alice";
inline constexpr const char* kRealName = "Alice Example";  // fake_slack's users.info
inline constexpr const char* kBotUser = "U0FAKEBOT";       // fake_slack's auth.test
inline constexpr const char* kOrchestratorArn =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator";
inline constexpr const char* kWhitelistArn =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist";
inline constexpr const char* kOrchestrator = "infra-orchestrator";
inline constexpr const char* kWhitelist = "infra-ip-whitelist";

// Secrets: distinctive, so a fragment in a log line is found too.
inline constexpr const char* kAppToken = "xapp-1-A0FAKE-7001-9f8e7d6cSECRETAPPTOKEN";
inline constexpr const char* kBotToken = "xoxb-7001-5566778899-SECRETBOTTOKEN";

// ---- small helpers ----------------------------------------------------------------------------

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string str(const Value& object, std::string_view key) {
  return object.IsObject() ? std::string(core::json::get_string(object, key).value_or(""))
                           : std::string();
}

inline std::string canonical(const Value& value) { return core::json::canonical(value); }

/// The payload of a text the bot signed (core::MetadataSigner: "v1.<expiry>.<64 hex>.<payload>");
/// nullopt when it is not signed.
inline std::optional<std::string> signed_payload(std::string_view text) {
  if (!text.starts_with("v1.")) return std::nullopt;
  std::size_t i = 3;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 3 || i >= text.size() || text[i] != '.') return std::nullopt;
  const std::size_t mac = i + 1;
  if (text.size() < mac + 65 || text[mac + 64] != '.') return std::nullopt;
  for (std::size_t k = mac; k < mac + 64; ++k) {
    const char c = text[k];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return std::string(text.substr(mac + 65));
}

/// `value` (a view, a message) with every signed private_metadata and button value replaced by
/// what was signed, for comparing with what the views render; fails the test for one unsigned.
inline std::string unsigned_json(const Value& value) {
  rapidjson::Document copy;
  copy.CopyFrom(value, copy.GetAllocator());
  std::function<void(Value&)> walk = [&](Value& node) {
    if (node.IsArray()) {
      for (auto& item : node.GetArray()) walk(item);
      return;
    }
    if (!node.IsObject()) return;
    const bool is_button = node.HasMember("type") && node["type"].IsString() &&
                           std::string_view(node["type"].GetString()) == "button";
    for (auto& member : node.GetObject()) {
      const std::string_view name = member.name.GetString();
      if ((name == "private_metadata" || (is_button && name == "value")) &&
          member.value.IsString()) {
        const auto payload = signed_payload(member.value.GetString());
        EXPECT_TRUE(payload) << name << " is not signed: " << member.value.GetString();
        if (payload) member.value.SetString(payload->c_str(), copy.GetAllocator());
      } else {
        walk(member.value);
      }
    }
  };
  walk(copy);
  return core::json::canonical(copy);
}
inline std::string canonical(std::string_view json) {
  auto out = core::json::canonicalize(json);
  return out ? *out : "<not JSON: " + std::string(json) + ">";
}

/// A member of `object` as JSON text ("null" when absent).
inline std::string member_json(const Value& object, std::string_view key) {
  if (!object.IsObject()) return "null";
  const auto it = object.FindMember(rapidjson::StringRef(key.data(), key.size()));
  return it == object.MemberEnd() ? "null" : core::json::to_string(it->value);
}

/// `json` (an object's text) with "replace_original": true added.
inline std::string with_replace_original(std::string_view json) {
  auto parsed = core::json::parse(json);
  if (!parsed || !parsed->IsObject()) return std::string(json);
  parsed->AddMember("replace_original", true, parsed->GetAllocator());
  return core::json::to_string(*parsed);
}

inline void set_string(Value& object, std::string_view key, std::string_view value,
                       Document::AllocatorType& alloc) {
  Value v(value.data(), static_cast<rapidjson::SizeType>(value.size()), alloc);
  auto it = object.FindMember(rapidjson::StringRef(key.data(), key.size()));
  if (it != object.MemberEnd()) {
    it->value = std::move(v);
  } else {
    object.AddMember(Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), alloc),
                     std::move(v), alloc);
  }
}

/// A loopback TCP port nobody listened on a moment ago.
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  std::uint16_t port = 0;
  socklen_t size = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

/// RFC 3339 of now + `ahead` (UTC, whole seconds).
inline std::string rfc3339_from_now(std::chrono::seconds ahead) {
  const std::time_t at =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + ahead);
  std::tm tm{};
  ::gmtime_r(&at, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

/// The parsed command (the test's own copy of the grammar, for expected renderings).
inline infra::Command command(std::string_view text) {
  auto parsed = infra::parse_command(text, infra::ParserSettings{});
  if (!parsed) {
    ADD_FAILURE() << "test bug: '" << text << "' does not parse: " << parsed.error().user_message;
    return infra::Command{};
  }
  return *parsed;
}

/// The ack payload of an accepted slash command (views::render_working).
inline std::string working_json(std::string_view text) {
  return slack::blockkit::to_json(infra::views::render_working(command(text)));
}

/// A mutating result as the service posts it: a new message in the channel (never
/// replace_original), naming who ran it (alice's real name; see final_reply()).
inline std::string in_channel_json(const slack::blockkit::Message& message) {
  return slack::blockkit::to_json(infra::views::for_channel(message, kRealName));
}

/// What proto-fixtures/lambda/status answers, as the backend reads it.
inline infra::EnvironmentStatus dev_status() {
  return infra::EnvironmentStatus{
      "dev",
      {infra::EcsService{"api", "RUNNING", 2, 2}, infra::EcsService{"worker", "RUNNING", 1, 0}},
      {infra::RdsInstance{"docustack-dev-db", "available"}}};
}

/// The fake's ack latency (ms since it pushed the envelope); huge when missing.
inline double latency_ms(const Value& ack) {
  if (!ack.IsObject()) return 1e9;
  const auto it = ack.FindMember("latency_ms");
  return it != ack.MemberEnd() && it->value.IsNumber() ? it->value.GetDouble() : 1e9;
}

// ---- what the fakes answer by default ---------------------------------------------------------

/// One scripted answer for fake_lambda.py: `function` and payload `match` (JSON object text),
/// then the rest of the answer's members (JSON members text, e.g. R"("json": {...})").
inline std::string answer(std::string_view function, std::string_view match,
                          std::string_view rest) {
  return "{\"function\": " + core::json::quote(function) + ", \"match\": " + std::string(match) +
         ", " + std::string(rest) + "}";
}

inline std::string fixture_body(std::string_view lambda_case) {
  return read_text(std::filesystem::path(FIXTURES_DIR) / "lambda" / lambda_case / "response.json");
}

/// A realistic answer for every command the tests send.
inline std::vector<std::string> default_answers() {
  auto body = [](std::string_view lambda_case) {
    return "\"body\": " + core::json::quote(fixture_body(lambda_case));
  };
  const std::string expires = rfc3339_from_now(std::chrono::hours(24 * 7));
  return {
      answer(kOrchestrator, R"({"action": "status"})", body("status")),
      answer(kOrchestrator, R"({"action": "stop", "environment": "dev"})", body("stop")),
      answer(kOrchestrator, R"({"action": "start", "environment": "dev"})", body("start")),
      answer(kOrchestrator, R"({"action": "start", "environment": "staging"})",
             R"("json": {"ok": true, "action": "start", "environment": "staging",
                         "message": "Operation completed successfully.",
                         "details": {"ecs_services_started": 3, "rds_instances_started": 1}})"),
      answer(kOrchestrator, R"({"action": "spinup", "environment": "dev"})", body("spinup")),
      answer(kOrchestrator, R"({"action": "teardown", "level": "services"})",
             body("teardown_services")),
      answer(kOrchestrator, R"({"action": "teardown", "level": "full"})",
             R"("json": {"ok": true, "action": "teardown", "environment": "dev",
                         "message": "Environment torn down; VPC, S3, Secrets and IAM preserved.",
                         "details": {"ecs_services_deleted": 2, "rds_instances_deleted": 1,
                                     "nat_gateways_deleted": 1, "elastic_ips_released": 1}})"),
      answer(kWhitelist, R"({"action": "add"})",
             R"("json": {"ok": true, "environment": "staging", "cidr": "203.0.113.7/32",
                         "description": "Home office & VPN", "added_by": "Alice Example",
                         "expires_at": ")" +
                 expires + R"(", "replaced": false})"),
      answer(kWhitelist, R"({"action": "remove"})", body("whitelist_remove")),
      answer(kWhitelist, R"({"action": "list"})",
             R"("json": {"ok": true, "environment": "dev", "entries": [
                 {"cidr": "203.0.113.7/32", "description": "Home office",
                  "added_by": "Alice Example", "expires_at": ")" +
                 expires + R"("}]})"),
      answer(kWhitelist, R"({"action": "refresh"})", body("whitelist_refresh")),
  };
}

// ---- the fixture ------------------------------------------------------------------------------

/// A slash command envelope and the ids it carries.
struct Slash {
  std::string text;
  std::string envelope_id;
  std::string response_id;  ///< the fake's /response/<id>
  std::string response_url;
  std::string trigger_id;
  std::string frame;  ///< the envelope's JSON text
};

struct SlashUser {
  std::string user_id = kUser;
  std::string user_name = kUserName;
  std::string channel_id = kChannel;
};

/// The Block Kit JSON the policy's refusal of `text` by `user` renders to.
inline std::string denied_json(std::string_view text, const infra::PolicySettings& settings,
                               const SlashUser& user = {}) {
  core::SystemClock clock;
  infra::Policy policy(settings, clock);
  const auto cmd = command(text);
  const auto decision =
      policy.check(cmd, infra::Requester{user.user_id, user.user_name, kTeam, user.channel_id});
  EXPECT_FALSE(decision.allowed()) << "test bug: the policy allows " << text;
  return slack::blockkit::to_json(infra::views::render_denied(cmd, decision));
}

class ServiceFixture : public testing::Test {
 protected:
  /// What start() sets up; chain the setters: Settings().env("X", "1").answer(…).
  struct Settings {
    /// Variables on top of base_environment(); std::nullopt removes one.
    std::map<std::string, std::optional<std::string>> variables;
    /// Answers tried before default_answers() (first match wins).
    std::vector<std::string> answers;
    int connections = 1;
    /// Called after the fakes started, before the bot starts (e.g. fake config).
    std::function<void(FakeSlack&)> before_bot;
    bool wait_for_hello = true;

    Settings& env(const std::string& name, std::optional<std::string> value) {
      variables[name] = std::move(value);
      return *this;
    }
    Settings& answer(std::string json) {
      answers.push_back(std::move(json));
      return *this;
    }
    Settings& sockets(int n) {
      connections = n;
      return *this;
    }
    Settings& before(std::function<void(FakeSlack&)> hook) {
      before_bot = std::move(hook);
      return *this;
    }
    Settings& no_hello_wait() {
      wait_for_hello = false;
      return *this;
    }
  };

  void start() { start(Settings{}); }
  void start(Settings settings) {
    settings_ = std::move(settings);
    FakeSlack::Options options;
    options.app_token = kAppToken;
    options.bot_token = kBotToken;
    slack_ = std::make_unique<FakeSlack>(options);
    ASSERT_TRUE(slack_->started()) << "fake_slack.py did not start";
    std::string script = "[";
    auto all = settings_.answers;
    for (auto& a : default_answers()) all.push_back(std::move(a));
    for (std::size_t i = 0; i < all.size(); ++i) script += (i > 0 ? ",\n" : "") + all[i];
    script += "]";
    lambda_ = std::make_unique<FakeLambda>(script);
    ASSERT_TRUE(lambda_->started()) << "fake_lambda.py did not start";
    if (settings_.before_bot) settings_.before_bot(*slack_);

    health_port_ = free_port();
    ASSERT_NE(health_port_, 0);
    env_ = base_environment();
    env_["INFRA_SOCKET_CONNECTIONS"] = std::to_string(settings_.connections);
    for (const auto& [name, value] : settings_.variables) {
      if (value) {
        env_[name] = *value;
      } else {
        env_.erase(name);
      }
    }
    bot_ = std::make_unique<BotProcess>(std::vector<std::string>{"run"}, env_);
    ASSERT_TRUE(bot_->started()) << "could not start " << INFRA_BOT_BINARY;
    if (settings_.wait_for_hello) {
      const auto hello =
          slack_->wait_for_hello(static_cast<std::size_t>(settings_.connections), 10s);
      ASSERT_TRUE(hello) << hello.message() << "\n" << bot_->describe_last(20);
    }
  }

  /// The operator interface of design §6 pointed at the fakes.
  BotProcess::Environment base_environment() const {
    const auto& credentials = lambda_->credentials();
    return {
        {"SLACK_APP_TOKEN", kAppToken},
        {"SLACK_BOT_TOKEN", kBotToken},
        {"SLACK_API_URL", slack_->api_url()},
        {"SSL_CERT_FILE", slack_->ca_file()},
        {"INFRA_BACKEND", "lambda"},
        {"ORCHESTRATOR_LAMBDA_ARN", kOrchestratorArn},
        {"IP_WHITELIST_LAMBDA_ARN", kWhitelistArn},
        {"AWS_ENDPOINT_URL_LAMBDA", lambda_->endpoint()},
        {"AWS_ACCESS_KEY_ID", credentials.access_key_id},
        {"AWS_SECRET_ACCESS_KEY", credentials.secret_access_key},
        {"AWS_SESSION_TOKEN", credentials.session_token},
        {"AWS_REGION", "eu-west-1"},
        {"AWS_EC2_METADATA_DISABLED", "true"},
        {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"},
        {"AWS_CONFIG_FILE", "/nonexistent/config"},
        {"INFRA_HEALTH_PORT", std::to_string(health_port_)},
        {"INFRA_HEALTH_ADDRESS", "127.0.0.1"},
        {"LOG_FORMAT", "json"},
        {"LOG_LEVEL", "debug"},
        {"INFRA_COOLDOWN_SECONDS", "0"},
        {"INFRA_SOCKET_CONNECTIONS", "1"},
        // Closed unless opened (issue 15): the suites act as any member of the workspace.
        {"INFRA_ALLOW_EVERYONE", "true"},
    };
  }

  void TearDown() override {
    expect_no_secrets_logged();
    // INFRA_TEST_DUMP_LOGS=1: everything infra-bot printed, after a failure (or always with 2).
    const char* dump = std::getenv("INFRA_TEST_DUMP_LOGS");
    if (bot_ != nullptr && dump != nullptr &&
        (std::string_view(dump) == "2" || (std::string_view(dump) == "1" && HasFailure()))) {
      std::cerr << bot_->describe_last(100000) << "\n";
    }
  }

  /// No line any infra-bot process of this test printed holds a secret (or a fragment of one).
  void expect_no_secrets_logged() {
    if (lambda_ == nullptr) return;
    const auto& credentials = lambda_->credentials();
    const std::vector<std::pair<std::string, std::string>> secrets = {
        {"SLACK_APP_TOKEN", kAppToken},
        {"SLACK_APP_TOKEN (fragment)", "SECRETAPPTOKEN"},
        {"SLACK_BOT_TOKEN", kBotToken},
        {"SLACK_BOT_TOKEN (fragment)", "SECRETBOTTOKEN"},
        {"AWS_SECRET_ACCESS_KEY", credentials.secret_access_key},
        {"AWS_SECRET_ACCESS_KEY (fragment)", credentials.secret_access_key.substr(0, 16)},
        {"AWS_SESSION_TOKEN", credentials.session_token},
        {"AWS_SESSION_TOKEN (fragment)", credentials.session_token.substr(0, 16)},
    };
    std::vector<const BotProcess*> processes;
    if (bot_ != nullptr) processes.push_back(bot_.get());
    for (const auto& other : others_) processes.push_back(other.get());
    std::size_t scanned = 0;
    for (const auto* process : processes) {
      for (const auto& line : process->all_lines()) {
        ++scanned;
        for (const auto& [name, secret] : secrets) {
          EXPECT_EQ(line.find(secret), std::string::npos)
              << name << " appears in a line infra-bot printed:\n  " << line;
        }
      }
    }
    if (bot_ != nullptr && bot_->started()) {
      EXPECT_GT(scanned, 0u) << "infra-bot printed nothing: the secret scan saw no line";
    }
  }

  /// Runs another infra-bot process (e.g. `healthcheck`) with the bot's environment plus
  /// `overrides`; its output is scanned for secrets too.
  BotProcess& run_other(std::vector<std::string> args,
                        const std::map<std::string, std::string>& overrides = {}) {
    auto env = env_;
    for (const auto& [name, value] : overrides) env[name] = value;
    others_.push_back(std::make_unique<BotProcess>(std::move(args), std::move(env)));
    return *others_.back();
  }

  FakeSlack& slack() { return *slack_; }
  FakeLambda& lambda() { return *lambda_; }
  BotProcess& bot() { return *bot_; }
  std::uint16_t health_port() const { return health_port_; }
  const BotProcess::Environment& env() const { return env_; }

  // ---- envelopes ------------------------------------------------------------------------------

  static std::string fresh(std::string_view prefix) {
    static std::atomic<int> counter{0};
    return std::string(prefix) + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  }

  static Document load_fixture(std::string_view name) {
    const auto text =
        read_text(std::filesystem::path(FIXTURES_DIR) / "slack" / (std::string(name) + ".json"));
    auto parsed = core::json::parse(text);
    if (!parsed || !parsed->IsObject()) {
      ADD_FAILURE() << "fixture slack/" << name << " is not a JSON object";
      Document empty;
      empty.SetObject();
      return empty;
    }
    return std::move(*parsed);
  }

  /// `/infra <text>` as a slash_commands envelope (shape of slash_command_stop.json) with a fresh
  /// envelope id, trigger_id and a response_url served by the fake.
  Slash slash(std::string_view text, const SlashUser& user = {}) {
    Slash out;
    out.text = std::string(text);
    out.envelope_id = fresh("env-slash-");
    out.response_id = fresh("r-");
    out.response_url = slack_->response_url(out.response_id);
    out.trigger_id = fresh("10071234567.0123456789.") + "a1b2c3";
    auto doc = load_fixture("slash_command_stop");
    auto& alloc = doc.GetAllocator();
    set_string(doc, "envelope_id", out.envelope_id, alloc);
    auto& payload = doc["payload"];
    set_string(payload, "text", text, alloc);
    set_string(payload, "response_url", out.response_url, alloc);
    set_string(payload, "trigger_id", out.trigger_id, alloc);
    set_string(payload, "user_id", user.user_id, alloc);
    set_string(payload, "user_name", user.user_name, alloc);
    set_string(payload, "channel_id", user.channel_id, alloc);
    out.frame = core::json::to_string(doc);
    return out;
  }

  /// A view_submission of the teardown modal (shape of view_submission_teardown.json) carrying
  /// the view the bot opened (`opened_view`: the view object of its views.open call, with the
  /// id the fake gave it) and `typed` in the confirmation input.
  std::string view_submission(const Value& opened_view, std::string_view view_id,
                              std::string_view typed, std::string* envelope_id = nullptr) {
    auto doc = load_fixture("view_submission_teardown");
    auto& alloc = doc.GetAllocator();
    const std::string id = fresh("env-view-");
    if (envelope_id != nullptr) *envelope_id = id;
    set_string(doc, "envelope_id", id, alloc);
    auto& payload = doc["payload"];
    set_string(payload, "trigger_id", fresh("20011234567.0123456789.") + "d4e5f6", alloc);
    auto& view = payload["view"];
    set_string(view, "id", view_id, alloc);
    set_string(view, "root_view_id", view_id, alloc);
    set_string(view, "private_metadata", str(opened_view, "private_metadata"), alloc);
    set_string(view, "callback_id", str(opened_view, "callback_id"), alloc);
    set_string(view["state"]["values"]["teardown_confirm"]["confirm_text"], "value", typed, alloc);
    return core::json::to_string(doc);
  }

  /// The view_closed of the teardown modal (shape of view_closed_teardown.json).
  std::string view_closed(const Value& opened_view, std::string_view view_id,
                          std::string* envelope_id = nullptr) {
    auto doc = load_fixture("view_closed_teardown");
    auto& alloc = doc.GetAllocator();
    const std::string id = fresh("env-closed-");
    if (envelope_id != nullptr) *envelope_id = id;
    set_string(doc, "envelope_id", id, alloc);
    auto& view = doc["payload"]["view"];
    set_string(view, "id", view_id, alloc);
    set_string(view, "root_view_id", view_id, alloc);
    set_string(view, "private_metadata", str(opened_view, "private_metadata"), alloc);
    return core::json::to_string(doc);
  }

  /// A block_actions click on the button `action_id` with `value` (shape of block_actions.json)
  /// by alice in #infra-ops, with a fresh trigger_id and a response_url served by the fake.
  struct Click {
    std::string envelope_id;
    std::string trigger_id;
    std::string response_id;
    std::string response_url;
    std::string frame;
  };
  Click block_action(std::string_view action_id, std::string_view value) {
    Click out;
    out.envelope_id = fresh("env-click-");
    out.trigger_id = fresh("30011234567.0123456789.") + "c0ffee";
    out.response_id = fresh("a-");
    out.response_url = slack_->response_url(out.response_id);
    auto doc = load_fixture("block_actions");
    auto& alloc = doc.GetAllocator();
    set_string(doc, "envelope_id", out.envelope_id, alloc);
    auto& payload = doc["payload"];
    set_string(payload, "trigger_id", out.trigger_id, alloc);
    set_string(payload, "response_url", out.response_url, alloc);
    set_string(payload["user"], "id", kUser, alloc);
    set_string(payload["user"], "username", kUserName, alloc);
    set_string(payload["user"], "name", kUserName, alloc);
    set_string(payload["user"], "team_id", kTeam, alloc);
    set_string(payload["team"], "id", kTeam, alloc);
    set_string(payload["channel"], "id", kChannel, alloc);
    set_string(payload["channel"], "name", "infra-ops", alloc);
    set_string(payload["container"], "channel_id", kChannel, alloc);
    auto& action = payload["actions"][0];
    set_string(action, "action_id", action_id, alloc);
    set_string(action, "value", value, alloc);
    out.frame = core::json::to_string(doc);
    return out;
  }

  struct Mention {
    std::string envelope_id;
    std::string event_id;
    std::string ts;
    std::string frame;
  };
  /// An events_api app_mention "<@U0FAKEBOT> <text>" by alice in #infra-ops (shape of
  /// events_api_app_mention_thread.json); `thread_ts` empty = a top-level message.
  Mention mention(std::string_view text, std::string_view thread_ts = {}, std::string event_id = {},
                  int retry_attempt = 0) {
    static std::atomic<int> ts_counter{100};
    Mention out;
    out.envelope_id = fresh("env-event-");
    out.event_id = event_id.empty() ? fresh("Ev") : std::move(event_id);
    out.ts = "1732530123." + std::to_string(100000 + ++ts_counter);
    auto doc = load_fixture("events_api_app_mention_thread");
    auto& alloc = doc.GetAllocator();
    set_string(doc, "envelope_id", out.envelope_id, alloc);
    doc["retry_attempt"].SetInt(retry_attempt);
    set_string(doc, "retry_reason", retry_attempt > 0 ? "timeout" : "", alloc);
    auto& payload = doc["payload"];
    set_string(payload, "event_id", out.event_id, alloc);
    set_string(payload, "team_id", kTeam, alloc);
    auto& event = payload["event"];
    set_string(event, "text", "<@" + std::string(kBotUser) + "> " + std::string(text), alloc);
    set_string(event, "user", kUser, alloc);
    set_string(event, "channel", kChannel, alloc);
    set_string(event, "team", kTeam, alloc);
    set_string(event, "ts", out.ts, alloc);
    set_string(event, "event_ts", out.ts, alloc);
    if (thread_ts.empty()) {
      event.RemoveMember("thread_ts");
    } else {
      set_string(event, "thread_ts", thread_ts, alloc);
    }
    event.RemoveMember("blocks");
    out.frame = core::json::to_string(doc);
    return out;
  }

  /// The same envelope as Slack redelivers it: new envelope id, retry_attempt 1.
  Mention redelivery(const Mention& original) {
    auto doc = core::json::parse(original.frame);
    Mention out = original;
    out.envelope_id = fresh("env-event-retry-");
    auto& alloc = doc->GetAllocator();
    set_string(*doc, "envelope_id", out.envelope_id, alloc);
    (*doc)["retry_attempt"].SetInt(1);
    set_string(*doc, "retry_reason", "timeout", alloc);
    out.frame = core::json::to_string(*doc);
    return out;
  }

  /// The view object the bot sent in its `n`-th views.open call (waits for it; a null document
  /// on failure, which is reported). Also checks the fake accepted the call.
  Document opened_view(std::size_t n = 1, std::string* trigger_id = nullptr) {
    const auto waited = slack_->wait_for_api("views.open", n);
    if (!waited) {
      ADD_FAILURE() << waited.message() << "\n" << bot_->describe_last(15);
      return Document{};
    }
    std::size_t seen = 0;
    for (const auto& event : slack_->events("api")) {
      if (str(event, "method") != "views.open" || ++seen != n) continue;
      EXPECT_EQ(FakeSlack::num(event, "status"), 200);
      EXPECT_EQ(str(event, "error"), "") << "views.open failed: " << core::json::to_string(event);
      const auto* body = core::json::get_object(event, "body");
      if (body == nullptr || !body->HasMember("view")) {
        ADD_FAILURE() << "views.open without a view: " << core::json::to_string(event);
        return Document{};
      }
      if (trigger_id != nullptr) *trigger_id = str(*body, "trigger_id");
      Document view;
      if ((*body)["view"].IsString()) {  // a form post carries the view as JSON text
        auto parsed = core::json::parse((*body)["view"].GetString());
        if (parsed) view = std::move(*parsed);
      } else {
        view.CopyFrom((*body)["view"], view.GetAllocator());
      }
      return view;
    }
    return Document{};
  }

  /// Web API calls of `method` the fake saw, in order.
  std::vector<Document> api_events(std::string_view method) {
    std::vector<Document> out;
    for (auto& event : slack_->events("api")) {
      if (str(event, "method") == method) out.push_back(std::move(event));
    }
    return out;
  }

  // ---- what the fakes saw ---------------------------------------------------------------------

  /// The (first) ack of `envelope_id`, once it arrived (a null document on failure, which is
  /// reported).
  Document wait_ack(const std::string& envelope_id, std::chrono::milliseconds timeout = 5s) {
    const auto waited = slack_->wait_for_ack(envelope_id, 1, timeout);
    if (!waited) {
      ADD_FAILURE() << waited.message() << "\n" << bot_->describe_last(15);
      return Document{};
    }
    for (auto& event : slack_->events("ack")) {
      if (str(event, "envelope_id") == envelope_id) return std::move(event);
    }
    return Document{};
  }

  /// response_url posts to the fake's /response/<id>, in order.
  std::vector<Document> posts(const std::string& response_id) {
    std::vector<Document> out;
    for (auto& event : slack_->events("response_url")) {
      if (str(event, "id") == response_id) out.push_back(std::move(event));
    }
    return out;
  }

  /// A progress update, or the notice a confirmed teardown posts when it starts: not the
  /// command's final reply.
  static bool is_progress(const Value& post) {
    const auto* body = core::json::get_object(post, "body");
    if (body == nullptr) return false;
    const auto text = str(*body, "text");
    return text.find("Still working on") != std::string::npos ||
           (text.rfind("Teardown of ", 0) == 0 && text.find(" started by ") != std::string::npos);
  }

  /// The final replies (response_url posts that are not progress updates) to `response_id`.
  std::vector<Document> final_replies(const std::string& response_id) {
    std::vector<Document> out;
    for (auto& post : posts(response_id)) {
      if (!is_progress(post)) out.push_back(std::move(post));
    }
    return out;
  }

  /// Waits for `n` final replies to `response_id`.
  testing::AssertionResult wait_final_replies(const std::string& response_id, std::size_t n = 1,
                                              std::chrono::milliseconds timeout = 8s) {
    auto result = slack_->wait_for(
        "final reply to /response/" + response_id,
        [response_id](const FakeSlack::Event& e) {
          return FakeSlack::is(e, "response_url") && str(e, "id") == response_id && !is_progress(e);
        },
        n, timeout);
    if (!result) result << "\n" << bot_->describe_last(15);
    return result;
  }

  /// The body of the one final reply to `response_id` (waits for it; also checks, after a short
  /// pause, that no second one follows).
  Document final_reply(const std::string& response_id, std::chrono::milliseconds timeout = 8s) {
    const auto waited = wait_final_replies(response_id, 1, timeout);
    if (!waited) {
      ADD_FAILURE() << waited.message();
      return Document{};
    }
    settle();
    auto replies = final_replies(response_id);
    EXPECT_EQ(replies.size(), 1u) << "every accepted command gets exactly one final reply; "
                                  << slack_->describe_last(10);
    Document body;
    body.CopyFrom(replies.front()["body"], body.GetAllocator());
    // Issue 14: a result is a new message, never a replacement of the ack's ephemeral one.
    EXPECT_FALSE(body.IsObject() && body.HasMember("replace_original"))
        << "replace_original on a slash command's response_url: " << canonical(body);
    return with_real_name(body);
  }

  /// users.info runs beside the job, never before it (issue 14): a result renders the real
  /// name when the lookup landed first, else the Slack handle. Either is right; the handle is
  /// turned into the real name here so the comparisons stay exact.
  static Document with_real_name(const Value& value) {
    // The text may sit in a JSON string inside a string (a form post's "blocks"), so the
    // name ends in `"` or in `\"`.
    auto text = core::json::to_string(value);
    const std::string handle = "Requested by " + std::string(kUserName);
    const std::string real = "Requested by " + std::string(kRealName);
    for (auto at = text.find(handle); at != std::string::npos; at = text.find(handle, at)) {
      const auto end = at + handle.size();
      if (end < text.size() && (text[end] == '"' || text[end] == '\\')) {
        text.replace(at, handle.size(), real);
        at += real.size();
      } else {
        at = end;
      }
    }
    auto parsed = core::json::parse(text);
    Document out;
    if (parsed) out.Swap(*parsed);
    return out;
  }

  /// Lets in-flight work show up in the fakes' records before counting.
  void settle(std::chrono::milliseconds pause = 300ms) {
    std::this_thread::sleep_for(pause);
    EXPECT_TRUE(slack_->sync());
  }

  /// The orchestrator/whitelist calls the fake Lambda saw (with a signature check on each).
  std::vector<Document> calls(std::string_view function, std::string_view action = {}) {
    auto seen = lambda_->requests(FakeLambda::call(function, action));
    for (const auto& request : seen) {
      EXPECT_TRUE(FakeLambda::verified(request))
          << "SigV4 not verified by botocore: " << str(request, "reason");
    }
    return seen;
  }

  /// The payload of `request` with request_id checked (non-empty) and replaced by "<id>", as
  /// canonical JSON, for exact comparisons.
  static std::string payload_without_request_id(const Value& request) {
    const auto& payload = FakeLambda::payload(request);
    if (!payload.IsObject()) return "<no payload>";
    Document copy;
    copy.CopyFrom(payload, copy.GetAllocator());
    EXPECT_FALSE(str(copy, "request_id").empty()) << "request_id missing in " << canonical(copy);
    set_string(copy, "request_id", "<id>", copy.GetAllocator());
    // requested_by.user_name is users.info's real name when the lookup (which never delays
    // the job) landed first, else what the request carried: the Slack handle, or for a
    // mention the user id. Each is right, and compared as the real name.
    if (auto* by = copy.HasMember("requested_by") && copy["requested_by"].IsObject()
                       ? &copy["requested_by"]
                       : nullptr;
        by != nullptr &&
        (str(*by, "user_name") == kUserName || str(*by, "user_name") == str(*by, "user_id"))) {
      set_string(*by, "user_name", kRealName, copy.GetAllocator());
    }
    return canonical(copy);
  }

  /// The requested_by object the Lambda payloads carry for alice in #infra-ops.
  static std::string requested_by_json(std::string_view user_name = kRealName,
                                       std::string_view user_id = kUser,
                                       std::string_view channel_id = kChannel) {
    return "{\"user_id\": " + core::json::quote(user_id) +
           ", \"user_name\": " + core::json::quote(user_name) + ", \"team_id\": \"" + kTeam +
           "\", \"channel_id\": " + core::json::quote(channel_id) + "}";
  }

  /// GET http://127.0.0.1:<health port><path>.
  std::optional<core::http::Response> health_get(std::string_view path) {
    if (!health_http_) health_http_ = core::http::make_curl_client(core::http::CurlSettings{});
    core::http::Request request;
    request.url = "http://127.0.0.1:" + std::to_string(health_port_) + std::string(path);
    request.connect_timeout = 1s;
    request.total_timeout = 3s;
    auto response = health_http_->send(request);
    if (!response) return std::nullopt;
    return std::move(*response);
  }

  /// Polls `path` until it answers `status`.
  testing::AssertionResult wait_health(std::string_view path, long status,
                                       std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last = "no answer";
    for (;;) {
      auto response = health_get(path);
      if (response) {
        if (response->status == status) return testing::AssertionSuccess();
        last = "HTTP " + std::to_string(response->status) + " " + response->body.substr(0, 200);
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(50ms);
    }
    return testing::AssertionFailure()
           << "GET " << path << " on 127.0.0.1:" << health_port_ << " did not answer " << status
           << " within " << timeout.count() << " ms (last: " << last << ")\n"
           << bot_->describe_last(10);
  }

  /// Audit lines ("logger":"audit") whose "command" contains `command_text`.
  std::vector<Document> audit_lines(std::string_view command_text = {}) {
    return bot_->log_json([c = std::string(command_text)](const Value& line) {
      return str(line, "logger") == "audit" &&
             (c.empty() || str(line, "command").find(c) != std::string::npos);
    });
  }
  testing::AssertionResult wait_audit(std::string_view command_text, std::size_t n = 1,
                                      std::chrono::milliseconds timeout = 5s) {
    return bot_->wait_for_json_log(
        "\"logger\":\"audit\" for '" + std::string(command_text) + "'",
        [c = std::string(command_text)](const Value& line) {
          return str(line, "logger") == "audit" &&
                 str(line, "command").find(c) != std::string::npos;
        },
        n, timeout);
  }

  Settings settings_;
  std::unique_ptr<FakeSlack> slack_;
  std::unique_ptr<FakeLambda> lambda_;
  std::unique_ptr<BotProcess> bot_;
  std::vector<std::unique_ptr<BotProcess>> others_;
  std::uint16_t health_port_ = 0;
  BotProcess::Environment env_;
  std::unique_ptr<core::http::Client> health_http_;
};

}  // namespace test::service
