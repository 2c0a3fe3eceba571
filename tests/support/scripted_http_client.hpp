#pragma once

// An in-process core::http::Client for unit tests: answers from a script of
// canned responses or errors (in order, or by URL substring) and records every
// request it was sent. Thread-safe.

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/http_client.hpp"

namespace test {

class ScriptedHttpClient final : public core::http::Client {
 public:
  using Answer = core::Result<core::http::Response>;
  using Handler = std::function<Answer(const core::http::Request&)>;

  /// Queue an answer for the next request (FIFO).
  void push(Answer answer) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(answer));
  }
  /// Convenience: queue a response.
  void push(long status, std::string body, core::http::Headers headers = {}) {
    push(Answer(core::http::Response{status, std::move(headers), std::move(body)}));
  }
  /// Answer every request with `handler` once the queue is empty.
  void set_handler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }

  core::Result<core::http::Response> send(const core::http::Request& request) override {
    Handler handler;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      if (!queue_.empty()) {
        auto answer = std::move(queue_.front());
        queue_.pop_front();
        return answer;
      }
      handler = handler_;
    }
    if (handler) return handler(request);
    return core::make_error(core::ErrorCode::unavailable, "no scripted answer",
                            "ScriptedHttpClient: nothing queued for " + request.url);
  }

  std::vector<core::http::Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<Answer> queue_;
  Handler handler_;
  std::vector<core::http::Request> requests_;
};

}  // namespace test
