#include "slack/socket_mode_client.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "core/json.hpp"
#include "core/overloaded.hpp"
#include "socket_transport.hpp"

namespace slack {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Slack silently drops Socket Mode responses of 20 KB or more (slack-go
// socketmode.go maxResponseSize, commit b96c9b1; notes §1.5).
constexpr std::size_t kMaxAckBytes = 20480;
// Bounds on memory whatever the traffic: dedupe keys and envelope→connection
// routes older than the window, or beyond these counts, are forgotten.
constexpr std::size_t kDedupeCap = 100000;
constexpr std::size_t kRouteCap = 10000;
// The application's acks are kept (with their route) so a redelivery gets the
// same payload again: an ack written into a socket that died before Slack read
// it is lost, and a bare re-ack would drop the reply it carried. Bounded in
// bytes too (an ack may be up to 20 KB); past it the oldest are forgotten and
// their redeliveries get a bare ack.
constexpr std::size_t kKeptAckBytes = 4 * 1024 * 1024;
constexpr milliseconds kOpenHandshakeTimeout{10000};
// How long an old connection may keep reading after its replacement said
// hello (Slack normally closes it itself within seconds).
constexpr milliseconds kMaxDrainGrace{10000};
// apps.connections.open default wait on `ratelimited` without Retry-After
// (python-slack-sdk issue_new_wss_url uses 30 s).
constexpr milliseconds kDefaultRetryAfter{30000};
// A Retry-After above this is taken as this (no overflow, no timer set for
// centuries).
constexpr std::chrono::seconds kMaxRetryAfter{300};
// A connection that stays up this long (or backoff_cap, if shorter) ends a
// failure streak; a hello alone does not, so a server that drops every link
// right after its hello still meets a growing backoff.
constexpr milliseconds kStableLink{30000};

// ok:false errors that retrying cannot fix (notes §6.1; node
// UnrecoverableSocketModeStartError, slack-go connect()).
const std::set<std::string, std::less<>>& fatal_errors() {
  static const std::set<std::string, std::less<>> errors{
      "invalid_auth",  "not_authed",    "not_allowed_token_type", "account_inactive",
      "token_revoked", "token_expired", "team_disabled",          "user_removed_from_team",
      "missing_args",  "forbidden_team"};
  return errors;
}

struct OpenOutcome {
  enum class Kind { success, retry, fatal } kind = Kind::retry;
  std::string url;     ///< success
  std::string reason;  ///< retry / fatal: for the log (no secrets)
  std::optional<milliseconds> retry_after;
};

std::optional<milliseconds> parse_retry_after(const core::http::Response& response) {
  const auto value = response.header("Retry-After");
  if (!value) return std::nullopt;
  const std::string text(*value);
  try {
    const long long seconds = std::stoll(text);
    if (seconds < 0) return std::nullopt;
    return milliseconds(std::chrono::seconds(std::min<long long>(seconds, kMaxRetryAfter.count())));
  } catch (const std::out_of_range&) {
    // Too many digits: a huge wait (or a huge negative, ignored).
    if (text.find('-') != std::string::npos) return std::nullopt;
    return milliseconds(kMaxRetryAfter);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

class SocketModeClient::Impl {
 public:
  Impl(SocketModeSettings settings, core::http::Client& http, Listener& listener,
       core::LoggerPtr logger)
      : settings_(std::move(settings)),
        http_(http),
        listener_(listener),
        logger_(logger ? std::move(logger) : core::make_null_logger()),
        loop_(detail::make_io_loop()),
        rng_(std::random_device{}()) {
    settings_.connections = std::clamp(settings_.connections, 1, 10);
    if (!settings_.api_url.empty() && settings_.api_url.back() != '/') settings_.api_url += '/';
    slots_.resize(static_cast<std::size_t>(settings_.connections));
  }

  ~Impl() { stop(); }

  void start() {
    // Held across the whole start (and stop): a concurrent stop() sees either
    // nothing started or fetcher_ and the loop fully started.
    std::lock_guard lifecycle(lifecycle_mutex_);
    {
      std::lock_guard lock(control_mutex_);
      if (started_ || stop_called_) return;
      started_ = true;
    }
    fetcher_ = std::thread([this] { fetch_loop(); });
    loop_->start();
    loop_->post([this] {
      set_state(ConnectionState::connecting);
      for (std::size_t slot = 0; slot < slots_.size(); ++slot) {
        schedule_connect(slot, milliseconds(0));
      }
      schedule_keepalive();
    });
  }

  void stop() {
    if (loop_->on_io_thread()) {
      // From a listener: the io thread cannot join itself. Do the closing
      // work now; the join stays pending for a later stop() or the
      // destructor on another thread (joined_ stays false). No
      // lifecycle_mutex_ here: a stop() on another thread may hold it while
      // it waits for this thread.
      {
        std::lock_guard lock(control_mutex_);
        stop_called_ = true;
      }
      accepting_ = false;
      stop_fetcher();
      begin_stopping();
      return;
    }
    std::lock_guard lifecycle(lifecycle_mutex_);
    {
      std::lock_guard lock(control_mutex_);
      stop_called_ = true;
      if (joined_) return;
      if (!started_) {
        joined_ = true;
        return;
      }
    }
    accepting_ = false;
    std::promise<void> closed;
    auto closed_future = closed.get_future();
    loop_->post([this, &closed] {
      begin_stopping();
      if (links_.empty()) {
        closed.set_value();
        return;
      }
      stop_done_ = &closed;
    });
    // The close handshake is cut after close_timeout, then TLS shutdown after
    // at most 1 s more (socket_transport.cpp).
    if (closed_future.wait_for(settings_.close_timeout + milliseconds(1500)) !=
        std::future_status::ready) {
      logger_->warn("socket mode: sockets still closing at stop; dropping them");
    }
    loop_->stop_and_join();
    links_.clear();
    stop_done_ = nullptr;
    stop_fetcher();
    if (fetcher_.joinable()) fetcher_.join();
    ready_count_ = 0;
    {
      std::lock_guard lock(stats_mutex_);
      stats_.ready_connections = 0;
    }
    std::lock_guard lock(control_mutex_);
    joined_ = true;
  }

  core::Status ack(const std::string& envelope_id, std::optional<std::string> payload_json) {
    std::string text = "{\"envelope_id\":" + core::json::quote(envelope_id);
    if (payload_json) {
      if (!core::json::parse(*payload_json)) {
        logger_->warn("socket mode: ack for envelope {} refused: payload is not JSON", envelope_id);
        return core::make_error(core::ErrorCode::invalid_input,
                                "The reply could not be sent (internal error).",
                                "ack payload is not JSON");
      }
      text += ",\"payload\":" + *payload_json;
    }
    text += "}";
    if (text.size() >= kMaxAckBytes) {
      {
        std::lock_guard lock(stats_mutex_);
        ++stats_.acks_refused;
      }
      logger_->warn(
          "socket mode: ack for envelope {} refused: {} bytes >= {} (Slack drops such acks "
          "silently); send large content through the Web API",
          envelope_id, text.size(), kMaxAckBytes);
      return core::make_error(core::ErrorCode::invalid_input,
                              "The reply is too large for Slack to accept.",
                              "ack of " + std::to_string(text.size()) + " bytes >= 20480");
    }
    {
      std::lock_guard lock(control_mutex_);
      if (!started_ || stop_called_) {
        return core::make_error(core::ErrorCode::unavailable, "The Slack connection is stopped.",
                                "ack after stop() or before start()");
      }
    }
    loop_->post([this, envelope_id, text = std::move(text)]() mutable {
      send_ack(envelope_id, std::move(text));
    });
    return {};
  }

  bool ready() const { return ready_count_.load() > 0; }

  SocketModeStats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

 private:
  struct Link {
    std::uint64_t id = 0;
    std::size_t slot = 0;
    std::shared_ptr<detail::Connection> conn;
    bool open = false;
    bool hello = false;
    bool replaced = false;  ///< a replacement is being opened (refresh_requested/warning)
    bool draining = false;  ///< replaced and the replacement is ready: read until closed
    SteadyClock::time_point opened_at{}, last_frame{}, last_pong{};
    std::string close_reason;  ///< why we closed it (dead, too_many_websockets…)
    std::shared_ptr<detail::TimerHandle> grace;
    std::shared_ptr<detail::TimerHandle> stable;  ///< ends the slot's failure streak
  };

  struct Slot {
    std::uint64_t active = 0;       ///< the connection serving this slot (0: none)
    std::uint64_t replacement = 0;  ///< a new connection opened before closing `active`
    bool pending = false;           ///< a connect is scheduled or its URL is being fetched
    int failures = 0;               ///< in a row, reset once a link stays up (stable_after())
    std::string last_failure;
    std::shared_ptr<detail::TimerHandle> timer;
  };

  struct Route {
    std::uint64_t link = 0;
    bool acked = false;  ///< an ack went out to a transport
    /// The application's ack (sent or not; empty: none yet, or forgotten):
    /// sent again, payload and all, when Slack redelivers the envelope.
    std::string ack;
  };

  // ---- apps.connections.open, off the io thread -------------------------

  void fetch_loop() {
    for (;;) {
      std::size_t slot = 0;
      {
        std::unique_lock lock(fetch_mutex_);
        fetch_cv_.wait(lock, [this] { return fetch_stop_ || !fetch_queue_.empty(); });
        if (fetch_stop_) return;
        slot = fetch_queue_.front();
        fetch_queue_.pop_front();
      }
      OpenOutcome outcome = open_connection_url();
      loop_->post([this, slot, outcome = std::move(outcome)] { on_url(slot, outcome); });
    }
  }

  OpenOutcome open_connection_url() {
    core::http::Request request;
    request.method = "POST";
    request.url = settings_.api_url + "apps.connections.open";
    // The app token must be in the header: as a form field Slack answers
    // invalid_auth (python-slack-sdk issue #1877).
    request.headers = {{"Authorization", "Bearer " + settings_.app_token},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
    request.connect_timeout = milliseconds(5000);
    request.total_timeout = milliseconds(10000);
    OpenOutcome out;
    auto response = http_.send(request);
    if (!response) {
      out.reason = "apps.connections.open failed: " + response.error().detail;
      return out;
    }
    const auto retry_after = parse_retry_after(*response);
    if (response->status == 429) {
      out.reason = "apps.connections.open ratelimited (HTTP 429)";
      out.retry_after = retry_after.value_or(kDefaultRetryAfter);
      return out;
    }
    if (response->status >= 500) {
      out.reason = "apps.connections.open answered HTTP " + std::to_string(response->status);
      return out;
    }
    auto body = core::json::parse(response->body);
    if (!body || !body->IsObject()) {
      out.reason = "apps.connections.open answered HTTP " + std::to_string(response->status) +
                   " without a JSON object";
      return out;
    }
    const auto ok = core::json::get_bool(*body, "ok");
    if (ok && *ok) {
      const auto url = core::json::get_string(*body, "url");
      if (!url || url->rfind("wss://", 0) != 0) {
        out.reason = "apps.connections.open returned no wss:// url";
        return out;
      }
      out.kind = OpenOutcome::Kind::success;
      out.url = std::string(*url);
      return out;
    }
    const std::string error =
        std::string(core::json::get_string(*body, "error").value_or("unknown"));
    out.reason = "apps.connections.open: " + error;
    if (fatal_errors().count(error) != 0) {
      out.kind = OpenOutcome::Kind::fatal;
    } else if (error == "ratelimited") {
      out.retry_after = retry_after.value_or(kDefaultRetryAfter);
    }
    return out;
  }

  // ---- io thread ----------------------------------------------------------

  void schedule_connect(std::size_t slot, milliseconds delay) {
    if (stopping_ || fatal_) return;
    Slot& s = slots_[slot];
    s.pending = true;
    auto go = [this, slot] {
      if (stopping_ || fatal_) return;
      {
        std::lock_guard lock(fetch_mutex_);
        fetch_queue_.push_back(slot);
      }
      fetch_cv_.notify_one();
    };
    if (delay.count() <= 0) {
      go();
    } else {
      s.timer = loop_->after(delay, go);
    }
  }

  milliseconds backoff(const Slot& s) {
    // Full jitter: uniform in [0, min(cap, base·2^(failures-1))] (AWS
    // "Exponential Backoff And Jitter"); doubling stops at the cap.
    const int exponent = std::clamp(s.failures - 1, 0, 30);
    const auto base = std::max<std::int64_t>(settings_.backoff_base.count(), 1);
    std::int64_t ceiling = base;
    for (int i = 0; i < exponent && ceiling < settings_.backoff_cap.count(); ++i) ceiling *= 2;
    ceiling = std::min<std::int64_t>(ceiling, settings_.backoff_cap.count());
    std::uniform_int_distribution<std::int64_t> dist(0, std::max<std::int64_t>(ceiling, 0));
    return milliseconds(dist(rng_));
  }

  /// Records a failed attempt; the first failure of a streak is logged at
  /// warn, the second once more (saying further ones are quiet), the rest at
  /// debug — no log storm while Slack is unreachable.
  void note_failure(std::size_t slot, const std::string& reason) {
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
      logger_->debug("socket mode: connection {}: failure {} in a row: {}", slot, s.failures,
                     reason);
    }
  }

  void count_reconnect(const std::string& reason) {
    std::lock_guard lock(stats_mutex_);
    ++stats_.reconnects_by_reason[reason];
  }

  void on_url(std::size_t slot, const OpenOutcome& outcome) {
    Slot& s = slots_[slot];
    s.pending = false;
    if (stopping_ || fatal_) return;
    switch (outcome.kind) {
      case OpenOutcome::Kind::success:
        open_link(slot, outcome.url);
        return;
      case OpenOutcome::Kind::fatal:
        fail(core::make_error(core::ErrorCode::config,
                              "Slack refused the app token (" +
                                  outcome.reason.substr(outcome.reason.find(':') + 2) +
                                  "): check SLACK_APP_TOKEN (an xapp- token with "
                                  "connections:write).",
                              outcome.reason));
        return;
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

  void open_link(std::size_t slot, const std::string& ticket_url) {
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
    logger_->debug("socket mode: connection {}: opening {}{}", slot, detail::redact_url(url),
                   replacing ? " (replacement)" : "");
    detail::ConnectionCallbacks callbacks;
    callbacks.on_open = [this, id] { on_open(id); };
    callbacks.on_message = [this, id](std::string payload, bool text) {
      on_message(id, payload, text);
    };
    callbacks.on_pong = [this, id](const std::string&) {
      if (auto* l = find(id)) l->last_pong = l->last_frame = SteadyClock::now();
    };
    callbacks.on_ping = [this, id] {
      if (auto* l = find(id)) l->last_frame = SteadyClock::now();
    };
    callbacks.on_close = [this, id](int code, const std::string& why) { on_closed(id, code, why); };
    callbacks.on_fail = [this, id](const std::string& why) { on_closed(id, 0, why); };
    // websocketpp fails a connection on a message above its limit; keep that
    // limit far above max_frame_bytes so oversized frames are skipped here.
    const std::size_t transport_limit =
        std::max<std::size_t>(settings_.max_frame_bytes * 4, std::size_t{16} << 20);
    link.conn = loop_->connect(url, settings_.ca_file, transport_limit, kOpenHandshakeTimeout,
                               std::move(callbacks));
  }

  Link* find(std::uint64_t id) {
    auto it = links_.find(id);
    return it == links_.end() ? nullptr : &it->second;
  }

  void on_open(std::uint64_t id) {
    Link* l = find(id);
    if (l == nullptr) return;
    l->open = true;
    l->opened_at = l->last_frame = l->last_pong = SteadyClock::now();
    if (stopping_) l->conn->close(1000, "stopping", settings_.close_timeout);
  }

  void on_message(std::uint64_t id, const std::string& payload, bool text) {
    Link* l = find(id);
    if (l == nullptr) return;
    l->last_frame = SteadyClock::now();
    if (stopping_) return;
    if (!text || payload.size() > settings_.max_frame_bytes) {
      skip_frame(*l, !text ? "binary frame"
                           : "frame of " + std::to_string(payload.size()) + " bytes over the " +
                                 std::to_string(settings_.max_frame_bytes) + "-byte limit");
      return;
    }
    auto frame = parse_frame(payload);
    if (!frame) {
      skip_frame(*l,
                 frame.error().detail.empty() ? frame.error().user_message : frame.error().detail);
      return;
    }
    std::visit(core::Overloaded{
                   [&](const Hello& hello) { on_hello(*l, hello); },
                   [&](const Disconnect& disconnect) { on_disconnect(*l, disconnect); },
                   [&](const Envelope& envelope) { on_envelope(*l, envelope); },
               },
               *frame);
  }

  void skip_frame(const Link& l, const std::string& why) {
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.malformed_frames;
    }
    logger_->warn("socket mode: connection {}: skipped a frame: {}", l.slot, why);
  }

  void on_hello(Link& l, const Hello& hello) {
    if (l.hello) return;
    l.hello = true;
    Slot& s = slots_[l.slot];
    // Not a reset of the failure streak yet: only a link that stays up does
    // that (a server dropping every link right after hello keeps backing off).
    const std::uint64_t link_id = l.id;
    l.stable = loop_->after(stable_after(), [this, link_id] { on_stable(link_id); });
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
        old->grace = loop_->after(drain_grace(), [this, old_id] {
          if (Link* o = find(old_id)) {
            o->close_reason = "replaced";
            o->conn->close(1000, "replaced", settings_.close_timeout);
          }
        });
      }
      s.active = l.id;
    }
    update_ready();
  }

  milliseconds stable_after() const {
    return std::clamp(settings_.backoff_cap, milliseconds(1), kStableLink);
  }

  void on_stable(std::uint64_t id) {
    Link* l = find(id);
    if (l == nullptr || !l->open || !l->close_reason.empty() || stopping_ || fatal_) return;
    Slot& s = slots_[l->slot];
    if (s.failures > 1) {
      logger_->info("socket mode: connection {}: recovered after {} failures (last: {})", l->slot,
                    s.failures, s.last_failure);
    }
    s.failures = 0;
  }

  milliseconds drain_grace() const { return std::min(settings_.idle_timeout, kMaxDrainGrace); }

  void on_disconnect(Link& l, const Disconnect& disconnect) {
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
      // Over Slack's 10 connections per app: close first, then reconnect
      // after a backoff (python aiohttp PR #1447).
      l.close_reason = reason;
      ++s.failures;  // the replacement waits a backoff
      s.last_failure = reason;
      l.conn->close(1000, reason, settings_.close_timeout);
      return;
    }
    // refresh_requested, warning, and anything new: open the replacement
    // first, keep reading this one until it closes.
    if (l.draining || l.replaced || l.id != s.active) return;
    l.replaced = true;
    count_reconnect(reason);
    if (!s.pending && s.replacement == 0) schedule_connect(l.slot, milliseconds(0));
  }

  void on_envelope(Link& l, const Envelope& envelope) {
    if (!accepting_) return;
    const auto now = SteadyClock::now();
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.envelopes_by_type[envelope.type];
    }
    remember_route(envelope.envelope_id, l.id);
    prune_dedupe(now);
    const DedupeKey id_key = dedupe_key(envelope.envelope_id, kEnvelopeIdSalt);
    const std::string natural = envelope.natural_key();
    const std::optional<DedupeKey> natural_key =
        natural.empty() ? std::nullopt : std::optional(dedupe_key(natural, kNaturalKeySalt));
    const bool same_id = seen_.count(id_key) != 0;
    const bool same_natural = natural_key && seen_.count(*natural_key) != 0;
    if (same_id || same_natural) {
      {
        std::lock_guard lock(stats_mutex_);
        ++stats_.duplicates_dropped;
      }
      logger_->debug("socket mode: duplicate envelope {} ({}) dropped", envelope.envelope_id,
                     same_id ? "same envelope_id" : "same natural key");
      // Slack re-sends until it gets an ack. A redelivery the application
      // never sees is acked here: with the application's own ack when it is
      // kept (the first may have died with its socket, or found none), bare
      // when it was forgotten or the envelope id is new; not at all while the
      // application's ack is still on its way.
      auto route = routes_.find(envelope.envelope_id);
      if (same_id && route != routes_.end() && !route->second.ack.empty()) {
        send_ack(envelope.envelope_id, std::string(route->second.ack), AckKind::resent);
        return;
      }
      const bool app_acked = route != routes_.end() && route->second.acked;
      if (!same_id || app_acked) {
        send_ack(envelope.envelope_id,
                 "{\"envelope_id\":" + core::json::quote(envelope.envelope_id) + "}",
                 AckKind::bare);
      }
      return;
    }
    remember(id_key, now);
    if (natural_key) remember(*natural_key, now);
    try {
      listener_.on_envelope(envelope);
    } catch (const std::exception& e) {
      logger_->error("socket mode: listener threw on envelope {}: {}", envelope.envelope_id,
                     e.what());
    }
  }

  // Dedupe keys are 64-bit hashes of the envelope id and of the natural key
  // (each salted apart): ~56 bytes per key with its place in the window,
  // against ~200 for the strings, so a full window (100,000 keys) takes ~5 MB.
  // Two distinct keys collide with probability 2^-64 each; with the window
  // full, ~5e-15 per envelope that it is wrongly taken for a duplicate.
  using DedupeKey = std::uint64_t;
  static constexpr DedupeKey kEnvelopeIdSalt = 0;
  static constexpr DedupeKey kNaturalKeySalt = 0x9e3779b97f4a7c15ULL;
  static DedupeKey dedupe_key(std::string_view text, DedupeKey salt) {
    static_assert(sizeof(std::size_t) == sizeof(DedupeKey), "64-bit hashes");
    return std::hash<std::string_view>{}(text) ^ salt;
  }

  void remember(DedupeKey key, SteadyClock::time_point now) {
    seen_.insert(key);
    seen_order_.emplace_back(now, key);
  }

  void prune_dedupe(SteadyClock::time_point now) {
    const auto window = std::chrono::duration_cast<SteadyClock::duration>(settings_.dedupe_window);
    while (!seen_order_.empty() &&
           (seen_order_.size() >= kDedupeCap || seen_order_.front().first + window < now)) {
      seen_.erase(seen_order_.front().second);
      seen_order_.pop_front();
    }
  }

  void remember_route(const std::string& envelope_id, std::uint64_t link) {
    auto [it, inserted] = routes_.try_emplace(envelope_id, Route{link, false, {}});
    if (!inserted) {
      // Prefer the newest delivery's connection (the older may be closing).
      it->second.link = link;
      return;
    }
    route_order_.push_back(envelope_id);
    while (route_order_.size() > kRouteCap) {
      auto oldest = routes_.find(route_order_.front());
      if (oldest != routes_.end()) {
        forget_ack(oldest->second);
        routes_.erase(oldest);
      }
      route_order_.pop_front();
    }
  }

  void keep_ack(const std::string& envelope_id, Route& route, const std::string& text) {
    forget_ack(route);
    route.ack = text;
    kept_ack_bytes_ += route.ack.size();
    kept_ack_order_.push_back(envelope_id);
    // Oldest first; an id whose route is gone or was kept again later is
    // skipped (forget_ack of an empty ack is a no-op).
    while (kept_ack_bytes_ > kKeptAckBytes || kept_ack_order_.size() > kRouteCap) {
      auto oldest = routes_.find(kept_ack_order_.front());
      kept_ack_order_.pop_front();
      if (oldest != routes_.end() && &oldest->second != &route) forget_ack(oldest->second);
      if (kept_ack_order_.empty()) break;
    }
  }

  void forget_ack(Route& route) {
    kept_ack_bytes_ -= route.ack.size();
    route.ack.clear();
    route.ack.shrink_to_fit();
  }

  /// application: the application's ack (kept for redeliveries); resent: a
  /// kept ack again; bare: `{"envelope_id":…}` for a duplicate.
  enum class AckKind { application, resent, bare };

  void send_ack(const std::string& envelope_id, std::string text,
                AckKind kind = AckKind::application) {
    // A link we are closing (dead, replaced, too_many_websockets, stopping…)
    // stays `open` until its close completes, but a frame sent on it now may
    // never reach Slack.
    const auto usable = [](const Link& l) { return l.open && l.close_reason.empty(); };
    Link* target = nullptr;
    auto route = routes_.find(envelope_id);
    if (route != routes_.end()) {
      Link* l = find(route->second.link);
      if (l != nullptr && usable(*l)) target = l;
    }
    if (target == nullptr) {
      // Its connection closed: any ready one will do (Slack matches acks by
      // envelope_id, not by connection).
      for (auto& [id, l] : links_) {
        if (usable(l) && l.hello && (target == nullptr || !l.draining)) target = &l;
      }
    }
    if (kind == AckKind::application && route != routes_.end()) {
      keep_ack(envelope_id, route->second, text);
    }
    if (target == nullptr) {
      if (route != routes_.end() && !route->second.ack.empty()) {
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
    target->conn->send_text(std::move(text));
    if (route != routes_.end()) route->second.acked = true;
    std::lock_guard lock(stats_mutex_);
    ++stats_.acks_sent;
  }

  void on_closed(std::uint64_t id, int code, const std::string& why) {
    auto it = links_.find(id);
    if (it == links_.end()) return;
    Link link = std::move(it->second);
    links_.erase(it);
    if (link.grace) link.grace->cancel();
    if (link.stable) link.stable->cancel();
    update_ready();
    if (stopping_) {
      if (links_.empty() && stop_done_ != nullptr) {
        stop_done_->set_value();
        stop_done_ = nullptr;
      }
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
          "socket mode: connection {}: closed on too_many_websockets; reconnecting "
          "after backoff",
          link.slot);
    } else {
      note_failure(link.slot, description);
    }
    count_reconnect(reason);
    if (!s.pending) schedule_connect(link.slot, backoff(s));
  }

  void schedule_keepalive() {
    keepalive_ = loop_->after(settings_.ping_interval, [this] {
      keepalive_tick();
      if (!stopping_) schedule_keepalive();
    });
  }

  void keepalive_tick() {
    const auto now = SteadyClock::now();
    for (auto& [id, l] : links_) {
      if (!l.open || !l.close_reason.empty()) continue;
      const auto since_pong = now - l.last_pong;
      const auto since_frame = now - l.last_frame;
      std::string dead;
      if (since_pong > settings_.pong_timeout) {
        dead = "no pong for " +
               std::to_string(std::chrono::duration_cast<milliseconds>(since_pong).count()) + " ms";
      } else if (since_frame > settings_.idle_timeout) {
        dead = "no frame for " +
               std::to_string(std::chrono::duration_cast<milliseconds>(since_frame).count()) +
               " ms";
      }
      if (!dead.empty()) {
        logger_->warn("socket mode: connection {}: dead link ({}); dropping it", l.slot, dead);
        l.close_reason = "dead";
        l.conn->abort();
        continue;
      }
      if (l.conn->queued_bytes() == 0) {
        l.conn->ping("infra-bot " + std::to_string(++ping_counter_));
      }
    }
  }

  /// Stops reconnects and closes every link (io thread). Idempotent: links
  /// already closing (fatal, dead, replaced…) are left to finish.
  void begin_stopping() {
    if (stopping_) return;
    stopping_ = true;
    set_state(ConnectionState::stopped);
    cancel_timers();
    for (auto& [id, link] : links_) {
      if (!link.close_reason.empty()) continue;
      link.close_reason = "stopping";
      if (link.conn) link.conn->close(1000, "stopping", settings_.close_timeout);
    }
  }

  void stop_fetcher() {
    {
      std::lock_guard lock(fetch_mutex_);
      fetch_stop_ = true;
    }
    fetch_cv_.notify_all();
  }

  void cancel_timers() {
    if (keepalive_) keepalive_->cancel();
    for (auto& s : slots_) {
      if (s.timer) s.timer->cancel();
    }
    for (auto& [id, l] : links_) {
      if (l.grace) l.grace->cancel();
      if (l.stable) l.stable->cancel();
    }
  }

  void fail(const core::Error& error) {
    if (fatal_) return;
    fatal_ = true;
    logger_->error("socket mode: giving up, not reconnecting: {} ({})", error.user_message,
                   error.detail);
    cancel_timers();
    for (auto& [id, l] : links_) {
      l.close_reason = "fatal";
      if (l.conn) l.conn->close(1000, "fatal", settings_.close_timeout);
    }
    set_state(ConnectionState::failed);
    try {
      listener_.on_fatal(error);
    } catch (const std::exception& e) {
      logger_->error("socket mode: listener threw in on_fatal: {}", e.what());
    }
  }

  void update_ready() {
    int count = 0;
    for (const auto& [id, l] : links_) {
      if (l.open && l.hello) ++count;
    }
    ready_count_ = count;
    {
      std::lock_guard lock(stats_mutex_);
      stats_.ready_connections = count;
    }
    if (stopping_ || fatal_) return;
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

  SocketModeSettings settings_;
  core::http::Client& http_;
  Listener& listener_;
  core::LoggerPtr logger_;
  std::unique_ptr<detail::IoLoop> loop_;

  std::mutex lifecycle_mutex_;  ///< held across start() and stop() (not on the io thread)
  std::mutex control_mutex_;    ///< guards the three flags below
  bool started_ = false;
  bool stop_called_ = false;
  bool joined_ = false;  ///< the io thread and the fetcher are joined (or never started)
  std::atomic<bool> accepting_{true};

  std::thread fetcher_;
  std::mutex fetch_mutex_;
  std::condition_variable fetch_cv_;
  std::deque<std::size_t> fetch_queue_;
  bool fetch_stop_ = false;

  mutable std::mutex stats_mutex_;
  SocketModeStats stats_;
  std::atomic<int> ready_count_{0};

  // io thread only
  std::mt19937_64 rng_;
  std::map<std::uint64_t, Link> links_;
  std::vector<Slot> slots_;
  std::uint64_t next_link_id_ = 0;
  std::uint64_t ping_counter_ = 0;
  std::unordered_set<DedupeKey> seen_;
  std::deque<std::pair<SteadyClock::time_point, DedupeKey>> seen_order_;
  std::unordered_map<std::string, Route> routes_;
  std::deque<std::string> route_order_;
  std::deque<std::string> kept_ack_order_;
  std::size_t kept_ack_bytes_ = 0;
  std::shared_ptr<detail::TimerHandle> keepalive_;
  bool stopping_ = false;
  bool fatal_ = false;
  ConnectionState state_ = ConnectionState::stopped;
  std::promise<void>* stop_done_ = nullptr;
};

SocketModeClient::SocketModeClient(SocketModeSettings settings, core::http::Client& http,
                                   Listener& listener, core::LoggerPtr logger)
    : impl_(std::make_unique<Impl>(std::move(settings), http, listener, std::move(logger))) {}

SocketModeClient::~SocketModeClient() { impl_->stop(); }

void SocketModeClient::start() { impl_->start(); }
void SocketModeClient::stop() { impl_->stop(); }

core::Status SocketModeClient::ack(const std::string& envelope_id,
                                   std::optional<std::string> payload_json) {
  return impl_->ack(envelope_id, std::move(payload_json));
}

bool SocketModeClient::ready() const { return impl_->ready(); }
SocketModeStats SocketModeClient::stats() const { return impl_->stats(); }

}  // namespace slack
