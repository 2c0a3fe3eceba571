#pragma once

// test::FakeLambdaRuntime — runs tests/fakes/fake_lambda_runtime.py: a fake AWS Lambda whose
// functions are served by real processes. Callers (the bot) invoke over TLS with SigV4 (checked
// by botocore, as fake_lambda.py does); each invocation is queued for its function's Runtime API
// (plain HTTP, one port per function) where an `infra-bot lambda` process picks it up, and the
// caller gets what that process posts (…/response → 200; …/error → 200 with
// X-Amz-Function-Error: Unhandled).
//
//   test::FakeLambdaRuntime lambda({"infra-orchestrator", "infra-ip-whitelist"});
//   // the bot:   AWS_ENDPOINT_URL_LAMBDA = lambda.endpoint(), SSL_CERT_FILE = test_tls().ca_file,
//   //            AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN =
//   lambda.credentials()
//   // a runtime: AWS_LAMBDA_RUNTIME_API = lambda.runtime_api("infra-orchestrator")
//   ASSERT_TRUE(lambda.wait_for("a poll", test::FakeLambdaRuntime::event("next",
//   "infra-orchestrator"))); ASSERT_TRUE(lambda.fail_next("infra-orchestrator", 500));   // the
//   next `next` answers 500
//
// Every event line carries "event" (invoke, answered, next, dispatch, response, error,
// init_error, timeout, next_status); their fields are documented at the top of the script.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
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

class FakeLambdaRuntime {
 public:
  using Event = rapidjson::Value;
  using Predicate = std::function<bool(const Event&)>;
  static constexpr std::chrono::milliseconds kDefaultWait{10000};

  /// The credentials the Invoke endpoint trusts (and the caller must sign with).
  struct Credentials {
    std::string access_key_id = "AKIDLAMBDARUNTIME";
    std::string secret_access_key = "secretLAMBDARUNTIMEwJalrXUtnFEMI/K7MDENG";
    std::string session_token = "sessionLAMBDARUNTIMEFQoGZXIvYXdzEJr//////////wEaDEXAMPLE=";
  };

  /// `functions`: the function names served (each gets a Runtime API port); `timeout`: how long
  /// an invocation may wait for its runtime before it fails with Sandbox.Timedout.
  explicit FakeLambdaRuntime(std::vector<std::string> functions,
                             std::chrono::seconds timeout = std::chrono::seconds(60))
      : FakeLambdaRuntime(std::move(functions), timeout, Credentials()) {}
  FakeLambdaRuntime(std::vector<std::string> functions, std::chrono::seconds timeout,
                    Credentials credentials)
      : credentials_(std::move(credentials)),
        http_(core::http::make_curl_client(core::http::CurlSettings{})) {
    const auto& tls = test_tls();
    std::string trusted = credentials_.access_key_id + ":" + credentials_.secret_access_key;
    if (!credentials_.session_token.empty()) trusted += ":" + credentials_.session_token;
    std::vector<std::string> args{"--tls",
                                  tls.cert_file,
                                  tls.key_file,
                                  "--credentials",
                                  trusted,
                                  "--timeout-seconds",
                                  std::to_string(timeout.count())};
    for (const auto& function : functions) {
      args.push_back("--function");
      args.push_back(function);
    }
    process_ =
        std::make_unique<PythonFake>(std::string(FAKES_DIR) + "/fake_lambda_runtime.py", args);
    if (process_->port() > 0) read_runtime_ports();
  }
  FakeLambdaRuntime(const FakeLambdaRuntime&) = delete;
  FakeLambdaRuntime& operator=(const FakeLambdaRuntime&) = delete;

  bool started() const { return process_->port() > 0 && !runtime_ports_.empty(); }
  /// The TLS Invoke port.
  int port() const { return process_->port(); }
  /// AWS_ENDPOINT_URL_LAMBDA.
  std::string endpoint() const { return "https://127.0.0.1:" + std::to_string(port()); }
  const Credentials& credentials() const { return credentials_; }
  /// The Runtime API port of `function` (0 when unknown).
  int runtime_port(const std::string& function) const {
    const auto it = runtime_ports_.find(function);
    return it == runtime_ports_.end() ? 0 : it->second;
  }
  /// AWS_LAMBDA_RUNTIME_API for `function`'s runtime: "127.0.0.1:<port>".
  std::string runtime_api(const std::string& function) const {
    return "127.0.0.1:" + std::to_string(runtime_port(function));
  }

  /// Makes the next `next` of `function` (or the one waiting now) answer `status`.
  testing::AssertionResult fail_next(const std::string& function, int status = 500) const {
    core::http::Request request;
    request.method = "POST";
    request.url = "http://" + runtime_api(function) + "/fake/next-status";
    request.body = "{\"status\": " + std::to_string(status) + "}";
    request.headers.emplace_back("Content-Type", "application/json");
    auto response = http_->send(request);
    if (!response) return testing::AssertionFailure() << "fail_next: " << response.error().detail;
    if (response->status != 202) {
      return testing::AssertionFailure() << "fail_next: HTTP " << response->status;
    }
    return testing::AssertionSuccess();
  }

  /// Every event so far, parsed (in order).
  std::vector<rapidjson::Document> events() const {
    std::vector<rapidjson::Document> out;
    for (const auto& line : process_->lines()) {
      auto parsed = core::json::parse(line);
      if (parsed && parsed->IsObject()) out.push_back(std::move(*parsed));
    }
    return out;
  }
  std::vector<rapidjson::Document> events(const Predicate& predicate) const {
    std::vector<rapidjson::Document> out;
    for (auto& item : events()) {
      if (predicate(item)) out.push_back(std::move(item));
    }
    return out;
  }
  std::size_t count(const Predicate& predicate) const { return events(predicate).size(); }

  /// Waits until `n` events satisfy `predicate`.
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
           << " ms; " << describe_last(10);
  }

  // ---- predicates and field helpers -------------------------------------------------------

  /// Events of kind `kind` ("invoke", "response", …), of `function` when given.
  static Predicate event(std::string_view kind, std::string_view function = {}) {
    return [k = std::string(kind), f = std::string(function)](const Event& e) {
      if (!e.IsObject() || core::json::get_string(e, "event") != k) return false;
      return f.empty() || core::json::get_string(e, "function") == f;
    };
  }
  /// Events of kind `kind` whose "payload" (invoke, dispatch) or "body" (response, error,
  /// answered) object has action `action`.
  static Predicate with_action(std::string_view kind, std::string_view action) {
    return [k = std::string(kind), a = std::string(action)](const Event& e) {
      if (!e.IsObject() || core::json::get_string(e, "event") != k) return false;
      const auto* payload = core::json::get_object(e, "payload");
      if (payload == nullptr) payload = core::json::get_object(e, "body");
      return payload != nullptr && core::json::get_string(*payload, "action") == a;
    };
  }
  static bool verified(const Event& e) {
    return e.IsObject() && core::json::get_bool(e, "verified").value_or(false);
  }
  static std::string str(const rapidjson::Value& object, std::string_view key) {
    return object.IsObject() ? std::string(core::json::get_string(object, key).value_or(""))
                             : std::string();
  }

  /// "last N of M events: …", for failure messages.
  std::string describe_last(std::size_t n) const {
    const auto all = process_->lines();
    std::string out = "last " + std::to_string(std::min(n, all.size())) + " of " +
                      std::to_string(all.size()) + " lines of fake_lambda_runtime:";
    for (std::size_t i = all.size() > n ? all.size() - n : 0; i < all.size(); ++i) {
      std::string line = all[i];
      if (line.size() > 600) line = line.substr(0, 600) + "…";
      out += "\n  " + line;
    }
    if (all.empty()) out += " (none)";
    if (!started()) out += "\n  (fake_lambda_runtime.py did not start: see its stderr)";
    return out;
  }

 private:
  // "RUNTIME name=port name=port", the line after PORT.
  void read_runtime_ports() {
    if (!process_->wait_for_lines(1, std::chrono::seconds(10))) return;
    const std::string line = process_->lines().front();
    if (line.rfind("RUNTIME ", 0) != 0) return;
    std::istringstream in(line.substr(8));
    std::string item;
    while (in >> item) {
      const auto equals = item.rfind('=');
      if (equals == std::string::npos) continue;
      runtime_ports_[item.substr(0, equals)] = std::stoi(item.substr(equals + 1));
    }
  }

  Credentials credentials_;
  std::unique_ptr<core::http::Client> http_;
  std::unique_ptr<PythonFake> process_;
  std::map<std::string, int> runtime_ports_;
};

}  // namespace test
