#pragma once

// test::FakeAws — runs tests/fakes/fake_aws.py: a fake AWS that serves ECS, RDS, EC2, SSM, Secrets
// Manager and the Resource Groups Tagging API on one TLS port on 127.0.0.1, keeps real state,
// checks every request's SigV4 signature with botocore and validates it against botocore's service
// model.
//
//   test::FakeAws aws;                    // proto-fixtures/aws/state_default.json
//   // or: test::FakeAws aws(R"({"ec2": {"instances": [{"id": "i-0123456789abcdef0"}]}})");
//   // AWS_ENDPOINT_URL = aws.endpoint(), SSL_CERT_FILE = test_tls().ca_file,
//   // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN = aws.credentials(),
//   // AWS_REGION = aws.region()
//   ASSERT_TRUE(aws.fault(R"({"service": "ec2", "operation": "StopInstances",
//                             "kind": "throttle", "times": 2})"));
//   … run the code under test …
//   ASSERT_TRUE(aws.wait_for("a stop", test::FakeAws::call("ec2", "StopInstances"), 3));
//   auto state = aws.state();             // GET /_fake/state, parsed
//   EXPECT_EQ(test::FakeAws::instance_state(state, "i-0a1b2c3d4e5f61001"), "stopped");
//
// The state schema, the fault kinds and the control API are documented at the top of
// fake_aws.py and in proto-fixtures/aws/README.md. Each request line carries "service"
// (ecs | tagging | rds | ec2 | ssm | secretsmanager), "operation", "params" (the input in botocore
// member names), "wire" (Query/EC2 form fields as sent), "verified", "reason", "answer_status",
// "error".

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "core/http_client.hpp"
#include "core/json.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace test {

class FakeAws {
 public:
  using Request = rapidjson::Value;
  using Predicate = std::function<bool(const Request&)>;
  static constexpr std::chrono::milliseconds kDefaultWait{5000};

  /// The credentials the fake trusts (and the client must sign with).
  struct Credentials {
    std::string access_key_id = "AKIDAWSTEST";
    std::string secret_access_key = "secretAWSTESTwJalrXUtnFEMI/K7MDENG+bPxRfiCY";
    std::string session_token = "sessionAWSTESTFQoGZXIvYXdzEJr//////////wEaDEXAMPLE+token=";
  };

  /// proto-fixtures/aws/state_default.json.
  static std::string default_state_file() {
    return std::string(FIXTURES_DIR) + "/aws/state_default.json";
  }

  /// The default state (dev, staging and prod).
  FakeAws() : FakeAws(std::string_view{}, Credentials()) {}
  /// `state_json`: the whole initial state (sparse is fine: defaults are filled in); empty =
  /// the default state file.
  explicit FakeAws(std::string_view state_json) : FakeAws(state_json, Credentials()) {}
  FakeAws(std::string_view state_json, Credentials credentials)
      : credentials_(std::move(credentials)),
        http_(core::http::make_curl_client(core::http::CurlSettings{test_tls().ca_file})) {
    std::string state_file = default_state_file();
    if (!state_json.empty()) {
      state_file_ = temp_path();
      std::ofstream(state_file_) << state_json;
      state_file = state_file_;
    }
    const auto& tls = test_tls();
    std::string trusted = credentials_.access_key_id + ":" + credentials_.secret_access_key;
    if (!credentials_.session_token.empty()) trusted += ":" + credentials_.session_token;
    process_ = std::make_unique<PythonFake>(
        std::string(FAKES_DIR) + "/fake_aws.py",
        std::vector<std::string>{"--tls", tls.cert_file, tls.key_file, "--credentials", trusted,
                                 "--state", state_file});
  }
  ~FakeAws() {
    process_.reset();
    if (!state_file_.empty()) {
      std::error_code ec;
      std::filesystem::remove(state_file_, ec);
    }
  }
  FakeAws(const FakeAws&) = delete;
  FakeAws& operator=(const FakeAws&) = delete;

  bool started() const { return process_->port() > 0; }
  int port() const { return process_->port(); }
  /// AWS_ENDPOINT_URL (every service is on this one endpoint).
  std::string endpoint() const { return "https://127.0.0.1:" + std::to_string(port()); }
  /// The Host header a request to endpoint() carries (and signs).
  std::string host() const { return "127.0.0.1:" + std::to_string(port()); }
  std::string region() const { return "eu-west-1"; }
  const Credentials& credentials() const { return credentials_; }

  // ---- control API ------------------------------------------------------------------------

  /// GET /_fake/state, parsed (a null document when the fake does not answer).
  rapidjson::Document state() const {
    auto response = control("GET", "/_fake/state", "");
    if (response && response->status == 200) {
      auto parsed = core::json::parse(response->body);
      if (parsed) return std::move(*parsed);
    }
    return rapidjson::Document();
  }
  /// POST /_fake/fault: one fault object or an array of them (see fake_aws.py).
  testing::AssertionResult fault(std::string_view fault_json) const {
    return expect_ok(control("POST", "/_fake/fault", fault_json), "fault");
  }
  /// POST /_fake/faults/clear.
  testing::AssertionResult clear_faults() const {
    return expect_ok(control("POST", "/_fake/faults/clear", ""), "clear faults");
  }
  /// POST /_fake/merge: resources matched by id (ECS by name) are updated field by field.
  testing::AssertionResult merge_state(std::string_view patch_json) const {
    return expect_ok(control("POST", "/_fake/merge", patch_json), "merge state");
  }
  /// POST /_fake/state: replaces the whole state.
  testing::AssertionResult set_state(std::string_view state_json) const {
    return expect_ok(control("POST", "/_fake/state", state_json), "set state");
  }
  /// POST /_fake/reset: the initial state again, no faults, no pagination tokens.
  testing::AssertionResult reset() const {
    return expect_ok(control("POST", "/_fake/reset", ""), "reset");
  }

  // ---- state look-ups ---------------------------------------------------------------------

  /// The EC2 instance's state ("running", "stopped", …), "" when absent.
  static std::string instance_state(const rapidjson::Value& state, std::string_view id) {
    return str(find(state, "ec2", "instances", "id", id), "state");
  }
  /// The RDS instance's status ("available", "stopped", …), "" when absent.
  static std::string db_status(const rapidjson::Value& state, std::string_view id) {
    return str(find(state, "rds", "instances", "id", id), "status");
  }
  /// An ECS service's desiredCount, -1 when absent.
  static std::int64_t desired_count(const rapidjson::Value& state, std::string_view cluster,
                                    std::string_view service) {
    const auto& found =
        find(find(state, "ecs", "clusters", "name", cluster), "", "services", "name", service);
    return found.IsObject() ? core::json::get_int(found, "desiredCount").value_or(-1) : -1;
  }
  /// The security group rules of a group (objects with id, cidrIpv4/cidrIpv6, description…).
  static std::vector<const rapidjson::Value*> rules_of(const rapidjson::Value& state,
                                                       std::string_view group_id) {
    std::vector<const rapidjson::Value*> out;
    const auto* ec2 = state.IsObject() ? core::json::get_object(state, "ec2") : nullptr;
    const auto* rules =
        ec2 != nullptr ? core::json::get_array(*ec2, "securityGroupRules") : nullptr;
    if (rules == nullptr) return out;
    for (const auto& rule : rules->GetArray()) {
      if (str(rule, "groupId") == group_id) out.push_back(&rule);
    }
    return out;
  }

  // ---- requests ---------------------------------------------------------------------------

  /// Every AWS request so far, parsed (in arrival order; control requests are not listed).
  /// The fake prints a request's line before it answers, but this process reads the lines on
  /// a thread of its own: sync() first, so a request already answered is always listed.
  std::vector<rapidjson::Document> requests() const {
    sync();
    return requests_read();
  }
  std::vector<rapidjson::Document> requests(const Predicate& predicate) const {
    std::vector<rapidjson::Document> out;
    for (auto& request : requests()) {
      if (predicate(request)) out.push_back(std::move(request));
    }
    return out;
  }
  std::size_t count(const Predicate& predicate) const { return requests(predicate).size(); }
  std::size_t count() const { return requests().size(); }

  /// Waits until this process has read every line the fake printed before now (POST
  /// /_fake/sync prints a marker after them). False when the marker did not come.
  bool sync() const {
    static std::atomic<int> counter{0};
    const std::string token = std::to_string(::getpid()) + "-" + std::to_string(++counter);
    auto response = control("POST", "/_fake/sync", R"({"token": ")" + token + R"("})");
    if (!response || response->status != 200) return false;
    const std::string marker = R"({"sync":")" + token + R"("})";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      for (const auto& line : process_->lines()) {
        if (line == marker) return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  /// Waits until `n` requests satisfy `predicate`.
  testing::AssertionResult wait_for(std::string_view what, const Predicate& predicate,
                                    std::size_t n = 1,
                                    std::chrono::milliseconds timeout = kDefaultWait) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t matched = 0;
    for (;;) {
      matched = 0;
      for (const auto& request : requests_read()) matched += predicate(request) ? 1 : 0;
      if (matched >= n) return testing::AssertionSuccess();
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return testing::AssertionFailure()
           << "no " << what << " x" << n << " (saw " << matched << ") within " << timeout.count()
           << " ms; " << describe_last(8);
  }
  testing::AssertionResult wait_for_requests(
      std::size_t n, std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for(
        "request", [](const Request&) { return true; }, n, timeout);
  }

  // ---- predicates and field helpers -------------------------------------------------------

  /// Requests to `service` (ecs | tagging | rds | ec2) and `operation` (any when empty).
  static Predicate call(std::string_view service, std::string_view operation = {}) {
    return [s = std::string(service), o = std::string(operation)](const Request& r) {
      return r.IsObject() && str(r, "service") == s && (o.empty() || str(r, "operation") == o);
    };
  }
  static bool verified(const Request& request) {
    return request.IsObject() && core::json::get_bool(request, "verified").value_or(false);
  }
  /// The parsed input ("params"), a null value when absent.
  static const rapidjson::Value& params(const Request& request) {
    static const rapidjson::Value null;
    const auto* found = request.IsObject() ? core::json::get_object(request, "params") : nullptr;
    return found != nullptr ? *found : null;
  }
  static std::string str(const rapidjson::Value& object, std::string_view key) {
    return object.IsObject() ? std::string(core::json::get_string(object, key).value_or(""))
                             : std::string();
  }

  /// "last N of M requests: …", for failure messages.
  std::string describe_last(std::size_t n) const {
    const auto all = process_->lines();
    std::string out = "last " + std::to_string(std::min(n, all.size())) + " of " +
                      std::to_string(all.size()) + " requests to fake_aws:";
    for (std::size_t i = all.size() > n ? all.size() - n : 0; i < all.size(); ++i) {
      std::string line = all[i];
      if (line.size() > 600) line = line.substr(0, 600) + "…";
      out += "\n  " + line;
    }
    if (all.empty()) out += " (none)";
    if (!started()) out += "\n  (fake_aws.py did not start: see its stderr)";
    return out;
  }

 private:
  // The request lines read so far (sync markers left out).
  std::vector<rapidjson::Document> requests_read() const {
    std::vector<rapidjson::Document> out;
    for (const auto& line : process_->lines()) {
      auto parsed = core::json::parse(line);
      if (parsed && parsed->IsObject() && !parsed->HasMember("sync")) {
        out.push_back(std::move(*parsed));
      }
    }
    return out;
  }

  static std::string temp_path() {
    static std::atomic<int> counter{0};
    return (std::filesystem::temp_directory_path() /
            ("infra-bot-fake-aws-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) +
             ".json"))
        .string();
  }

  /// state[section][list] entry whose `key` is `value` (section "" = state itself).
  static const rapidjson::Value& find(const rapidjson::Value& state, std::string_view section,
                                      std::string_view list, std::string_view key,
                                      std::string_view value) {
    static const rapidjson::Value null;
    if (!state.IsObject()) return null;
    const rapidjson::Value* parent = &state;
    if (!section.empty()) parent = core::json::get_object(state, section);
    const auto* items = parent != nullptr ? core::json::get_array(*parent, list) : nullptr;
    if (items == nullptr) return null;
    for (const auto& item : items->GetArray()) {
      if (str(item, key) == value) return item;
    }
    return null;
  }

  core::Result<core::http::Response> control(std::string_view method, std::string_view path,
                                             std::string_view body) const {
    core::http::Request request;
    request.method = std::string(method);
    request.url = endpoint() + std::string(path);
    request.body = std::string(body);
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    request.total_timeout = std::chrono::seconds(10);
    return http_->send(request);
  }

  static testing::AssertionResult expect_ok(const core::Result<core::http::Response>& response,
                                            std::string_view what) {
    if (!response) {
      return testing::AssertionFailure()
             << "fake_aws " << what << ": no answer: " << response.error().detail;
    }
    if (response->status != 200) {
      return testing::AssertionFailure()
             << "fake_aws " << what << ": HTTP " << response->status << ": " << response->body;
    }
    return testing::AssertionSuccess();
  }

  Credentials credentials_;
  std::string state_file_;
  std::unique_ptr<core::http::Client> http_;
  std::unique_ptr<PythonFake> process_;
};

}  // namespace test
