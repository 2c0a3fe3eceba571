#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

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
/// sees a secret. JSON lines look like
///   {"time":"2026-11-25T10:00:00.123Z","level":"info","logger":"infra-bot","msg":"…"}
/// The logger is not registered globally; pass it down.
LoggerPtr make_logger(std::string name, LogFormat format, LogLevel level,
                      std::vector<spdlog::sink_ptr> sinks, Redactor redactor,
                      Payload payload = Payload::text);

/// A logger writing to standard error.
LoggerPtr make_stderr_logger(std::string name, LogFormat format, LogLevel level, Redactor redactor,
                             Payload payload = Payload::text);

/// A logger that drops everything (for tests and tools that want quiet).
LoggerPtr make_null_logger();

spdlog::level::level_enum to_spdlog(LogLevel level);

}  // namespace core
