#pragma once

#include <atomic>
#include <cstdint>
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

/// Random version-4 UUIDs (boost::uuids); thread-safe. Each id costs a lock and random
/// bytes from the generator; prefer CounterUuidSource on a hot path.
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

/// Request ids shaped as version-4 UUIDs (36 characters, lower-case hex, '4' at index 14,
/// one of 8 9 a b at index 19), made of 64 random bits drawn once per source and a
/// 62-bit counter: unique within the process, and across processes as unlikely to
/// collide as random UUIDs of a 60-bit space; not unguessable (they are labels, never
/// secrets). next() is an atomic increment and 36 characters of formatting: no lock, no
/// system call. Thread-safe.
class CounterUuidSource final : public IdSource {
 public:
  CounterUuidSource();  ///< the random prefix from std::random_device
  /// A fixed prefix (and first counter value), for tests.
  explicit CounterUuidSource(std::uint64_t prefix, std::uint64_t first = 0);
  std::string next() override;

 private:
  std::uint64_t prefix_;
  std::atomic<std::uint64_t> counter_;
};

}  // namespace core
