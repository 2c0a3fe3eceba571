#pragma once

// DynamoDB for tests: dynalite (npm, tests/state; dev.sh installs it into
// $build/state-tests) started by tests/fakes/dynalite_server.py, the fault proxy
// tests/fakes/dynamodb_fault_proxy.py in front of it, and a DynamoDbClient on
// either, built as the app builds the state's (DynamoDbState::settings_for).
//
//   test::Dynalite dynalite;                    // skip when !dynalite.ok()
//   test::FaultProxy proxy(dynalite.endpoint());
//   test::DynamoDbStack stack(proxy.endpoint());
//   auto table = test::unique_table_name("conformance");
//   infra::create_state_table(stack.client(), table, stack.sleeper(), {20ms, 500});

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "aws/credentials.hpp"
#include "aws/dynamodb_client.hpp"
#include "aws/lambda_client.hpp"
#include "aws/service_client.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "infra/dynamodb_state.hpp"

namespace test {

/// The node_modules directory holding dynalite (dev.sh: $build/state-tests/node_modules).
inline std::string state_node_modules() {
  if (const char* set = std::getenv("INFRA_STATE_NODE_MODULES"); set != nullptr && *set != 0) {
    return set;
  }
  return STATE_NODE_MODULES;
}

inline bool state_node_modules_present() {
  return std::filesystem::is_directory(std::filesystem::path(state_node_modules()) / "dynalite");
}

/// A table name no other test process uses.
inline std::string unique_table_name(std::string_view what) {
  static std::atomic<int> counter{0};
  return fmt::format("infra-bot-{}-{}-{}", what, ::getpid(), ++counter);
}

/// Runs `/usr/bin/python3 -u script args…` with a pipe on stdin (closed when
/// this ends, which ends the script) and reads the one JSON line it prints.
class JsonLineProcess {
 public:
  JsonLineProcess(const std::string& script, const std::vector<std::string>& args) {
    int in[2];
    int out[2];
    if (::pipe(in) != 0) return;
    if (::pipe(out) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::close(in[0]);
      ::close(in[1]);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> all = {"/usr/bin/python3", "-u", script};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& arg : all) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_fd_ = in[1];
    stream_ = ::fdopen(out[0], "r");
    std::string line;
    int c = 0;
    while (stream_ != nullptr && (c = std::fgetc(stream_)) != EOF && c != '\n') {
      line.push_back(static_cast<char>(c));
    }
    if (auto parsed = core::json::parse(line); parsed && parsed->IsObject()) {
      document_ = std::move(*parsed);
      started_ = true;
    }
  }

  ~JsonLineProcess() { stop(); }
  JsonLineProcess(const JsonLineProcess&) = delete;
  JsonLineProcess& operator=(const JsonLineProcess&) = delete;

  bool ok() const { return started_; }
  std::string field(std::string_view name) const {
    if (!started_) return {};
    return std::string(core::json::get_string(document_, name).value_or(""));
  }

  /// Stops the process (and whatever it started) and waits for it.
  void stop() {
    if (stdin_fd_ >= 0) {
      ::close(stdin_fd_);
      stdin_fd_ = -1;
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (stream_ != nullptr) {
      std::fclose(stream_);
      stream_ = nullptr;
    }
  }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::FILE* stream_ = nullptr;
  bool started_ = false;
  rapidjson::Document document_;
};

/// dynalite on 127.0.0.1 (a free port).
class Dynalite {
 public:
  Dynalite()
      : process_(std::string(FAKES_DIR) + "/dynalite_server.py",
                 {"--node-modules", state_node_modules(), "--create-table-ms", "20"}) {}
  bool ok() const { return process_.ok(); }
  std::string endpoint() const { return process_.field("endpoint"); }
  void stop() { process_.stop(); }

 private:
  JsonLineProcess process_;
};

/// The fault proxy in front of `upstream`; checks signatures against `credentials`.
class FaultProxy {
 public:
  FaultProxy(const std::string& upstream, const std::string& credentials)
      : process_(std::string(FAKES_DIR) + "/dynamodb_fault_proxy.py",
                 {"--upstream", upstream, "--credentials", credentials}),
        http_(core::http::make_curl_client(core::http::CurlSettings{})) {}
  bool ok() const { return process_.ok(); }
  std::string endpoint() const { return process_.field("endpoint"); }

  /// POSTs `json` to the control path: true when accepted.
  bool configure(const std::string& json) {
    core::http::Request request;
    request.method = "POST";
    request.url = process_.field("control");
    request.headers = {{"Content-Type", "application/json"}};
    request.body = json;
    auto response = http_->send(request);
    return response && response->status == 200;
  }
  /// GET of the control path (or a sub-path): the parsed answer.
  rapidjson::Document get(std::string_view sub = {}) {
    core::http::Request request;
    request.method = "GET";
    request.url = process_.field("control") + std::string(sub);
    auto response = http_->send(request);
    rapidjson::Document document;
    if (response) {
      if (auto parsed = core::json::parse(response->body)) document = std::move(*parsed);
    }
    return document;
  }
  std::int64_t counter(std::string_view name) {
    auto counters = get();
    if (!counters.IsObject()) return -1;
    return core::json::get_int(counters, name).value_or(-1);
  }

 private:
  JsonLineProcess process_;
  std::unique_ptr<core::http::Client> http_;
};

/// A DynamoDbClient on `endpoint`, with DynamoDbState::settings_for's bounds.
class DynamoDbStack {
 public:
  static constexpr const char* kAccessKey = "AKIDDYNAMOTEST";
  static constexpr const char* kSecretKey = "secretDYNAMOTEST/K7MDENG+bPxRfiCY";
  static std::string credentials_arg() { return fmt::format("{}:{}", kAccessKey, kSecretKey); }

  explicit DynamoDbStack(const std::string& endpoint,
                         core::LoggerPtr logger = core::make_null_logger())
      : http_(core::http::make_curl_client(core::http::CurlSettings{})),
        credentials_(aws::make_static_credentials(
            aws::Credentials{kAccessKey, kSecretKey, "", std::nullopt})),
        logger_(std::move(logger)) {
    auto created = aws::ServiceClient::create(
        aws::kDynamoDbService, infra::DynamoDbState::settings_for("eu-west-1", endpoint), *http_,
        *credentials_, clock_, sleeper_, logger_);
    if (created) client_ = std::make_unique<aws::DynamoDbClient>(std::move(*created));
  }

  bool ok() const { return client_ != nullptr; }
  aws::DynamoDbClient& client() { return *client_; }
  aws::Sleeper& sleeper() { return sleeper_; }
  core::LoggerPtr logger() const { return logger_; }

 private:
  std::unique_ptr<core::http::Client> http_;
  std::unique_ptr<aws::CredentialsProvider> credentials_;
  core::SystemClock clock_;  // signing only: the state reads the test's clock
  aws::ThreadSleeper sleeper_;
  core::LoggerPtr logger_;
  std::unique_ptr<aws::DynamoDbClient> client_;
};

/// What the DynamoDB tests stand on: dynalite, the fault proxy in front of it,
/// a client through the proxy and a fresh table made by create_state_table.
class ProxiedTable {
 public:
  /// Starts them all; `what` names the table ("client" → infra-bot-client-…).
  testing::AssertionResult start(std::string_view what) {
    dynalite_ = std::make_unique<Dynalite>();
    if (!dynalite_->ok()) return testing::AssertionFailure() << "dynalite did not start";
    proxy_ = std::make_unique<FaultProxy>(dynalite_->endpoint(), DynamoDbStack::credentials_arg());
    if (!proxy_->ok()) return testing::AssertionFailure() << "the fault proxy did not start";
    stack_ = std::make_unique<DynamoDbStack>(proxy_->endpoint());
    if (!stack_->ok()) return testing::AssertionFailure() << "no DynamoDB client";
    table_ = unique_table_name(what);
    auto created = infra::create_state_table(stack_->client(), table_, stack_->sleeper(),
                                             {std::chrono::milliseconds(10), 1000});
    if (!created) return testing::AssertionFailure() << created.error().detail;
    return testing::AssertionSuccess();
  }

  Dynalite& dynalite() { return *dynalite_; }
  FaultProxy& proxy() { return *proxy_; }
  DynamoDbStack& stack() { return *stack_; }
  const std::string& table() const { return table_; }

 private:
  std::unique_ptr<Dynalite> dynalite_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<DynamoDbStack> stack_;
  std::string table_;
};

}  // namespace test
