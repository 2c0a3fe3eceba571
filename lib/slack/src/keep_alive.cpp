#include "keep_alive.hpp"

#include <string>

namespace slack::detail {

using std::chrono::milliseconds;

KeepAlive::KeepAlive(const SocketModeSettings& settings, core::Scheduler& scheduler, LinkPool& pool,
                     const core::LoggerPtr& logger, Lifeline life)
    : settings_(settings),
      scheduler_(scheduler),
      pool_(pool),
      logger_(logger),
      life_(std::move(life)) {}

void KeepAlive::start() {
  stopped_ = false;
  schedule();
}

void KeepAlive::stop() {
  stopped_ = true;
  if (timer_) timer_->cancel();
  timer_.reset();
}

void KeepAlive::schedule() {
  timer_ = scheduler_.after(settings_.ping_interval, guarded(life_, [this] {
                              if (stopped_) return;
                              tick();
                              if (!stopped_ && !pool_.stopping()) schedule();
                            }));
}

void KeepAlive::on_open(Link& link) {
  const std::uint64_t id = link.id;
  link.hello_timer = scheduler_.after(settings_.hello_timeout, guarded(life_, [this, id] {
                                        Link* l = pool_.find(id);
                                        if (l == nullptr || l->hello || !l->usable()) return;
                                        logger_->warn(
                                            "socket mode: connection {}: no hello within {} ms "
                                            "of opening; dropping it",
                                            l->slot, settings_.hello_timeout.count());
                                        pool_.drop(*l, "no_hello");
                                      }));
}

void KeepAlive::tick() {
  const auto now = scheduler_.now();
  for (auto& [id, l] : pool_.links()) {
    if (!l.usable()) continue;
    const auto since_pong = std::chrono::duration_cast<milliseconds>(now - l.last_pong);
    const auto since_frame = std::chrono::duration_cast<milliseconds>(now - l.last_frame);
    std::string dead;
    if (since_pong > settings_.pong_timeout) {
      dead = "no pong for " + std::to_string(since_pong.count()) + " ms";
    } else if (since_frame > settings_.idle_timeout) {
      dead = "no frame for " + std::to_string(since_frame.count()) + " ms";
    }
    if (!dead.empty()) {
      logger_->warn("socket mode: connection {}: dead link ({}); dropping it", l.slot, dead);
      pool_.drop(l, "dead");
      continue;
    }
    if (l.conn && l.conn->queued_bytes() == 0) {
      l.conn->ping("infra-bot " + std::to_string(++ping_counter_));
    }
  }
}

}  // namespace slack::detail
