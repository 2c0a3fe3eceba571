#include "link_pool.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "core/retry.hpp"

namespace slack::detail {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kOpenHandshakeTimeout{10000};
// How long an old connection may keep reading after its replacement said
// hello (Slack normally closes it itself within seconds).
constexpr milliseconds kMaxDrainGrace{10000};
// A connection that stays up this long (or backoff_cap, if shorter) ends a
// failure streak; a hello alone does not, so a server that drops every link
// right after its hello still meets a growing backoff.
constexpr milliseconds kStableLink{30000};

}  // namespace

LinkPool::LinkPool(const SocketModeSettings& settings, core::Scheduler& scheduler,
                   Connector& connector, ConnectionOpener& opener, core::RandomSource& random,
                   const core::LoggerPtr& logger, StatsCounters& stats, Lifeline life, Hooks hooks)
    : settings_(settings),
      scheduler_(scheduler),
      connector_(connector),
      opener_(opener),
      random_(random),
      logger_(logger),
      stats_(stats),
      life_(std::move(life)),
      hooks_(std::move(hooks)),
      slots_(static_cast<std::size_t>(std::max(settings.connections, 1))) {}

void LinkPool::start() {
  for (std::size_t slot = 0; slot < slots_.size(); ++slot) schedule_connect(slot, milliseconds(0));
}

void LinkPool::cancel(core::Timer& timer) {
  if (timer) timer->cancel();
  timer.reset();
}

// ---- connecting ---------------------------------------------------------

void LinkPool::schedule_connect(std::size_t slot, milliseconds delay) {
  if (stopping_ || fatal_) return;
  Slot& s = slots_[slot];
  s.pending = true;
  auto go = [this, slot] {
    if (stopping_ || fatal_) return;
    opener_.open(guarded(life_, [this, slot](OpenOutcome outcome) { on_url(slot, outcome); }));
  };
  if (delay.count() <= 0) {
    go();
  } else {
    cancel(s.timer);
    s.timer = scheduler_.after(delay, guarded(life_, go));
  }
}

milliseconds LinkPool::backoff(const Slot& s) {
  // Full jitter: uniform in [0, min(cap, base·2^(failures-1))] (AWS
  // "Exponential Backoff And Jitter"); doubling stops at the cap.
  return core::retry::full_jitter(std::max(settings_.backoff_base, milliseconds(1)),
                                  settings_.backoff_cap, std::max(s.failures - 1, 0), random_);
}

/// Records a failed attempt; the first failure of a streak is logged at warn,
/// the second once more (saying further ones are quiet), the rest at debug —
/// no log storm while Slack is unreachable.
void LinkPool::note_failure(std::size_t slot, const std::string& reason) {
  Slot& s = slots_[slot];
  ++s.failures;
  s.last_failure = reason;
  if (s.failures == 1) {
    logger_->warn("socket mode: connection {}: {}; reconnecting with backoff", slot, reason);
  } else if (s.failures == 2) {
    logger_->warn(
        "socket mode: connection {}: failing repeatedly ({}); retrying with backoff, further "
        "failures logged at debug until it recovers",
        slot, reason);
  } else {
    logger_->debug("socket mode: connection {}: failure {} in a row: {}", slot, s.failures, reason);
  }
}

void LinkPool::on_url(std::size_t slot, const OpenOutcome& outcome) {
  Slot& s = slots_[slot];
  s.pending = false;
  if (stopping_ || fatal_) return;
  switch (outcome.kind) {
    case OpenOutcome::Kind::success:
      open_link(slot, outcome.url);
      return;
    case OpenOutcome::Kind::fatal: {
      const auto colon = outcome.reason.find(": ");
      const std::string code =
          colon == std::string::npos ? outcome.reason : outcome.reason.substr(colon + 2);
      fail(core::make_error(core::ErrorCode::config,
                            "Slack refused the app token (" + code +
                                "): check SLACK_APP_TOKEN (an xapp- token with "
                                "connections:write).",
                            outcome.reason));
      return;
    }
    case OpenOutcome::Kind::retry: {
      note_failure(slot, outcome.reason);
      milliseconds delay = backoff(s);
      if (outcome.retry_after) delay = std::max(delay, *outcome.retry_after);
      logger_->debug("socket mode: connection {}: next apps.connections.open in {} ms", slot,
                     delay.count());
      schedule_connect(slot, delay);
      return;
    }
  }
}

void LinkPool::open_link(std::size_t slot, const std::string& ticket_url) {
  std::string url = ticket_url;
  if (settings_.debug_reconnects) {
    url += (url.find('?') == std::string::npos ? "?" : "&");
    url += "debug_reconnects=true";
  }
  const std::uint64_t id = ++next_link_id_;
  Slot& s = slots_[slot];
  const bool replacing = s.active != 0 && links_.count(s.active) != 0;
  Link& link = links_[id];
  link.id = id;
  link.slot = slot;
  if (replacing) {
    s.replacement = id;
  } else {
    s.active = id;
  }
  logger_->debug("socket mode: connection {}: opening {}{}", slot, redact_url(url),
                 replacing ? " (replacement)" : "");
  ConnectionCallbacks callbacks;
  callbacks.on_open = guarded(life_, [this, id] { on_open(id); });
  callbacks.on_message = guarded(life_, [this, id](std::string payload, bool text) {
    Link* l = find(id);
    if (l == nullptr) return;
    l->last_frame = scheduler_.now();
    if (stopping_) return;
    hooks_.on_message(*l, std::move(payload), text);
  });
  callbacks.on_pong = guarded(life_, [this, id](const std::string&) {
    if (Link* l = find(id)) l->last_pong = l->last_frame = scheduler_.now();
  });
  callbacks.on_ping = guarded(life_, [this, id] {
    if (Link* l = find(id)) l->last_frame = scheduler_.now();
  });
  callbacks.on_close =
      guarded(life_, [this, id](int code, const std::string& why) { on_closed(id, code, why); });
  callbacks.on_fail = guarded(life_, [this, id](const std::string& why) { on_closed(id, 0, why); });
  ConnectOptions options;
  options.ca_file = settings_.ca_file;
  // The transport fails a connection on a message above its limit; keep that
  // limit far above max_frame_bytes so oversized frames are skipped here.
  options.max_message_bytes =
      std::max<std::size_t>(settings_.max_frame_bytes * 4, std::size_t{16} << 20);
  options.open_timeout = kOpenHandshakeTimeout;
  // `link` may move if a callback ran inline (it must not, but the map is
  // looked up again rather than trusted).
  auto conn = connector_.connect(url, options, std::move(callbacks));
  if (Link* l = find(id)) l->conn = std::move(conn);
}

Link* LinkPool::find(std::uint64_t id) {
  auto it = links_.find(id);
  return it == links_.end() ? nullptr : &it->second;
}

void LinkPool::on_open(std::uint64_t id) {
  Link* l = find(id);
  if (l == nullptr) return;
  l->open = true;
  l->opened_at = l->last_frame = l->last_pong = scheduler_.now();
  if (stopping_ || fatal_) {
    if (l->close_reason.empty()) l->close_reason = stopping_ ? "stopping" : "fatal";
    if (l->conn) l->conn->close(1000, l->close_reason, settings_.close_timeout);
    return;
  }
  hooks_.on_open(*l);
}

// ---- hello, disconnect --------------------------------------------------

void LinkPool::on_hello(Link& l, const Hello& hello) {
  if (l.hello) return;
  l.hello = true;
  cancel(l.hello_timer);
  Slot& s = slots_[l.slot];
  // Not a reset of the failure streak yet: only a link that stays up does
  // that (a server dropping every link right after hello keeps backing off).
  const std::uint64_t link_id = l.id;
  l.stable =
      scheduler_.after(stable_after(), guarded(life_, [this, link_id] { on_stable(link_id); }));
  // Within a failure streak, further hellos are as quiet as the failures.
  const auto level = s.failures > 1 ? spdlog::level::debug : spdlog::level::info;
  logger_->log(level,
               "socket mode: connection {} ready (hello: num_connections={}, "
               "approximate_connection_time={}s, app_id={})",
               l.slot, hello.num_connections, hello.approximate_connection_time, hello.app_id);
  if (s.replacement == l.id) {
    // The replacement is ready: it takes over, and the old connection is
    // read until Slack closes it (cut after a grace period).
    s.replacement = 0;
    if (Link* old = find(s.active); old != nullptr && old->id != l.id) {
      old->draining = true;
      const std::uint64_t old_id = old->id;
      old->grace = scheduler_.after(drain_grace(), guarded(life_, [this, old_id] {
                                      if (Link* o = find(old_id); o && o->close_reason.empty()) {
                                        o->close_reason = "replaced";
                                        o->conn->close(1000, "replaced", settings_.close_timeout);
                                      }
                                    }));
    }
    s.active = l.id;
  }
  hooks_.on_links_changed();
}

milliseconds LinkPool::stable_after() const {
  return std::clamp(settings_.backoff_cap, milliseconds(1), kStableLink);
}

void LinkPool::on_stable(std::uint64_t id) {
  Link* l = find(id);
  if (l == nullptr || !l->usable() || stopping_ || fatal_) return;
  Slot& s = slots_[l->slot];
  if (s.failures > 1) {
    logger_->info("socket mode: connection {}: recovered after {} failures (last: {})", l->slot,
                  s.failures, s.last_failure);
  }
  s.failures = 0;
}

milliseconds LinkPool::drain_grace() const {
  return std::min(settings_.idle_timeout, kMaxDrainGrace);
}

void LinkPool::on_disconnect(Link& l, const Disconnect& disconnect) {
  const std::string& reason = disconnect.reason;
  Slot& s = slots_[l.slot];
  logger_->info("socket mode: connection {}: Slack sent disconnect ({})", l.slot, reason);
  if (reason == "link_disabled") {
    fail(core::make_error(core::ErrorCode::unavailable,
                          "Socket Mode is disabled for this Slack app (link_disabled).",
                          "disconnect link_disabled: Socket Mode was turned off for the app; "
                          "not reconnecting"));
    return;
  }
  if (reason == "too_many_websockets") {
    // Over Slack's 10 connections per app: close first, then reconnect after
    // a backoff (python aiohttp PR #1447).
    if (!l.close_reason.empty()) return;
    l.close_reason = reason;
    ++s.failures;  // the replacement waits a backoff
    s.last_failure = reason;
    l.conn->close(1000, reason, settings_.close_timeout);
    return;
  }
  // refresh_requested, warning, and anything new: open the replacement
  // first, keep reading this one until it closes.
  if (l.draining || l.replaced || l.id != s.active || !l.close_reason.empty()) return;
  l.replaced = true;
  stats_.count_reconnect(reason);
  if (!s.pending && s.replacement == 0) schedule_connect(l.slot, milliseconds(0));
}

// ---- closing ------------------------------------------------------------

void LinkPool::drop(Link& link, const std::string& reason) {
  if (!link.close_reason.empty()) return;
  link.close_reason = reason;
  cancel(link.hello_timer);
  if (link.conn) link.conn->abort();
}

void LinkPool::on_closed(std::uint64_t id, int code, const std::string& why) {
  auto it = links_.find(id);
  if (it == links_.end()) return;
  Link link = std::move(it->second);
  links_.erase(it);
  cancel(link.grace);
  cancel(link.stable);
  cancel(link.hello_timer);
  hooks_.on_links_changed();
  if (stopping_) {
    if (links_.empty()) hooks_.on_all_closed();
    return;
  }
  if (fatal_) return;
  Slot& s = slots_[link.slot];
  const std::string reason =
      link.close_reason.empty() ? (link.open ? "dropped" : "connect_failed") : link.close_reason;
  std::string description = reason + (why.empty() ? "" : " (" + why + ")");
  if (link.open && code != 0 && code != 1006 && why.empty()) {
    description += " (close code " + std::to_string(code) + ")";
  }
  if (link.draining || (link.replaced && id != s.active)) {
    logger_->debug("socket mode: connection {}: old connection closed after its replacement",
                   link.slot);
    return;
  }
  if (id == s.replacement) {
    // The replacement failed; the old one may still be serving.
    s.replacement = 0;
    note_failure(link.slot, "replacement " + description);
    if (!link.close_reason.empty()) stats_.count_reconnect(reason);  // no_hello, dead
    if (!s.pending) schedule_connect(link.slot, backoff(s));
    return;
  }
  if (id != s.active) return;
  s.active = 0;
  if (link.replaced && (s.pending || s.replacement != 0)) {
    // Slack closed the old connection before the replacement said hello:
    // the replacement becomes the slot's connection.
    if (s.replacement != 0) {
      s.active = s.replacement;
      s.replacement = 0;
    }
    return;
  }
  if (reason == "too_many_websockets") {
    logger_->warn(
        "socket mode: connection {}: closed on too_many_websockets; reconnecting after backoff",
        link.slot);
  } else {
    note_failure(link.slot, description);
  }
  stats_.count_reconnect(reason);
  if (!s.pending) schedule_connect(link.slot, backoff(s));
}

void LinkPool::begin_stopping() {
  if (stopping_) return;
  stopping_ = true;
  cancel_timers();
  for (auto& [id, link] : links_) {
    if (!link.close_reason.empty()) continue;
    link.close_reason = "stopping";
    if (link.conn) link.conn->close(1000, "stopping", settings_.close_timeout);
  }
  if (links_.empty()) hooks_.on_all_closed();
}

void LinkPool::abort_all() {
  for (auto& [id, link] : links_) {
    if (link.conn) link.conn->abort();
  }
}

void LinkPool::clear() {
  cancel_timers();
  links_.clear();
}

void LinkPool::cancel_timers() {
  for (auto& s : slots_) cancel(s.timer);
  for (auto& [id, l] : links_) {
    cancel(l.grace);
    cancel(l.stable);
    cancel(l.hello_timer);
  }
}

void LinkPool::fail(const core::Error& error) {
  if (fatal_) return;
  fatal_ = true;
  logger_->error("socket mode: giving up, not reconnecting: {} ({})", error.user_message,
                 error.detail);
  cancel_timers();
  opener_.cancel_all();
  for (auto& [id, l] : links_) {
    l.close_reason = "fatal";
    if (l.conn) l.conn->close(1000, "fatal", settings_.close_timeout);
  }
  hooks_.on_fatal(error);
}

// ---- acks ---------------------------------------------------------------

Link* LinkPool::ack_target(std::uint64_t preferred) {
  if (Link* l = find(preferred); l != nullptr && l->usable()) return l;
  // Its connection closed: any ready one will do (Slack matches acks by
  // envelope_id, not by connection).
  Link* target = nullptr;
  for (auto& [id, l] : links_) {
    if (l.usable() && l.hello && (target == nullptr || !l.draining)) target = &l;
  }
  return target;
}

int LinkPool::ready_count() const {
  int count = 0;
  for (const auto& [id, l] : links_) {
    if (l.open && l.hello) ++count;
  }
  return count;
}

}  // namespace slack::detail
