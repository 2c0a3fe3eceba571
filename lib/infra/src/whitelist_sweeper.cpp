#include "infra/whitelist_sweeper.hpp"

#include <fmt/format.h>

namespace infra {

WhitelistSweeper::WhitelistSweeper(Backend& backend, std::vector<std::string> environments,
                                   const core::Clock& clock, Notify notify, core::LoggerPtr logger)
    : backend_(backend),
      environments_(std::move(environments)),
      clock_(clock),
      notify_(std::move(notify)),
      logger_(std::move(logger)) {}

WhitelistSweeper::~WhitelistSweeper() {
  // Unbounded here: a destroyed sweeper must not leave a thread using it.
  request_stop();
  if (thread_.joinable()) thread_.join();
}

std::size_t WhitelistSweeper::sweep_once() {
  ++pass_;
  std::size_t expired_total = 0;
  for (const auto& environment : environments_) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;  // shutting down: the rest waits for the next process
    }
    // The sweep acts as the bot itself: audit and backend logs name it so.
    const RequestContext context{fmt::format("whitelist-sweep-{}-{}", pass_, environment),
                                 Requester{"infra-bot", "infra-bot", "", ""}};
    auto expired = backend_.whitelist_expire(environment, clock_.now(), context);
    if (!expired) {
      logger_->warn("whitelist sweep of {}: {} ({})", environment, expired.error().user_message,
                    expired.error().detail);
      continue;
    }
    for (const auto& entry : *expired) {
      logger_->info("whitelist entry expired and removed: environment={} cidr={} added_by={}",
                    environment, entry.cidr, entry.added_by);
      notify_(entry, environment);
    }
    expired_total += expired->size();
  }
  return expired_total;
}

void WhitelistSweeper::start(std::chrono::seconds interval) {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_ || interval.count() <= 0) return;
  running_ = true;
  thread_ = std::thread([this, interval] {
    std::unique_lock waiting(mutex_);
    for (;;) {
      // Interval waits on the steady clock: a wall-clock jump neither skips nor doubles a sweep.
      if (wake_.wait_for(waiting, interval, [this] { return stopping_; })) break;
      waiting.unlock();
      sweep_once();
      waiting.lock();
    }
    running_ = false;
    ended_.notify_all();
  });
}

void WhitelistSweeper::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

bool WhitelistSweeper::stop(std::chrono::milliseconds wait) {
  request_stop();
  std::unique_lock lock(mutex_);
  if (!thread_.joinable()) return true;
  // Still inside a backend call: the caller exits around it (or joins later).
  if (!ended_.wait_for(lock, wait, [this] { return !running_; })) return false;
  lock.unlock();
  thread_.join();
  return true;
}

}  // namespace infra
