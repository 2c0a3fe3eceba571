#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include "core/config.hpp"
#include "core/redactor.hpp"

namespace core {

using LoggerPtr = std::shared_ptr<spdlog::logger>;

/// What a log call's message is: text (the "msg" field), or a JSON object
/// whose fields become the line's own fields (audit records) in JSON format
/// and which is printed as is in text format.
enum class Payload { text, json_object };

/// Builds a logger writing to `sinks` in `format` at `level`. Every line passes
/// through `redactor` first, so no sink (and no test's recording sink) ever
/// sees a secret; the logger keeps a copy, which shares the secrets added to
/// `redactor` later (by the credential chain, for one). JSON lines look like
///   {"time":"2026-11-25T10:00:00.123Z","level":"info","logger":"infra-bot","msg":"…"}
/// and, logged on a thread inside a RequestScope,
///   {"time":…,"level":…,"logger":…,"request_id":"…","msg":"…"}
/// (text lines end in ` request_id=…`). The logger is not registered globally; pass it
/// down. Formatting happens on the logging thread (the loggers are synchronous).
LoggerPtr make_logger(std::string name, LogFormat format, LogLevel level,
                      std::vector<spdlog::sink_ptr> sinks, Redactor redactor,
                      Payload payload = Payload::text);

/// A logger writing to standard error.
LoggerPtr make_stderr_logger(std::string name, LogFormat format, LogLevel level, Redactor redactor,
                             Payload payload = Payload::text);

/// A logger that drops everything (for tests and tools that want quiet).
LoggerPtr make_null_logger();

spdlog::level::level_enum to_spdlog(LogLevel level);

/// The request a thread is working for, while the scope lives: every line logged on this
/// thread by a logger of make_logger() carries it as its own field, `"request_id":"…"`
/// after "logger" in JSON (unless a JSON-object payload already has a "request_id" of
/// its own), ` request_id=…` at the end in text. Scopes nest: the inner id wins, and the
/// outer one is back when the inner scope ends. The id is copied (up to 63 bytes
/// without an allocation). Not movable: a scope belongs to the block that opened it.
///
///   core::RequestScope scope(request_id);
///   logger->info("command accepted: …");  // … "request_id":"5f0c…","msg":"command accepted: …"
class RequestScope {
 public:
  explicit RequestScope(std::string_view request_id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

  /// This thread's innermost request id, or empty outside any scope.
  static std::string_view current();

 private:
  char inline_[64];
  std::string spilled_;  // an id longer than inline_ holds
  std::string_view id_;
  const RequestScope* previous_;
};

/// A sink that keeps formatted lines in memory and writes them with one call per
/// flush(): for the audit log, flushed once per turn of the event loop instead of one
/// write(2) per line. Lines are written in the order they were logged, and never lost
/// to the buffer: flush() writes them; so does the destructor (the last logger holding
/// the sink going away at shutdown); so does a line past `max_buffered_bytes` (memory
/// stays bounded when nobody flushes); and so does a logger's flush_on() level
/// (make_logger sets warn), so warnings and errors are written at once, after what
/// was buffered before them. Thread-safe (lines may come from any thread).
///
/// The owner arranges the flushes, e.g. once per loop turn, posted when a batch starts
/// (hold the sink weakly in the callback: the sink owns the callback, and a strong
/// reference would keep it, and its lines, from ever being destroyed):
///   auto sink = core::BatchingSink::to_stderr();
///   sink->on_first_pending([&scheduler, weak = std::weak_ptr(sink)] {
///     scheduler.post([weak] { if (auto s = weak.lock()) s->flush(); });
///   });
///   auto audit = core::make_logger("audit", format, level, {sink}, redactor,
///                                  core::Payload::json_object);
/// and before the scheduler goes away: `sink->on_first_pending({}); sink->flush();`.
class BatchingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  /// Receives each batch: one or more whole lines, each ending in '\n'.
  using Writer = std::function<void(std::string_view)>;
  static constexpr std::size_t kDefaultMaxBuffered = 64 * 1024;

  explicit BatchingSink(Writer writer, std::size_t max_buffered_bytes = kDefaultMaxBuffered);
  ~BatchingSink() override;  ///< writes what is left
  BatchingSink(const BatchingSink&) = delete;
  BatchingSink& operator=(const BatchingSink&) = delete;

  /// A sink writing each batch to standard error with write(2) (retrying short writes).
  static std::shared_ptr<BatchingSink> to_stderr(
      std::size_t max_buffered_bytes = kDefaultMaxBuffered);

  /// Called (on the logging thread, under the sink's lock: it must not log to this
  /// sink) when a line lands in an empty buffer, i.e. once per batch: the place to
  /// schedule a flush(). Set it before logging starts.
  void on_first_pending(std::function<void()> callback);

  /// Bytes waiting for the next flush().
  std::size_t pending_bytes();

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  Writer writer_;
  std::size_t max_buffered_;
  std::function<void()> on_first_pending_;
  spdlog::memory_buf_t pending_;
};

}  // namespace core
