#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "infra/backend.hpp"

namespace infra {

/// The seed's "channel notified when IPs expire": every interval, each
/// environment's expired allow-list entries are removed through the backend
/// (Backend::whitelist_expire) and announced, one notice per address with all
/// its ports. A failing environment is logged and tried again next time; the
/// others go on. sweep_once() is the whole job (tests drive it with a fake
/// clock); start() runs it on a thread of its own until stop().
class WhitelistSweeper {
 public:
  /// Called once per expired entry (post it to a channel, or log it).
  using Notify = std::function<void(const WhitelistEntry& entry, std::string_view environment)>;

  WhitelistSweeper(Backend& backend, std::vector<std::string> environments,
                   const core::Clock& clock, Notify notify, core::LoggerPtr logger);
  ~WhitelistSweeper();
  WhitelistSweeper(const WhitelistSweeper&) = delete;
  WhitelistSweeper& operator=(const WhitelistSweeper&) = delete;

  /// One pass over every environment; returns how many entries expired.
  std::size_t sweep_once();

  /// Sweeps every `interval` (the first one after `interval`) until stop().
  void start(std::chrono::seconds interval);
  /// No new sweep starts, and a sweep in progress ends after its current
  /// environment. Returns at once.
  void request_stop();
  /// request_stop(), then waits up to `wait` for the thread to end. False when
  /// a sweep is still in a backend call then, so a shutdown can stay bounded
  /// (ECS's stop timeout) by exiting around it; the destructor joins.
  /// Idempotent.
  bool stop(std::chrono::milliseconds wait = std::chrono::seconds(30));

 private:
  Backend& backend_;
  std::vector<std::string> environments_;
  const core::Clock& clock_;
  Notify notify_;
  core::LoggerPtr logger_;
  std::uint64_t pass_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable ended_;
  bool stopping_ = false;
  bool running_ = false;  ///< the thread has not returned yet
  std::thread thread_;
};

}  // namespace infra
