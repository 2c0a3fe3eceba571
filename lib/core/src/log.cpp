#include "core/log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/json.hpp"

namespace core {
namespace {

std::string timestamp(spdlog::log_clock::time_point at) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
  auto text = format_rfc3339(std::chrono::time_point_cast<std::chrono::system_clock::duration>(at));
  text.pop_back();  // 'Z'
  return fmt::format("{}.{:03}Z", text, millis);
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
    std::string line;
    if (format_ == LogFormat::json && payload_ == Payload::json_object && text.size() > 2 &&
        text.front() == '{' && text.back() == '}') {
      // The payload's fields join the line's own: {"time",…,"logger":"audit","request_id",…}.
      line = fmt::format(R"({{"time":"{}","level":"{}","logger":{},{})", timestamp(msg.time),
                         std::string_view(level.data(), level.size()), json::quote(logger),
                         std::string_view(text).substr(1));
    } else if (format_ == LogFormat::json) {
      line = fmt::format(R"({{"time":"{}","level":"{}","logger":{},"msg":{}}})",
                         timestamp(msg.time), std::string_view(level.data(), level.size()),
                         json::quote(logger), json::quote(text));
    } else {
      line = fmt::format("{} {:<5} {}: {}", timestamp(msg.time),
                         std::string_view(level.data(), level.size()), logger, text);
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<RedactingFormatter>(format_, redactor_, payload_);
  }

 private:
  LogFormat format_;
  Redactor redactor_;
  Payload payload_;
};

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

}  // namespace core
