#pragma once

// test::BotProcess — runs the built infra-bot binary (or any program) as a child process with
// an explicit environment, and collects what it prints:
//
//   test::BotProcess bot({"run"}, {{"SLACK_APP_TOKEN", "xapp-…"}, {"LOG_FORMAT", "json"}});
//   ASSERT_TRUE(bot.started());
//   ASSERT_TRUE(bot.wait_for_log("connected"));             // a stderr line containing it
//   bot.send_signal(SIGTERM);
//   EXPECT_EQ(bot.wait_exit(std::chrono::seconds(5)), 0);
//   // on failure: "no log line containing 'connected' within 5000 ms; last 12 of 40 lines: …"
//
// The child gets exactly the given environment plus PATH (copied from this process unless the
// map has its own), stdin from /dev/null, and dies with this process's thread that started it
// (PR_SET_PDEATHSIG). stdout and stderr are read line by line by two threads; stderr holds the
// JSON log lines of infra-bot. The destructor kills the child (SIGKILL) if it is still running.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "core/json.hpp"

namespace test {

class BotProcess {
 public:
  using Environment = std::map<std::string, std::string>;
  using LinePredicate = std::function<bool(const std::string& line)>;
  using JsonPredicate = std::function<bool(const rapidjson::Value& line)>;
  static constexpr std::chrono::milliseconds kDefaultWait{5000};

  /// Starts `binary` with `args` (argv[1…]) and `environment` (+ PATH).
  explicit BotProcess(std::vector<std::string> args, Environment environment,
                      std::string binary = INFRA_BOT_BINARY)
      : binary_(std::move(binary)), args_(std::move(args)) {
    if (environment.find("PATH") == environment.end()) {
      const char* path = std::getenv("PATH");
      environment["PATH"] = path != nullptr ? path : "/usr/bin:/bin";
    }
    start(environment);
  }

  ~BotProcess() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      reap(true);
    }
    for (auto* reader : {&out_reader_, &err_reader_}) {
      if (reader->joinable()) reader->join();
    }
  }

  BotProcess(const BotProcess&) = delete;
  BotProcess& operator=(const BotProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  /// Sends `signal` to the child; false when it has already been reaped.
  bool send_signal(int signal) {
    std::lock_guard lock(wait_mutex_);
    if (pid_ <= 0 || exit_code_) return false;
    return ::kill(pid_, signal) == 0;
  }

  /// The exit code once the child has ended (128 + signal when a signal ended it), waiting up
  /// to `timeout`; nullopt while it still runs. Once it returns a code, everything the child
  /// printed is in log_lines()/stdout_lines().
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = kDefaultWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      bool ended = false;
      {
        std::lock_guard lock(wait_mutex_);
        if (pid_ <= 0) return std::nullopt;
        if (!exit_code_) {
          reap(false);
          if (exit_code_) exited_at_ = std::chrono::steady_clock::now();
        }
        ended = exit_code_.has_value();
      }
      if (ended) {
        wait_for_eof(std::chrono::seconds(2));
        std::lock_guard lock(wait_mutex_);
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
  }

  /// Whether the child still runs (reaps it when it has ended).
  bool running() { return started() && !wait_exit(std::chrono::milliseconds(0)); }

  /// When wait_exit() first saw the child ended.
  std::optional<std::chrono::steady_clock::time_point> exited_at() const {
    std::lock_guard lock(wait_mutex_);
    return exited_at_;
  }

  /// stderr lines so far (infra-bot's log).
  std::vector<std::string> log_lines() const {
    std::lock_guard lock(lines_mutex_);
    return err_lines_;
  }
  /// stdout lines so far.
  std::vector<std::string> stdout_lines() const {
    std::lock_guard lock(lines_mutex_);
    return out_lines_;
  }
  /// stdout and stderr lines (everything the child printed).
  std::vector<std::string> all_lines() const {
    std::lock_guard lock(lines_mutex_);
    std::vector<std::string> all = out_lines_;
    all.insert(all.end(), err_lines_.begin(), err_lines_.end());
    return all;
  }
  /// The stderr lines that are JSON objects, parsed.
  std::vector<rapidjson::Document> log_json() const {
    std::vector<rapidjson::Document> out;
    for (const auto& line : log_lines()) {
      auto parsed = core::json::parse(line);
      if (parsed && parsed->IsObject()) out.push_back(std::move(*parsed));
    }
    return out;
  }
  /// JSON log lines satisfying `predicate`.
  std::vector<rapidjson::Document> log_json(const JsonPredicate& predicate) const {
    std::vector<rapidjson::Document> out;
    for (auto& line : log_json()) {
      if (predicate(line)) out.push_back(std::move(line));
    }
    return out;
  }

  /// Waits until `n` stderr lines satisfy `predicate`; the failure names `what` and lists the
  /// last lines (and the exit code when the child has ended).
  testing::AssertionResult wait_for_log(std::string_view what, const LinePredicate& predicate,
                                        std::size_t n = 1,
                                        std::chrono::milliseconds timeout = kDefaultWait) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t matched = 0;
    std::size_t scanned = 0;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      {
        std::lock_guard lock(lines_mutex_);
        for (; scanned < err_lines_.size(); ++scanned) {
          if (predicate(err_lines_[scanned])) ++matched;
        }
      }
      if (matched >= n) return testing::AssertionSuccess();
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
    auto failure = testing::AssertionFailure();
    failure << "no log line " << what;
    if (n > 1) failure << " x" << n << " (saw " << matched << ")";
    failure << " within " << timeout.count() << " ms; " << describe_last(12);
    return failure;
  }
  /// A stderr line containing `substring`.
  testing::AssertionResult wait_for_log(std::string_view substring,
                                        std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for_log(
        "containing '" + std::string(substring) + "'",
        [s = std::string(substring)](const std::string& line) {
          return line.find(s) != std::string::npos;
        },
        1, timeout);
  }
  /// `n` JSON log lines satisfying `predicate`.
  testing::AssertionResult wait_for_json_log(
      std::string_view what, const JsonPredicate& predicate, std::size_t n = 1,
      std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for_log(
        what,
        [&predicate](const std::string& line) {
          auto parsed = core::json::parse(line);
          return parsed && parsed->IsObject() && predicate(*parsed);
        },
        n, timeout);
  }

  /// "last N of M lines: …" (stdout lines marked "out:"), for failure messages.
  std::string describe_last(std::size_t n) const {
    std::vector<std::string> all;
    {
      std::lock_guard lock(lines_mutex_);
      for (const auto& line : out_lines_) all.push_back("out: " + line);
      all.insert(all.end(), err_lines_.begin(), err_lines_.end());
    }
    std::string out = "last " + std::to_string(std::min(n, all.size())) + " of " +
                      std::to_string(all.size()) + " lines of infra-bot:";
    for (std::size_t i = all.size() > n ? all.size() - n : 0; i < all.size(); ++i) {
      std::string line = all[i];
      if (line.size() > 600) line = line.substr(0, 600) + "…";
      out += "\n  " + line;
    }
    if (all.empty()) out += " (none)";
    std::lock_guard lock(wait_mutex_);
    if (pid_ <= 0) out += "\n  (infra-bot did not start: " + binary_ + ")";
    if (exit_code_) out += "\n  (infra-bot exited with " + std::to_string(*exit_code_) + ")";
    return out;
  }

 private:
  void start(const Environment& environment) {
    // Everything the child needs is built before fork(): after it, only async-signal-safe
    // calls (the test process has threads).
    std::vector<std::string> argv_storage;
    argv_storage.push_back(binary_);
    argv_storage.insert(argv_storage.end(), args_.begin(), args_.end());
    std::vector<std::string> env_storage;
    for (const auto& [name, value] : environment) env_storage.push_back(name + "=" + value);
    std::vector<char*> argv;
    for (auto& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& item : env_storage) envp.push_back(item.data());
    envp.push_back(nullptr);

    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]);
      ::close(out[1]);
      return;
    }
    const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      if (null_in >= 0) ::dup2(null_in, STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err[1], STDERR_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (null_in >= 0) ::close(null_in);
    ::close(out[1]);
    ::close(err[1]);
    if (pid_ < 0) {
      ::close(out[0]);
      ::close(err[0]);
      return;
    }
    out_reader_ = std::thread([this, fd = out[0]] { read_lines(fd, out_lines_); });
    err_reader_ = std::thread([this, fd = err[0]] { read_lines(fd, err_lines_); });
  }

  // The readers reach EOF when every copy of the pipes' write ends is closed: the child's (and
  // any grandchild's) exit. Bounded, in case a grandchild keeps one open.
  void wait_for_eof(std::chrono::milliseconds timeout) {
    std::unique_lock lock(lines_mutex_);
    eof_cv_.wait_for(lock, timeout, [this] { return readers_done_ >= 2; });
  }

  void read_lines(int fd, std::vector<std::string>& into) {
    std::string pending;
    char buffer[8192];
    for (;;) {
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      pending.append(buffer, static_cast<std::size_t>(got));
      std::size_t start = 0;
      for (auto end = pending.find('\n'); end != std::string::npos;
           end = pending.find('\n', start)) {
        std::lock_guard lock(lines_mutex_);
        into.push_back(pending.substr(start, end - start));
        start = end + 1;
      }
      pending.erase(0, start);
    }
    ::close(fd);
    {
      std::lock_guard lock(lines_mutex_);
      if (!pending.empty()) into.push_back(pending);
      ++readers_done_;
    }
    eof_cv_.notify_all();
  }

  // Called with wait_mutex_ held (or from the destructor).
  void reap(bool block) {
    int status = 0;
    const pid_t got = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (got != pid_) return;
    if (WIFEXITED(status)) {
      exit_code_ = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      exit_code_ = 128 + WTERMSIG(status);
    }
  }

  std::string binary_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  mutable std::mutex wait_mutex_;
  std::optional<int> exit_code_;
  std::optional<std::chrono::steady_clock::time_point> exited_at_;
  mutable std::mutex lines_mutex_;
  std::vector<std::string> out_lines_;
  std::vector<std::string> err_lines_;
  int readers_done_ = 0;  // guarded by lines_mutex_
  std::condition_variable eof_cv_;
  std::thread out_reader_;
  std::thread err_reader_;
};

}  // namespace test
