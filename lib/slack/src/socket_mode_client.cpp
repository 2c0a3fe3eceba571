// SocketModeClient: the facade that wires the parts together (link pool,
// keep-alive, deduper, ack router) and runs them on one scheduler. Frames
// are parsed and envelopes dispatched here; everything else is in the parts.

#include "slack/socket_mode_client.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <future>
#include <mutex>
#include <utility>
#include <variant>
#include <vector>

#include "ack_router.hpp"
#include "core/json.hpp"
#include "core/overloaded.hpp"
#include "deduper.hpp"
#include "keep_alive.hpp"
#include "link_pool.hpp"
#include "slack/asio_transport.hpp"
#include "socket_mode_support.hpp"

namespace slack {
namespace {

using std::chrono::milliseconds;

// Slack silently drops Socket Mode responses of 20 KB or more (slack-go
// socketmode.go maxResponseSize, commit b96c9b1; notes §1.5).
constexpr std::size_t kMaxAckBytes = 20480;
// How long closing sockets get beyond close_timeout: the transport cuts the
// close handshake after close_timeout, then TLS shutdown after at most 1 s
// more (socket_transport.cpp).
constexpr milliseconds kCloseSlack{1500};

SocketModeSettings normalised(SocketModeSettings settings) {
  settings.connections = std::clamp(settings.connections, 1, kMaxSocketModeConnections);
  if (!settings.api_url.empty() && settings.api_url.back() != '/') settings.api_url += '/';
  return settings;
}

}  // namespace

class SocketModeClient::Impl {
 public:
  /// What the convenience constructor owns (declared first: destroyed last).
  struct Owned {
    std::unique_ptr<AsioTransport> transport;
    std::unique_ptr<ConnectionOpener> opener;
    std::unique_ptr<core::RandomSource> random;
  };

  Impl(SocketModeSettings settings, core::Scheduler& scheduler, Connector& connector,
       ConnectionOpener& opener, core::RandomSource& random, Listener& listener,
       core::LoggerPtr logger, Owned owned = {})
      : owned_(std::move(owned)),
        settings_(normalised(std::move(settings))),
        scheduler_(scheduler),
        opener_(opener),
        listener_(listener),
        logger_(logger ? std::move(logger) : core::make_null_logger()),
        life_(std::make_shared<char>()),
        deduper_(std::chrono::duration_cast<milliseconds>(settings_.dedupe_window)),
        pool_(settings_, scheduler, connector, opener, random, logger_, stats_, life_,
              pool_hooks()),
        keep_alive_(settings_, scheduler, pool_, logger_, life_) {}

  ~Impl() {
    if (owned_.transport) {
      stop({});
    } else {
      // On the scheduler's thread (or with the scheduler idle): close what is
      // open now, since no task of ours will run after this.
      stop_called_ = true;
      opener_.cancel_all();
      keep_alive_.stop();
      pool_.begin_stopping();
    }
    life_.reset();
  }

  void start() {
    std::lock_guard lifecycle(lifecycle_mutex_);
    if (started_ || stop_called_) return;
    started_ = true;
    if (owned_.transport) owned_.transport->start();
    scheduler_.post(detail::guarded(life_, [this] {
      if (pool_.stopping()) return;
      set_state(ConnectionState::connecting);
      pool_.start();
      keep_alive_.start();
    }));
  }

  void stop(std::function<void()> on_stopped) {
    if (!owned_.transport) {
      stop_called_ = true;
      opener_.cancel_all();
      scheduler_.post(detail::guarded(life_, [this, on_stopped = std::move(on_stopped)]() mutable {
        begin_stopping(std::move(on_stopped));
      }));
      return;
    }
    if (owned_.transport->on_io_thread()) {
      // From a listener: the io thread cannot join itself. Do the closing
      // work now; the join stays pending for a later stop() or the destructor
      // on another thread. No lifecycle_mutex_ here: a stop() on another
      // thread may hold it while it waits for this thread.
      stop_called_ = true;
      opener_.cancel_all();
      begin_stopping(std::move(on_stopped));
      return;
    }
    std::lock_guard lifecycle(lifecycle_mutex_);
    stop_called_ = true;
    if (joined_) return;
    if (!started_) {
      joined_ = true;
      return;
    }
    opener_.cancel_all();
    auto closed = std::make_shared<std::promise<void>>();
    auto closed_future = closed->get_future();
    scheduler_.post(
        detail::guarded(life_, [this, closed, on_stopped = std::move(on_stopped)]() mutable {
          begin_stopping([closed, on_stopped = std::move(on_stopped)] {
            if (on_stopped) on_stopped();
            closed->set_value();
          });
        }));
    if (closed_future.wait_for(settings_.close_timeout + kCloseSlack * 2) !=
        std::future_status::ready) {
      logger_->warn("socket mode: sockets still closing at stop; dropping them");
    }
    owned_.transport->stop_and_join();
    // The io thread is gone: its state is this thread's now.
    pool_.clear();
    stop_waiters_.clear();
    stats_.ready_connections = 0;
    joined_ = true;
  }

  core::Status ack(const std::string& envelope_id, std::optional<std::string> payload_json,
                   std::function<void()> on_written) {
    std::string text = "{\"envelope_id\":" + core::json::quote(envelope_id);
    if (payload_json) {
      // Spliced in as the ack's "payload": a JSON object with nothing before
      // it (parse() would skip a byte order mark; Slack would not).
      const auto start = payload_json->find_first_not_of(" \t\r\n");
      if (start == std::string::npos || (*payload_json)[start] != '{' ||
          !core::json::is_valid(*payload_json)) {
        logger_->warn("socket mode: ack for envelope {} refused: payload is not a JSON object",
                      envelope_id);
        return core::make_error(core::ErrorCode::invalid_input,
                                "The reply could not be sent (internal error).",
                                "ack payload is not a JSON object");
      }
      text += ",\"payload\":" + *payload_json;
    }
    text += "}";
    if (text.size() >= kMaxAckBytes) {
      detail::StatsCounters::bump(stats_.acks_refused);
      logger_->warn(
          "socket mode: ack for envelope {} refused: {} bytes >= {} (Slack drops such acks "
          "silently); send large content through the Web API",
          envelope_id, text.size(), kMaxAckBytes);
      return core::make_error(core::ErrorCode::invalid_input,
                              "The reply is too large for Slack to accept.",
                              "ack of " + std::to_string(text.size()) + " bytes >= 20480");
    }
    if (!started_ || stop_called_) {
      return core::make_error(core::ErrorCode::unavailable, "The Slack connection is stopped.",
                              "ack after stop() or before start()");
    }
    // Called from the envelope's own handler (a refusal, an answer in the
    // ack): written now, not posted behind other tasks. An on_written runs
    // after a post, as ever, so that it never runs inside the caller.
    if (!on_written && scheduler_.in_scheduler_thread()) {
      send_ack(envelope_id, std::move(text), AckKind::application);
      return {};
    }
    scheduler_.post(detail::guarded(life_, [this, envelope_id, text = std::move(text),
                                            on_written = std::move(on_written)]() mutable {
      send_ack(envelope_id, std::move(text), AckKind::application, std::move(on_written));
    }));
    return {};
  }

  bool ready() const { return stats_.ready_connections.load(std::memory_order_relaxed) > 0; }
  SocketModeStats stats() const { return stats_.snapshot(); }
  core::Scheduler& scheduler() { return scheduler_; }

 private:
  detail::LinkPool::Hooks pool_hooks() {
    detail::LinkPool::Hooks hooks;
    hooks.on_message = [this](detail::Link& link, std::string payload, bool text) {
      on_message(link, payload, text);
    };
    hooks.on_open = [this](detail::Link& link) { keep_alive_.on_open(link); };
    hooks.on_links_changed = [this] { update_ready(); };
    hooks.on_fatal = [this](const core::Error& error) { on_fatal(error); };
    hooks.on_all_closed = [this] { all_closed(); };
    return hooks;
  }

  // ---- frames (scheduler thread) --------------------------------------

  void on_message(detail::Link& link, const std::string& payload, bool text) {
    if (!text || payload.size() > settings_.max_frame_bytes) {
      skip_frame(link, !text ? "binary frame"
                             : "frame of " + std::to_string(payload.size()) + " bytes over the " +
                                   std::to_string(settings_.max_frame_bytes) + "-byte limit");
      return;
    }
    auto frame = parse_frame(payload);
    if (!frame) {
      skip_frame(link,
                 frame.error().detail.empty() ? frame.error().user_message : frame.error().detail);
      return;
    }
    std::visit(core::Overloaded{
                   [&](const Hello& hello) { pool_.on_hello(link, hello); },
                   [&](const Disconnect& disconnect) { pool_.on_disconnect(link, disconnect); },
                   [&](const Envelope& envelope) { on_envelope(link, envelope); },
               },
               *frame);
  }

  void skip_frame(const detail::Link& link, const std::string& why) {
    detail::StatsCounters::bump(stats_.malformed_frames);
    logger_->warn("socket mode: connection {}: skipped a frame: {}", link.slot, why);
  }

  void on_envelope(detail::Link& link, const Envelope& envelope) {
    if (stop_called_) return;
    stats_.count_envelope(envelope.type);
    router_.remember(envelope.envelope_id, link.id);
    const auto seen =
        deduper_.check(envelope.envelope_id, envelope.natural_key(), scheduler_.now());
    if (seen != detail::Deduper::Seen::first) {
      detail::StatsCounters::bump(stats_.duplicates_dropped);
      const bool same_id = seen == detail::Deduper::Seen::same_id;
      logger_->debug("socket mode: duplicate envelope {} ({}) dropped", envelope.envelope_id,
                     same_id ? "same envelope_id" : "same natural key");
      // Slack re-sends until it gets an ack. A redelivery the application
      // never sees is acked here: with the application's own ack when it is
      // kept (the first may have died with its socket, or found none), bare
      // when it was forgotten or the envelope id is new; and, while the
      // application's ack is still on its way, with that ack once it comes.
      auto* route = router_.find(envelope.envelope_id);
      if (same_id && route != nullptr && !route->ack.empty()) {
        send_ack(envelope.envelope_id, std::string(route->ack), AckKind::resent);
        return;
      }
      const bool app_acked = route != nullptr && route->acked;
      if (same_id && route != nullptr && !app_acked) {
        ++route->redeliveries_waiting;  // acked with the application's ack when it comes
        return;
      }
      if (!same_id || app_acked) {
        send_ack(envelope.envelope_id,
                 "{\"envelope_id\":" + core::json::quote(envelope.envelope_id) + "}",
                 AckKind::bare);
      }
      return;
    }
    try {
      listener_.on_envelope(envelope);
    } catch (const std::exception& e) {
      logger_->error("socket mode: listener threw on envelope {}: {}", envelope.envelope_id,
                     e.what());
    }
  }

  /// application: the application's ack (kept for redeliveries); resent: a
  /// kept ack again; bare: `{"envelope_id":…}` for a duplicate.
  enum class AckKind { application, resent, bare };

  void send_ack(const std::string& envelope_id, std::string text, AckKind kind,
                std::function<void()> on_written = {}) {
    auto* route = router_.find(envelope_id);
    detail::Link* target = pool_.ack_target(route != nullptr ? route->link : 0);
    // What goes out: the kept copy for the application's ack (moved there,
    // not copied), else the text itself.
    const std::string* sent = &text;
    if (kind == AckKind::application && route != nullptr) {
      router_.keep(*route, std::move(text));
      route->on_written = nullptr;
      sent = &route->ack;
    }
    if (target == nullptr) {
      if (route != nullptr && !route->ack.empty()) {
        if (kind == AckKind::application) route->on_written = std::move(on_written);
        logger_->warn(
            "socket mode: no open connection to ack envelope {}; the ack is sent when Slack "
            "redelivers it",
            envelope_id);
      } else {
        logger_->warn("socket mode: no open connection to ack envelope {}; Slack will redeliver it",
                      envelope_id);
      }
      return;
    }
    // Acks go out at once; pings (the only other writes) wait until nothing
    // is queued, so an ack is never behind another write of ours.
    std::uint32_t again = 0;
    if (kind == AckKind::application && route != nullptr) {
      again = std::exchange(route->redeliveries_waiting, 0);
    }
    for (std::uint32_t i = 0; i < again; ++i) {
      target->conn->send_text(*sent);
      detail::StatsCounters::bump(stats_.acks_sent);
    }
    target->conn->send_text(*sent);
    detail::StatsCounters::bump(stats_.acks_sent);
    if (route != nullptr) {
      route->acked = true;
      if (kind == AckKind::resent && route->on_written) on_written = std::move(route->on_written);
      route->on_written = nullptr;
    }
    if (on_written) {
      try {
        on_written();
      } catch (const std::exception& e) {
        logger_->error("socket mode: on_written threw for envelope {}: {}", envelope_id, e.what());
      }
    }
  }

  // ---- state (scheduler thread) ---------------------------------------

  void begin_stopping(std::function<void()> on_stopped) {
    if (on_stopped) stop_waiters_.push_back(std::move(on_stopped));
    if (pool_.stopping()) {
      if (pool_.empty()) all_closed();
      return;
    }
    set_state(ConnectionState::stopped);
    keep_alive_.stop();
    // A close handshake that hangs is cut by the transport; this bounds what
    // a fake or a stuck transport could hold up.
    cut_timer_ =
        scheduler_.after(settings_.close_timeout + kCloseSlack, detail::guarded(life_, [this] {
                           pool_.abort_all();
                           all_closed();
                         }));
    pool_.begin_stopping();
  }

  void all_closed() {
    if (cut_timer_ && pool_.empty()) cut_timer_->cancel();
    auto waiters = std::move(stop_waiters_);
    stop_waiters_.clear();
    for (auto& waiter : waiters) {
      try {
        waiter();
      } catch (const std::exception& e) {
        logger_->error("socket mode: on_stopped threw: {}", e.what());
      }
    }
  }

  void on_fatal(const core::Error& error) {
    keep_alive_.stop();
    set_state(ConnectionState::failed);
    try {
      listener_.on_fatal(error);
    } catch (const std::exception& e) {
      logger_->error("socket mode: listener threw in on_fatal: {}", e.what());
    }
  }

  void update_ready() {
    const int count = pool_.ready_count();
    stats_.ready_connections.store(count, std::memory_order_relaxed);
    if (pool_.stopping() || pool_.fatal()) return;
    if (count > 0 && state_ != ConnectionState::ready) set_state(ConnectionState::ready);
    if (count == 0 && state_ == ConnectionState::ready) set_state(ConnectionState::reconnecting);
  }

  void set_state(ConnectionState state) {
    if (state_ == state) return;
    state_ = state;
    try {
      listener_.on_state(state);
    } catch (const std::exception& e) {
      logger_->error("socket mode: listener threw in on_state: {}", e.what());
    }
  }

  Owned owned_;
  SocketModeSettings settings_;
  core::Scheduler& scheduler_;
  ConnectionOpener& opener_;
  Listener& listener_;
  core::LoggerPtr logger_;
  std::shared_ptr<char> life_;  ///< scheduled work holds a weak_ptr to it

  std::mutex lifecycle_mutex_;  ///< held across start() and a joining stop()
  std::atomic<bool> started_{false};
  std::atomic<bool> stop_called_{false};
  bool joined_ = false;  ///< the owned io thread is joined (or never started)

  detail::StatsCounters stats_;

  // scheduler thread only
  detail::Deduper deduper_;
  detail::AckRouter router_;
  detail::LinkPool pool_;
  detail::KeepAlive keep_alive_;
  ConnectionState state_ = ConnectionState::stopped;
  std::vector<std::function<void()>> stop_waiters_;
  core::Timer cut_timer_;
};

SocketModeClient::SocketModeClient(SocketModeSettings settings, core::Scheduler& scheduler,
                                   Connector& connector, ConnectionOpener& opener,
                                   core::RandomSource& random, Listener& listener,
                                   core::LoggerPtr logger)
    : impl_(std::make_unique<Impl>(std::move(settings), scheduler, connector, opener, random,
                                   listener, std::move(logger))) {}

SocketModeClient::SocketModeClient(SocketModeSettings settings, core::http::Client& http,
                                   Listener& listener, core::LoggerPtr logger) {
  Impl::Owned owned;
  owned.transport = make_asio_transport();
  owned.opener = make_http_connection_opener(
      HttpOpenerSettings{settings.app_token, settings.api_url}, http, *owned.transport);
  owned.random = std::make_unique<core::SystemRandom>();
  // The pointees stay where they are when `owned` moves into the Impl.
  AsioTransport& transport = *owned.transport;
  ConnectionOpener& opener = *owned.opener;
  core::RandomSource& random = *owned.random;
  impl_ = std::make_unique<Impl>(std::move(settings), transport, transport, opener, random,
                                 listener, std::move(logger), std::move(owned));
}

SocketModeClient::~SocketModeClient() = default;

void SocketModeClient::start() { impl_->start(); }
void SocketModeClient::stop() { impl_->stop({}); }
void SocketModeClient::stop(std::function<void()> on_stopped) {
  impl_->stop(std::move(on_stopped));
}

core::Status SocketModeClient::ack(const std::string& envelope_id,
                                   std::optional<std::string> payload_json,
                                   std::function<void()> on_written) {
  return impl_->ack(envelope_id, std::move(payload_json), std::move(on_written));
}

bool SocketModeClient::ready() const { return impl_->ready(); }
SocketModeStats SocketModeClient::stats() const { return impl_->stats(); }
core::Scheduler& SocketModeClient::scheduler() { return impl_->scheduler(); }

}  // namespace slack
