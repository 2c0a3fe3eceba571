#pragma once

#include <memory>
#include <mutex>
#include <string>

namespace core {

/// Source of request ids (UUIDs in production, sequential in tests).
class IdSource {
 public:
  virtual ~IdSource() = default;
  virtual std::string next() = 0;
};

/// Random version-4 UUIDs (boost::uuids); thread-safe.
class UuidSource final : public IdSource {
 public:
  UuidSource();
  ~UuidSource() override;
  std::string next() override;

 private:
  struct State;
  std::mutex mutex_;
  std::unique_ptr<State> state_;
};

}  // namespace core
