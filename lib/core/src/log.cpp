#include "core/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iterator>

#include <spdlog/formatter.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/format.h>

#include "core/clock.hpp"

namespace core {
namespace {

thread_local const RequestScope* t_scope = nullptr;

// "2026-11-25T10:00:00.123Z" into `out`. The text of the whole second is kept per thread:
// lines come many to a second.
void append_timestamp(spdlog::memory_buf_t& out, spdlog::log_clock::time_point at) {
  struct Cache {
    std::int64_t second = -1;
    std::string text;  // without the 'Z'
  };
  thread_local Cache cache;
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const std::int64_t second = since_epoch >= 0 ? since_epoch / 1000 : (since_epoch - 999) / 1000;
  const auto millis = since_epoch - second * 1000;
  if (second != cache.second) {
    cache.text = format_rfc3339(std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::system_clock::time_point(std::chrono::seconds(second))));
    cache.text.pop_back();  // 'Z'
    cache.second = second;
  }
  out.append(cache.text.data(), cache.text.data() + cache.text.size());
  fmt::format_to(std::back_inserter(out), ".{:03}Z", millis);
}

void append(spdlog::memory_buf_t& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

// `text` as a JSON string literal, byte for byte what json::quote (RapidJSON's Writer)
// makes — \" \\ \b \t \n \f \r, other control characters as \u00XX, everything else as
// is — but written straight into the line instead of through two temporary buffers.
void append_json_string(spdlog::memory_buf_t& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.push_back('"');
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    append(out, text.substr(plain_from, i - plain_from));
    plain_from = i + 1;
    out.push_back('\\');
    switch (c) {
      case '"':
      case '\\':
        out.push_back(static_cast<char>(c));
        break;
      case '\b':
        out.push_back('b');
        break;
      case '\t':
        out.push_back('t');
        break;
      case '\n':
        out.push_back('n');
        break;
      case '\f':
        out.push_back('f');
        break;
      case '\r':
        out.push_back('r');
        break;
      default: {
        const char escaped[] = {'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escaped, escaped + sizeof escaped);
      }
    }
  }
  append(out, text.substr(plain_from));
  out.push_back('"');
}

// Formats every line itself so redaction happens before any sink sees it.
class RedactingFormatter final : public spdlog::formatter {
 public:
  RedactingFormatter(LogFormat format, Redactor redactor, Payload payload)
      : format_(format), redactor_(std::move(redactor)), payload_(payload) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto text = redactor_.redact(std::string_view(msg.payload.data(), msg.payload.size()));
    const auto level = spdlog::level::to_string_view(msg.level);
    const auto logger = std::string_view(msg.logger_name.data(), msg.logger_name.size());
    const std::string_view level_text(level.data(), level.size());
    const bool object = payload_ == Payload::json_object && text.size() > 2 &&
                        text.front() == '{' && text.back() == '}';
    // The thread's request, unless the record names its own (an audit record does).
    std::string_view request_id = RequestScope::current();
    if (object && !request_id.empty() && text.find("\"request_id\":") != std::string::npos) {
      request_id = {};
    }
    if (format_ == LogFormat::json) {
      append(dest, R"({"time":")");
      append_timestamp(dest, msg.time);
      append(dest, R"(","level":")");
      append(dest, level_text);
      append(dest, R"(","logger":)");
      append_json_string(dest, logger);
      if (!request_id.empty()) {
        append(dest, R"(,"request_id":)");
        append_json_string(dest, request_id);
      }
      if (object) {
        // The payload's fields join the line's own: {"time",…,"logger":"audit","request_id",…}.
        dest.push_back(',');
        append(dest, std::string_view(text).substr(1));
      } else {
        append(dest, R"(,"msg":)");
        append_json_string(dest, text);
        dest.push_back('}');
      }
    } else {
      append_timestamp(dest, msg.time);
      fmt::format_to(std::back_inserter(dest), " {:<5} {}: {}", level_text, logger, text);
      if (!request_id.empty()) {
        append(dest, " request_id=");
        append(dest, request_id);
      }
    }
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<RedactingFormatter>(format_, redactor_, payload_);
  }

 private:
  LogFormat format_;
  Redactor redactor_;
  Payload payload_;
};

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report it
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

}  // namespace

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return spdlog::level::trace;
    case LogLevel::debug:
      return spdlog::level::debug;
    case LogLevel::info:
      return spdlog::level::info;
    case LogLevel::warn:
      return spdlog::level::warn;
    case LogLevel::error:
      return spdlog::level::err;
    case LogLevel::critical:
      return spdlog::level::critical;
    case LogLevel::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

LoggerPtr make_logger(std::string name, LogFormat format, LogLevel level,
                      std::vector<spdlog::sink_ptr> sinks, Redactor redactor, Payload payload) {
  auto logger = std::make_shared<spdlog::logger>(std::move(name), sinks.begin(), sinks.end());
  logger->set_formatter(std::make_unique<RedactingFormatter>(format, std::move(redactor), payload));
  logger->set_level(to_spdlog(level));
  logger->flush_on(spdlog::level::warn);
  return logger;
}

LoggerPtr make_stderr_logger(std::string name, LogFormat format, LogLevel level, Redactor redactor,
                             Payload payload) {
  return make_logger(std::move(name), format, level,
                     {std::make_shared<spdlog::sinks::stderr_sink_mt>()}, std::move(redactor),
                     payload);
}

LoggerPtr make_null_logger() {
  return std::make_shared<spdlog::logger>("null", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// ---- RequestScope ----------------------------------------------------------------------------

RequestScope::RequestScope(std::string_view request_id) : previous_(t_scope) {
  if (request_id.size() <= sizeof inline_) {
    std::copy(request_id.begin(), request_id.end(), inline_);
    id_ = std::string_view(inline_, request_id.size());
  } else {
    spilled_.assign(request_id);
    id_ = spilled_;
  }
  t_scope = this;
}

RequestScope::~RequestScope() { t_scope = previous_; }

std::string_view RequestScope::current() {
  return t_scope != nullptr ? t_scope->id_ : std::string_view();
}

// ---- BatchingSink ----------------------------------------------------------------------------

BatchingSink::BatchingSink(Writer writer, std::size_t max_buffered_bytes)
    : writer_(std::move(writer)), max_buffered_(max_buffered_bytes) {}

BatchingSink::~BatchingSink() {
  std::lock_guard lock(mutex_);
  flush_();
}

std::shared_ptr<BatchingSink> BatchingSink::to_stderr(std::size_t max_buffered_bytes) {
  return std::make_shared<BatchingSink>(
      [](std::string_view batch) { write_all(STDERR_FILENO, batch); }, max_buffered_bytes);
}

void BatchingSink::on_first_pending(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  on_first_pending_ = std::move(callback);
}

std::size_t BatchingSink::pending_bytes() {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

void BatchingSink::sink_it_(const spdlog::details::log_msg& msg) {
  const bool was_empty = pending_.size() == 0;
  formatter_->format(msg, pending_);
  if (pending_.size() >= max_buffered_) {
    flush_();
    return;
  }
  if (was_empty && on_first_pending_) on_first_pending_();
}

void BatchingSink::flush_() {
  if (pending_.size() == 0) return;
  writer_(std::string_view(pending_.data(), pending_.size()));
  pending_.clear();
}

}  // namespace core
