#pragma once

// A logger for the fuzz targets: every line goes through core's redacting
// formatter (so logging is fuzzed too) into a sink that checks a JSON line is
// still one JSON document, then drops it.

#include <memory>
#include <mutex>
#include <string>

#include <rapidjson/document.h>
#include <spdlog/sinks/base_sink.h>

#include "core/log.hpp"
#include "fuzz_support.hpp"

namespace fuzz {

class CheckingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit CheckingSink(bool json) : json_(json) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    if (!json_) return;
    // Structure only: a log line may carry bytes a Lambda or Slack sent.
    rapidjson::Document document;
    document.Parse(line.data(), line.size());
    FUZZ_CHECK(!document.HasParseError() && document.IsObject(),
               "a JSON log line is not one JSON object: {:?}",
               std::string_view(line.data(), line.size()));
  }
  void flush_() override {}

 private:
  bool json_;
};

inline core::LoggerPtr make_checking_logger(std::string name,
                                            core::Payload payload = core::Payload::text) {
  return core::make_logger(std::move(name), core::LogFormat::json, core::LogLevel::debug,
                           {std::make_shared<CheckingSink>(true)}, core::Redactor(), payload);
}

}  // namespace fuzz
