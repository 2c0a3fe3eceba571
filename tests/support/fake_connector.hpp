#pragma once

// In-process doubles for the Socket Mode seams (slack/connector.hpp,
// slack/connection_opener.hpp): no TLS, no sockets, no threads. Everything
// they report is posted to the scheduler (never inline, as the real transport
// promises), so a test on core::ManualScheduler decides when it happens.
//
// Failure injection (beast's test::fail_count): give the connector a
// FailCount and the n-th operation of any of its connections (connect, open,
// each frame read, send_text, ping, close) fails: the connection drops at
// that point (a frame being read or written is lost).

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/scheduler.hpp"
#include "slack/connection_opener.hpp"
#include "slack/connector.hpp"

namespace test {

/// Fails the n-th operation counted (1-based; 0 = never), once.
class FailCount {
 public:
  explicit FailCount(std::size_t fail_at = 0) : fail_at_(fail_at) {}
  /// Counts one operation; true when it is the one to fail.
  bool next() {
    ++count_;
    if (fail_at_ != 0 && count_ == fail_at_) {
      failed_ = true;
      return true;
    }
    return false;
  }
  std::size_t count() const { return count_; }
  bool failed() const { return failed_; }

 private:
  std::size_t fail_at_;
  std::size_t count_ = 0;
  bool failed_ = false;
};

class FakeConnector;

/// One fake WebSocket connection: records what the client sends, and lets the
/// test play the server (deliver frames, pong, close, drop).
class FakeConnection final : public slack::Connection,
                             public std::enable_shared_from_this<FakeConnection> {
 public:
  enum class State { connecting, open, closing, closed };

  FakeConnection(FakeConnector& connector, std::string url, slack::ConnectionCallbacks callbacks)
      : connector_(connector), url_(std::move(url)), callbacks_(std::move(callbacks)) {}

  // ---- the server's side (the test) ----------------------------------

  /// The handshake completes (posted).
  void open();
  /// The handshake fails (posted).
  void refuse(std::string why = "refused");
  /// A text frame from the server (read when the scheduler runs it).
  void deliver(std::string text);
  void hello(int num_connections = 1) {
    deliver(
        R"({"type":"hello","num_connections":)" + std::to_string(num_connections) +
        R"(,"debug_info":{"host":"applink-fake","build_number":1,"approximate_connection_time":18060},"connection_info":{"app_id":"A111"}})");
  }
  void disconnect(const std::string& reason) {
    deliver(R"({"type":"disconnect","reason":")" + reason +
            R"(","debug_info":{"host":"applink-fake"}})");
  }
  void server_ping();
  void pong();
  /// The TCP connection goes away (posted on_close 1006).
  void drop(std::string why = "connection lost");
  /// The server closes with a close frame.
  void close_by_server(int code = 1000);

  // ---- what the client did --------------------------------------------

  const std::string& url() const { return url_; }
  State state() const { return state_; }
  bool is_open() const { return state_ == State::open; }
  const std::vector<std::string>& sent() const { return sent_; }
  std::size_t pings() const { return pings_; }
  bool closed_by_client() const { return closed_by_client_; }
  bool aborted() const { return aborted_; }
  int close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  /// The close handshake never completes (only abort() ends the connection).
  bool hang_on_close = false;
  /// Answer each ping with a pong.
  bool auto_pong = true;
  /// What queued_bytes() reports.
  std::size_t queued = 0;

  // ---- slack::Connection ------------------------------------------------

  void send_text(std::string_view payload) override;
  std::size_t queued_bytes() const override { return queued; }
  void ping(std::string payload) override;
  void close(int code, std::string reason, std::chrono::milliseconds timeout) override;
  void abort() override;

 private:
  bool inject();  // counts an operation; true: it failed (the link is dropped)
  void end(int code, std::string why);  // posts on_close/on_fail once
  void post(std::function<void()> task);

  FakeConnector& connector_;
  std::string url_;
  slack::ConnectionCallbacks callbacks_;
  State state_ = State::connecting;
  bool ended_ = false;
  std::vector<std::string> sent_;
  std::size_t pings_ = 0;
  bool closed_by_client_ = false;
  bool aborted_ = false;
  int close_code_ = 0;
  std::string close_reason_;
};

/// Hands out FakeConnections; by default each opens (posted) and the
/// `on_opened` hook runs right after the client saw the open.
class FakeConnector final : public slack::Connector {
 public:
  explicit FakeConnector(core::Scheduler& scheduler) : scheduler_(scheduler) {}

  slack::ConnectionPtr connect(const std::string& url, const slack::ConnectOptions& options,
                               slack::ConnectionCallbacks callbacks) override {
    options_ = options;
    auto conn = std::make_shared<FakeConnection>(*this, url, std::move(callbacks));
    connections_.push_back(conn);
    if (fail_count != nullptr && fail_count->next()) {
      conn->refuse("injected failure at connect");
    } else if (auto_open) {
      conn->open();
    }
    return conn;
  }

  core::Scheduler& scheduler() { return scheduler_; }
  const std::vector<std::shared_ptr<FakeConnection>>& connections() const { return connections_; }
  std::shared_ptr<FakeConnection> last() const {
    return connections_.empty() ? nullptr : connections_.back();
  }
  /// Connections open now.
  std::vector<std::shared_ptr<FakeConnection>> live() const {
    std::vector<std::shared_ptr<FakeConnection>> out;
    for (const auto& c : connections_) {
      if (c->is_open()) out.push_back(c);
    }
    return out;
  }
  const slack::ConnectOptions& options() const { return options_; }

  bool auto_open = true;
  FailCount* fail_count = nullptr;
  /// After the client saw a connection open (the server may say hello here).
  std::function<void(FakeConnection&)> on_opened;
  /// After the client sent a text frame on a connection.
  std::function<void(FakeConnection&, const std::string&)> on_sent;

 private:
  core::Scheduler& scheduler_;
  std::vector<std::shared_ptr<FakeConnection>> connections_;
  slack::ConnectOptions options_;
};

// ---- FakeConnection bodies ------------------------------------------------

inline void FakeConnection::post(std::function<void()> task) {
  connector_.scheduler().post(std::move(task));
}

inline bool FakeConnection::inject() {
  if (connector_.fail_count == nullptr || !connector_.fail_count->next()) return false;
  end(1006, "injected failure");
  return true;
}

inline void FakeConnection::end(int code, std::string why) {
  if (ended_) return;
  ended_ = true;
  const bool was_open = state_ != State::connecting;
  state_ = State::closed;
  post([self = shared_from_this(), was_open, code, why = std::move(why)] {
    if (was_open) {
      self->callbacks_.on_close(code, why);
    } else {
      self->callbacks_.on_fail(why);
    }
  });
}

inline void FakeConnection::open() {
  post([self = shared_from_this()] {
    if (self->state_ != State::connecting || self->ended_) return;
    if (self->inject()) return;
    self->state_ = State::open;
    self->callbacks_.on_open();
    if (self->connector_.on_opened) self->connector_.on_opened(*self);
  });
}

inline void FakeConnection::refuse(std::string why) { end(0, std::move(why)); }

inline void FakeConnection::deliver(std::string text) {
  post([self = shared_from_this(), text = std::move(text)]() mutable {
    if (self->state_ == State::connecting || self->state_ == State::closed) return;
    if (self->inject()) return;
    self->callbacks_.on_message(std::move(text), true);
  });
}

inline void FakeConnection::server_ping() {
  post([self = shared_from_this()] {
    if (self->state_ == State::open) self->callbacks_.on_ping();
  });
}

inline void FakeConnection::pong() {
  post([self = shared_from_this()] {
    if (self->state_ == State::open) self->callbacks_.on_pong("pong");
  });
}

inline void FakeConnection::drop(std::string why) { end(1006, std::move(why)); }

inline void FakeConnection::close_by_server(int code) {
  end(code, "closed by peer (" + std::to_string(code) + ")");
}

inline void FakeConnection::send_text(std::string_view payload) {
  if (state_ != State::open) return;  // a closing connection drops it
  if (inject()) return;
  sent_.emplace_back(payload);
  if (connector_.on_sent) connector_.on_sent(*this, sent_.back());
}

inline void FakeConnection::ping(std::string payload) {
  (void)payload;
  if (state_ != State::open) return;
  if (inject()) return;
  ++pings_;
  if (auto_pong) pong();
}

inline void FakeConnection::close(int code, std::string reason, std::chrono::milliseconds timeout) {
  (void)timeout;
  if (ended_ || state_ == State::closing) return;
  closed_by_client_ = true;
  close_code_ = code;
  close_reason_ = std::move(reason);
  if (state_ == State::connecting) {
    end(0, "closed before open");
    return;
  }
  state_ = State::closing;
  if (inject()) return;
  if (!hang_on_close) end(code, "");
}

inline void FakeConnection::abort() {
  aborted_ = true;
  end(1006, "aborted");
}

/// apps.connections.open as the test says: answers from `script` in order,
/// then success with a fresh ticket URL; or, with `hold`, only when the test
/// calls answer(). Each answer is posted (never inline).
class FakeOpener final : public slack::ConnectionOpener {
 public:
  explicit FakeOpener(core::Scheduler& scheduler) : scheduler_(scheduler) {}

  void open(std::function<void(slack::OpenOutcome)> done) override {
    ++calls_;
    if (hold) {
      held_.push_back(std::move(done));
      return;
    }
    respond(std::move(done), next_outcome());
  }
  void cancel_all() override {
    ++cancels_;
    held_.clear();
  }

  /// Answers the oldest held call.
  void answer(slack::OpenOutcome outcome) {
    if (held_.empty()) return;
    auto done = std::move(held_.front());
    held_.pop_front();
    respond(std::move(done), std::move(outcome));
  }
  void answer_success() { answer(success()); }

  slack::OpenOutcome success() {
    slack::OpenOutcome out;
    out.kind = slack::OpenOutcome::Kind::success;
    out.url = "wss://wss-fake.slack.test/link/?ticket=" + std::to_string(++tickets_) + "&app_id=A1";
    return out;
  }
  static slack::OpenOutcome retry(std::string reason,
                                  std::optional<std::chrono::milliseconds> after = {}) {
    slack::OpenOutcome out;
    out.kind = slack::OpenOutcome::Kind::retry;
    out.reason = std::move(reason);
    out.retry_after = after;
    return out;
  }
  static slack::OpenOutcome fatal(std::string reason) {
    slack::OpenOutcome out;
    out.kind = slack::OpenOutcome::Kind::fatal;
    out.reason = std::move(reason);
    return out;
  }

  std::size_t calls() const { return calls_; }
  std::size_t held() const { return held_.size(); }
  std::size_t cancels() const { return cancels_; }

  std::deque<slack::OpenOutcome> script;
  bool hold = false;

 private:
  slack::OpenOutcome next_outcome() {
    if (script.empty()) return success();
    auto out = std::move(script.front());
    script.pop_front();
    return out;
  }
  void respond(std::function<void(slack::OpenOutcome)> done, slack::OpenOutcome outcome) {
    scheduler_.post([done = std::move(done), outcome = std::move(outcome)]() mutable {
      done(std::move(outcome));
    });
  }

  core::Scheduler& scheduler_;
  std::deque<std::function<void(slack::OpenOutcome)>> held_;
  std::size_t calls_ = 0;
  std::size_t cancels_ = 0;
  std::size_t tickets_ = 0;
};

}  // namespace test
