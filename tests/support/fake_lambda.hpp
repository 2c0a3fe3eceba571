#pragma once

// test::FakeLambda — runs tests/fakes/fake_lambda.py (a fake AWS Lambda Invoke endpoint over TLS
// on 127.0.0.1 that checks every request's SigV4 signature with botocore) with a script of
// answers, and reads back what it saw:
//
//   test::FakeLambda lambda(R"([{"function": "infra-orchestrator", "match": {"action": "stop"},
//                                "delay_ms": 2000, "json": {"ok": true}}])");
//   // AWS_ENDPOINT_URL_LAMBDA = lambda.endpoint(), SSL_CERT_FILE = test_tls().ca_file,
//   // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN = lambda.credentials()
//   ASSERT_TRUE(lambda.wait_for_requests(1));
//   // on failure: "no request x1 within 5000 ms; last 3 of 3 requests: …"
//
// The answer script format (first matching answer wins; "times" uses one up) is documented at
// the top of fake_lambda.py. Each request line carries "function" (the short name),
// "payload" (parsed JSON), "verified" (the botocore signature check) and "answer_status".

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

#include "core/json.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace test {

class FakeLambda {
 public:
  using Request = rapidjson::Value;
  using Predicate = std::function<bool(const Request&)>;
  static constexpr std::chrono::milliseconds kDefaultWait{5000};

  /// The credentials the fake trusts (and the client must sign with).
  struct Credentials {
    std::string access_key_id = "AKIDTEST";
    std::string secret_access_key = "secretTESTwJalrXUtnFEMI/K7MDENG+bPxRfiCY";
    std::string session_token = "sessionTESTFQoGZXIvYXdzEJr//////////wEaDEXAMPLE+token=";
  };

  /// `answers_json`: the JSON array of answers (see fake_lambda.py).
  explicit FakeLambda(std::string_view answers_json) : FakeLambda(answers_json, Credentials()) {}
  FakeLambda(std::string_view answers_json, Credentials credentials)
      : credentials_(std::move(credentials)), script_(script_path()) {
    std::ofstream(script_) << R"({"answers": )" << answers_json << "}";
    const auto& tls = test_tls();
    std::string trusted = credentials_.access_key_id + ":" + credentials_.secret_access_key;
    if (!credentials_.session_token.empty()) trusted += ":" + credentials_.session_token;
    process_ = std::make_unique<PythonFake>(
        std::string(FAKES_DIR) + "/fake_lambda.py",
        std::vector<std::string>{"--tls", tls.cert_file, tls.key_file, "--credentials", trusted,
                                 "--script", script_});
  }
  ~FakeLambda() {
    process_.reset();
    std::error_code ec;
    std::filesystem::remove(script_, ec);
  }
  FakeLambda(const FakeLambda&) = delete;
  FakeLambda& operator=(const FakeLambda&) = delete;

  bool started() const { return process_->port() > 0; }
  int port() const { return process_->port(); }
  /// AWS_ENDPOINT_URL_LAMBDA.
  std::string endpoint() const { return "https://127.0.0.1:" + std::to_string(port()); }
  const Credentials& credentials() const { return credentials_; }

  /// Every request so far, parsed (in arrival order).
  std::vector<rapidjson::Document> requests() const {
    std::vector<rapidjson::Document> out;
    for (const auto& line : process_->lines()) {
      auto parsed = core::json::parse(line);
      if (parsed && parsed->IsObject()) out.push_back(std::move(*parsed));
    }
    return out;
  }
  /// Requests satisfying `predicate`.
  std::vector<rapidjson::Document> requests(const Predicate& predicate) const {
    std::vector<rapidjson::Document> out;
    for (auto& request : requests()) {
      if (predicate(request)) out.push_back(std::move(request));
    }
    return out;
  }
  std::size_t count(const Predicate& predicate) const { return requests(predicate).size(); }
  std::size_t count() const { return requests().size(); }

  /// Waits until `n` requests satisfy `predicate`.
  testing::AssertionResult wait_for(std::string_view what, const Predicate& predicate,
                                    std::size_t n = 1,
                                    std::chrono::milliseconds timeout = kDefaultWait) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t matched = 0;
    for (;;) {
      matched = count(predicate);
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

  /// Requests to `function` ("infra-orchestrator") whose payload has action `action` (any
  /// action when empty).
  static Predicate call(std::string_view function, std::string_view action = {}) {
    return [f = std::string(function), a = std::string(action)](const Request& r) {
      if (!r.IsObject() || core::json::get_string(r, "function") != f) return false;
      if (a.empty()) return true;
      const auto* payload = core::json::get_object(r, "payload");
      return payload != nullptr && core::json::get_string(*payload, "action") == a;
    };
  }
  static bool verified(const Request& request) {
    return request.IsObject() && core::json::get_bool(request, "verified").value_or(false);
  }
  /// The payload object (a null value when absent).
  static const rapidjson::Value& payload(const Request& request) {
    static const rapidjson::Value null;
    const auto* found = request.IsObject() ? core::json::get_object(request, "payload") : nullptr;
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
                      std::to_string(all.size()) + " requests to fake_lambda:";
    for (std::size_t i = all.size() > n ? all.size() - n : 0; i < all.size(); ++i) {
      std::string line = all[i];
      if (line.size() > 600) line = line.substr(0, 600) + "…";
      out += "\n  " + line;
    }
    if (all.empty()) out += " (none)";
    if (!started()) out += "\n  (fake_lambda.py did not start: see its stderr)";
    return out;
  }

 private:
  static std::string script_path() {
    static std::atomic<int> counter{0};
    return (std::filesystem::temp_directory_path() /
            ("infra-bot-fake-lambda-" + std::to_string(::getpid()) + "-" +
             std::to_string(++counter) + ".json"))
        .string();
  }

  Credentials credentials_;
  std::string script_;
  std::unique_ptr<PythonFake> process_;
};

}  // namespace test
