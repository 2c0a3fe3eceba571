// GatewayClient: one Gateway link at a time, on one scheduler. The link's
// lifecycle: connect → Hello (heartbeats start) → Identify or Resume → READY /
// RESUMED → dispatches; when it ends, what comes next (resume, a new session,
// stop, fatal) was decided either when we closed it ourselves (`Next`) or from
// its close code (§2.8).

#include "discord/gateway_client.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "core/retry.hpp"
#include "gateway_payloads.hpp"

namespace discord {
namespace {

using std::chrono::milliseconds;
namespace json = core::json;

// §2.9: 120 sends per connection per 60 s; keep headroom (discord.js: 115).
constexpr std::size_t kMaxSendsPerMinute = 115;
constexpr milliseconds kSendWindow{60000};
// §2.9: max_concurrency Identifies per 5 s.
constexpr milliseconds kIdentifyWindow{5000};
// Discord says Hello at once; a link that does not is dead.
constexpr milliseconds kHelloTimeout{20000};
// READY/RESUMED normally follow Identify/Resume within a second or two.
constexpr milliseconds kReadyTimeout{30000};
// How long a closing link gets beyond close_timeout before stop() gives up.
constexpr milliseconds kCloseSlack{1500};
// An unknown session-limit reset: assume the documented 24-h window.
constexpr milliseconds kDefaultLimitWindow{24 * 60 * 60 * 1000};
// Close code for links we end to resume (never 1000/1001: they end the session).
constexpr int kResumeCloseCode = 4000;

milliseconds ms(core::MonoTime::duration d) { return std::chrono::duration_cast<milliseconds>(d); }

/// One line naming the cause of a fatal close code, or nullopt when the code is not fatal.
std::optional<std::string> fatal_close(int code) {
  switch (code) {
    case 4004:
      return "Discord rejected the bot token (close 4004): check DISCORD_BOT_TOKEN";
    case 4010:
      return "Discord refused the shard (close 4010: invalid shard)";
    case 4011:
      return "Discord requires sharding for this bot (close 4011: sharding required)";
    case 4012:
      return "Discord refused the gateway API version (close 4012: invalid API version)";
    case 4013:
      return "Discord refused the gateway intents (close 4013: invalid intents)";
    case 4014:
      return "Discord refused a privileged intent not enabled for the app (close 4014: "
             "disallowed intents)";
    default:
      return std::nullopt;
  }
}

/// Codes after which the session cannot be resumed: Identify again (§2.8).
bool needs_new_session(int code) {
  return code == 4003 || code == 4005 || code == 4007 || code == 4009;
}

}  // namespace

core::Result<GatewayBot> parse_gateway_bot(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc) return doc.error();
  if (!doc->IsObject()) {
    return core::make_error(core::ErrorCode::invalid_input, "Discord's /gateway/bot answer is bad",
                            "not a JSON object");
  }
  GatewayBot bot;
  auto url = json::get_string(*doc, "url");
  if (!url || url->empty()) {
    return core::make_error(core::ErrorCode::invalid_input, "Discord's /gateway/bot answer is bad",
                            "no url");
  }
  bot.url = std::string(*url);
  bot.shards = static_cast<int>(json::get_int(*doc, "shards").value_or(1));
  if (const auto* limit = json::get_object(*doc, "session_start_limit")) {
    bot.total = static_cast<int>(json::get_int(*limit, "total").value_or(bot.total));
    bot.remaining = static_cast<int>(json::get_int(*limit, "remaining").value_or(bot.remaining));
    bot.reset_after = milliseconds(json::get_int(*limit, "reset_after").value_or(0));
    bot.max_concurrency =
        std::max<int>(1, static_cast<int>(json::get_int(*limit, "max_concurrency").value_or(1)));
  }
  return bot;
}

class GatewayClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(GatewaySettings settings, core::Scheduler& scheduler, slack::Connector& connector,
       core::RandomSource& random, std::function<core::Result<GatewayBot>()> fetch,
       GatewayListener& listener, core::LoggerPtr logger)
      : settings_(std::move(settings)),
        scheduler_(scheduler),
        connector_(connector),
        random_(random),
        fetch_(std::move(fetch)),
        listener_(listener),
        logger_(logger ? std::move(logger) : core::make_null_logger()) {}

  ~Impl() { join_fetch(); }

  /// From ~GatewayClient: no task of ours runs any more; a live link is cut
  /// on the scheduler's thread.
  void shutdown() {
    {
      std::lock_guard lock(fetch_mutex_);
      destroyed_ = true;
    }
    join_fetch();
    if (link_ && link_->conn) {
      scheduler_.post([conn = link_->conn] { conn->abort(); });
    }
  }

  void start() {
    if (started_.exchange(true)) return;
    post([this] {
      if (stopping_) return;
      begin_new_session("start");
    });
  }

  void stop(std::function<void()> on_stopped) {
    post([this, on_stopped = std::move(on_stopped)]() mutable {
      begin_stopping(std::move(on_stopped));
    });
  }

  bool ready() const { return ready_.load(); }
  bool fatal() const { return fatal_.load(); }
  Counters counters() const {
    Counters c;
    c.connects = connects_.load();
    c.identifies = identifies_.load();
    c.resumes = resumes_.load();
    c.zombie_reconnects = zombies_.load();
    c.dispatches = dispatches_.load();
    return c;
  }

 private:
  /// What follows when the current link ends.
  enum class Next { by_close_code, resume, new_session, stop };

  struct Link {
    std::uint64_t id = 0;
    slack::ConnectionPtr conn;
    bool open = false;
    bool hello = false;
    bool identify = false;    ///< this link identifies (else it resumes)
    bool sent_start = false;  ///< Identify/Resume sent
    bool was_ready = false;
    bool awaiting_ack = false;
    bool ended = false;
    bool closing = false;    ///< we closed or cut it
    bool immediate = false;  ///< reconnect without backoff when it ends
    Next next = Next::by_close_code;
    milliseconds interval{0};
    core::Timer heartbeat_timer;
    core::Timer hello_timer;
    core::Timer ready_timer;
    core::Timer identify_timer;
    core::Timer cut_timer;  ///< a close handshake that hangs is cut
    std::deque<core::MonoTime> sends;
  };

  template <class F>
  void post(F fn) {
    scheduler_.post([weak = weak_from_this(), fn = std::move(fn)]() mutable {
      if (auto self = weak.lock()) fn();
    });
  }
  template <class F>
  core::Timer after(milliseconds delay, F fn) {
    return scheduler_.after(delay, [weak = weak_from_this(), fn = std::move(fn)]() mutable {
      if (auto self = weak.lock()) fn();
    });
  }

  // ---- sessions ----------------------------------------------------------

  /// Drops the session and connects to Identify: fetches /gateway/bot first
  /// when its URL is not cached yet.
  void begin_new_session(const std::string& why) {
    session_.reset();
    seq_.reset();
    if (!gateway_url_) {
      fetch_gateway_bot();
      return;
    }
    logger_->info("discord gateway: new session ({})", why);
    connect_when_identify_allowed();
  }

  void fetch_gateway_bot() {
    if (fetching_) return;
    fetching_ = true;
    join_fetch();
    std::lock_guard lock(fetch_mutex_);
    if (destroyed_) return;
    // Blocking HTTP: never on the scheduler's thread. The result is posted back.
    const bool hold = static_cast<bool>(settings_.fetch_runner);
    auto job = [this, weak = weak_from_this(), hold] {
      // Our own thread is joined before the client goes; a runner's job
      // keeps the client alive while it runs, and does nothing once it is gone.
      std::shared_ptr<Impl> keep;
      if (hold) {
        keep = weak.lock();
        if (!keep) return;
      }
      core::Result<GatewayBot> result = core::make_error(
          core::ErrorCode::internal, "no gateway fetcher", "fetch_gateway_bot not set");
      try {
        if (fetch_) result = fetch_();
      } catch (const std::exception& e) {
        result = core::make_error(core::ErrorCode::internal, "GET /gateway/bot failed", e.what());
      }
      scheduler_.post([weak, result = std::move(result)]() mutable {
        if (auto self = weak.lock()) self->on_gateway_bot(std::move(result));
      });
    };
    if (hold) {
      settings_.fetch_runner(std::move(job));
    } else {
      fetch_thread_ = std::thread(std::move(job));
    }
  }

  void join_fetch() {
    if (fetch_thread_.joinable() && fetch_thread_.get_id() != std::this_thread::get_id()) {
      fetch_thread_.join();
    }
  }

  void on_gateway_bot(core::Result<GatewayBot> result) {
    fetching_ = false;
    if (stopping_ || fatal_) return;
    if (!result) {
      const auto& error = result.error();
      if (error.code == core::ErrorCode::denied || error.code == core::ErrorCode::config) {
        fail_fatal("Discord rejected the bot token (GET /gateway/bot: " +
                       (error.detail.empty() ? error.user_message : error.detail) +
                       "): check DISCORD_BOT_TOKEN",
                   error.code);
        return;
      }
      const auto delay = backoff();
      logger_->warn("discord gateway: GET /gateway/bot failed ({}); retrying in {} ms",
                    error.detail.empty() ? error.user_message : error.detail, delay.count());
      reconnect_timer_ = after(delay, [this] {
        if (!stopping_ && !fatal_) fetch_gateway_bot();
      });
      return;
    }
    const GatewayBot& bot = *result;
    gateway_url_ = bot.url;
    max_concurrency_ = std::max(1, bot.max_concurrency);
    limit_total_ = bot.total;
    limit_remaining_ = bot.remaining;
    limit_reset_at_ =
        scheduler_.now() + (bot.reset_after.count() > 0 ? bot.reset_after : kDefaultLimitWindow);
    logger_->info(
        "discord gateway: /gateway/bot: {} (session starts {}/{} left, resets in {} ms, "
        "max_concurrency {})",
        slack::redact_url(bot.url), bot.remaining, bot.total, bot.reset_after.count(),
        bot.max_concurrency);
    if (session_) {
      connect(true);  // (only when a resume waited for the fetch: not today)
    } else {
      connect_when_identify_allowed();
    }
  }

  /// How long until an Identify is allowed (session starts left, and
  /// max_concurrency per 5 s); zero: now.
  milliseconds identify_wait(bool log) {
    const auto now = scheduler_.now();
    if (now >= limit_reset_at_) {
      limit_remaining_ = limit_total_;
      limit_reset_at_ = now + kDefaultLimitWindow;
    }
    if (limit_remaining_ <= 0) {
      const auto wait = ms(limit_reset_at_ - now);
      if (log) {
        logger_->warn(
            "discord gateway: no session starts left (0 of {}); waiting {} ms (reset_after) "
            "before identifying",
            limit_total_, wait.count());
      }
      return std::max(wait, milliseconds(1));
    }
    while (!identify_times_.empty() && now - identify_times_.front() >= kIdentifyWindow) {
      identify_times_.pop_front();
    }
    if (static_cast<int>(identify_times_.size()) >= max_concurrency_) {
      const auto wait = ms(identify_times_.front() + kIdentifyWindow - now);
      if (log) {
        logger_->info(
            "discord gateway: {} identify(s) in the last 5 s (max_concurrency {}); "
            "waiting {} ms",
            identify_times_.size(), max_concurrency_, wait.count());
      }
      return std::max(wait, milliseconds(1));
    }
    return milliseconds(0);
  }

  void connect_when_identify_allowed() {
    if (stopping_ || fatal_) return;
    const auto wait = identify_wait(true);
    if (wait.count() > 0) {
      reconnect_timer_ = after(wait, [this] {
        if (limit_remaining_ <= 0 && scheduler_.now() >= limit_reset_at_) {
          limit_remaining_ = limit_total_;
          limit_reset_at_ = scheduler_.now() + kDefaultLimitWindow;
        }
        connect_when_identify_allowed();
      });
      return;
    }
    connect(false);
  }

  milliseconds backoff() {
    const auto base = std::max(settings_.backoff_min, milliseconds(1));
    const auto cap = std::max(base, settings_.backoff_max);
    // The doubling step, capped (core::retry's, with the whole step: unit 1).
    const auto step = core::retry::full_jitter(base, cap, attempts_++, 1.0);
    // Jitter: between half and all of the step (never an immediate retry loop).
    return milliseconds(static_cast<std::int64_t>(static_cast<double>(step.count()) *
                                                  (0.5 + 0.5 * random_.unit())));
  }

  // ---- links -------------------------------------------------------------

  void connect(bool resume) {
    if (stopping_ || fatal_) return;
    reconnect_timer_.reset();
    const std::string base = resume && session_ && !session_->resume_gateway_url.empty()
                                 ? session_->resume_gateway_url
                                 : gateway_url_.value_or("");
    if (base.empty()) {
      fetch_gateway_bot();
      return;
    }
    const std::string url = detail::connect_url(base);
    auto link = std::make_shared<Link>();
    link->id = ++link_ids_;
    link->identify = !resume || !session_;
    link_ = link;
    connects_.fetch_add(1);
    logger_->info("discord gateway: connecting to {} ({})", slack::redact_url(url),
                  link->identify ? "identify" : "resume");
    slack::ConnectOptions options;
    options.ca_file = settings_.ca_file;
    const std::uint64_t id = link->id;
    slack::ConnectionCallbacks callbacks;
    callbacks.on_open = callback(id, [this](Link& l) { on_open(l); });
    callbacks.on_message = [this, weak = weak_from_this(), id](std::string payload, bool text) {
      auto self = weak.lock();
      if (!self || !link_ || link_->id != id || link_->ended) return;
      on_message(*link_, payload, text);
    };
    callbacks.on_pong = [](std::string) {};
    callbacks.on_ping = [] {};
    callbacks.on_close = [this, weak = weak_from_this(), id](int code, std::string why) {
      auto self = weak.lock();
      if (!self || !link_ || link_->id != id || link_->ended) return;
      on_end(*link_, code, why, true);
    };
    callbacks.on_fail = [this, weak = weak_from_this(), id](std::string why) {
      auto self = weak.lock();
      if (!self || !link_ || link_->id != id || link_->ended) return;
      on_end(*link_, 0, why, false);
    };
    link->conn = connector_.connect(url, options, std::move(callbacks));
    // A connector that cannot start reports on_fail (posted).
  }

  template <class F>
  std::function<void()> callback(std::uint64_t id, F fn) {
    return [this, weak = weak_from_this(), id, fn = std::move(fn)]() mutable {
      auto self = weak.lock();
      if (!self || !link_ || link_->id != id || link_->ended) return;
      fn(*link_);
    };
  }

  void on_open(Link& link) {
    link.open = true;
    if (link.next == Next::stop) {
      link.conn->close(1000, "shutting down", settings_.close_timeout);
      return;
    }
    const std::uint64_t id = link.id;
    link.hello_timer = after(kHelloTimeout, [this, id] {
      if (!link_ || link_->id != id || link_->ended || link_->hello) return;
      logger_->warn("discord gateway: no Hello within {} ms of opening; reconnecting",
                    kHelloTimeout.count());
      drop_link(*link_, Next::by_close_code);
    });
  }

  void on_message(Link& link, const std::string& payload, bool text) {
    if (!text) {
      logger_->warn("discord gateway: skipped a binary frame of {} bytes (no compression asked)",
                    payload.size());
      return;
    }
    auto frame = detail::parse_frame(payload);
    if (!frame) {
      logger_->warn("discord gateway: skipped a frame: {}", frame.error().detail);
      return;
    }
    switch (frame->op) {
      case 0:
        on_dispatch(link, *frame);
        break;
      case 1:  // the server asks for a heartbeat now (§2.4)
        if (link.hello) send_heartbeat(link);
        break;
      case 7:
        logger_->info("discord gateway: Reconnect (op 7): reconnecting to resume");
        close_link(link, session_ ? Next::resume : Next::new_session, "reconnect requested");
        break;
      case 9:
        on_invalid_session(link, frame->resumable);
        break;
      case 10:
        on_hello(link, frame->heartbeat_interval_ms);
        break;
      case 11:
        link.awaiting_ack = false;
        break;
      default:
        logger_->debug("discord gateway: ignored op {}", frame->op);
        break;
    }
  }

  void on_hello(Link& link, std::int64_t interval_ms) {
    if (link.hello || link.closing) return;
    if (interval_ms <= 0) {
      logger_->warn("discord gateway: Hello without a heartbeat_interval; reconnecting");
      drop_link(link, Next::by_close_code);
      return;
    }
    link.hello = true;
    if (link.hello_timer) link.hello_timer->cancel();
    link.interval = milliseconds(interval_ms);
    // The first heartbeat after interval · jitter, then every interval (§2.4).
    const auto first =
        milliseconds(static_cast<std::int64_t>(static_cast<double>(interval_ms) * random_.unit()));
    schedule_heartbeat(link, first);
    if (link.identify) {
      send_identify(link);
    } else {
      send_resume(link);
    }
  }

  void send_identify(Link& link) {
    if (link.closing) return;
    const auto wait = identify_wait(true);
    if (wait.count() > 0) {
      const std::uint64_t id = link.id;
      link.identify_timer = after(wait, [this, id] {
        if (link_ && link_->id == id && !link_->ended) send_identify(*link_);
      });
      return;
    }
    if (!send(link, detail::identify_payload(settings_.token, settings_.intents))) return;
    identify_times_.push_back(scheduler_.now());
    --limit_remaining_;
    identifies_.fetch_add(1);
    link.sent_start = true;
    logger_->info("discord gateway: Identify sent");
    arm_ready_timer(link);
  }

  void send_resume(Link& link) {
    if (!session_) {
      link.identify = true;
      send_identify(link);
      return;
    }
    if (!send(link, detail::resume_payload(settings_.token, session_->session_id, seq_))) return;
    resumes_.fetch_add(1);
    link.sent_start = true;
    logger_->info("discord gateway: Resume sent (session {}, seq {})", session_->session_id,
                  seq_ ? std::to_string(*seq_) : std::string("null"));
    arm_ready_timer(link);
  }

  void arm_ready_timer(Link& link) {
    const std::uint64_t id = link.id;
    link.ready_timer = after(kReadyTimeout, [this, id] {
      if (!link_ || link_->id != id || link_->ended || link_->was_ready) return;
      logger_->warn("discord gateway: no READY/RESUMED within {} ms; reconnecting",
                    kReadyTimeout.count());
      close_link(*link_, Next::by_close_code, "no ready");
    });
  }

  void schedule_heartbeat(Link& link, milliseconds delay) {
    const std::uint64_t id = link.id;
    link.heartbeat_timer = after(delay, [this, id] {
      if (!link_ || link_->id != id || link_->ended || link_->closing) return;
      Link& l = *link_;
      if (l.awaiting_ack) {
        // §2.4 zombie rule: no ACK since the previous heartbeat.
        zombies_.fetch_add(1);
        logger_->warn(
            "discord gateway: no heartbeat ACK within {} ms: zombie link; reconnecting "
            "to resume",
            l.interval.count());
        drop_link(l, session_ ? Next::resume : Next::new_session, true);
        return;
      }
      send_heartbeat(l);
      schedule_heartbeat(l, l.interval);
    });
  }

  void send_heartbeat(Link& link) {
    if (send(link, detail::heartbeat_payload(seq_))) link.awaiting_ack = true;
  }

  /// Sends one payload, keeping under the send limit (§2.9). False: not sent.
  bool send(Link& link, const std::string& payload) {
    if (!link.conn || !link.open) return false;
    const auto now = scheduler_.now();
    while (!link.sends.empty() && now - link.sends.front() >= kSendWindow) link.sends.pop_front();
    if (link.sends.size() >= kMaxSendsPerMinute) {
      logger_->warn("discord gateway: {} sends in the last 60 s: one payload not sent",
                    link.sends.size());
      return false;
    }
    link.sends.push_back(now);
    link.conn->send_text(payload);
    return true;
  }

  void on_dispatch(Link& link, const detail::GatewayFrame& frame) {
    if (frame.s) seq_ = frame.s;
    dispatches_.fetch_add(1);
    if (frame.t == "READY") {
      auto ready = detail::parse_ready(frame.d_json);
      if (!ready) {
        logger_->warn("discord gateway: bad READY ({}); reconnecting", ready.error().detail);
        close_link(link, Next::new_session, "bad ready");
        return;
      }
      session_ = *ready;
      info_ = ReadyInfo{ready->session_id, ready->application_id, ready->user_id};
      became_ready(link, false);
    } else if (frame.t == "RESUMED") {
      became_ready(link, true);
    }
    try {
      if (frame.t == "READY" || frame.t == "RESUMED") {
        listener_.on_ready(info_, frame.t == "RESUMED");
      }
      listener_.on_dispatch(frame.t, frame.d_json);
    } catch (const std::exception& e) {
      logger_->error("discord gateway: listener threw on {}: {}", frame.t, e.what());
    }
  }

  void became_ready(Link& link, bool resumed) {
    link.was_ready = true;
    if (link.ready_timer) link.ready_timer->cancel();
    attempts_ = 0;
    ready_.store(true);
    logger_->info("discord gateway: {} (session {}, application {}, bot user {})",
                  resumed ? "RESUMED" : "READY", info_.session_id, info_.application_id,
                  info_.user_id);
  }

  void on_invalid_session(Link& link, bool resumable) {
    if (resumable && session_) {
      logger_->info("discord gateway: Invalid Session (resumable); reconnecting to resume");
      close_link(link, Next::resume, "invalid session");
      return;
    }
    logger_->info("discord gateway: Invalid Session (not resumable); a new session follows");
    session_.reset();
    seq_.reset();
    close_link(link, Next::new_session, "invalid session");
  }

  /// Starts a close handshake (never 1000/1001 unless stopping: the session
  /// stays resumable); `next` runs when it ends.
  void close_link(Link& link, Next next, const std::string& reason) {
    if (link.closing && next != Next::stop) return;
    link.closing = true;
    link.next = next;
    ready_.store(false);
    cancel_timers(link);
    const int code = next == Next::stop ? 1000 : kResumeCloseCode;
    if (next != Next::stop) {
      // The transport cuts a hanging close itself; this bounds any Connector.
      const std::uint64_t id = link.id;
      link.cut_timer = after(settings_.close_timeout + kCloseSlack, [this, id] {
        if (!link_ || link_->id != id || link_->ended) return;
        logger_->warn("discord gateway: close not finished within {} ms; cutting the link",
                      (settings_.close_timeout + kCloseSlack).count());
        if (link_->conn) link_->conn->abort();
      });
    }
    if (link.conn) link.conn->close(code, reason, settings_.close_timeout);
  }

  /// Cuts the TCP connection at once (a dead link); `next` runs when it ends
  /// (by_close_code: as for a TCP drop, with backoff), at once when `immediate`.
  void drop_link(Link& link, Next next, bool immediate = false) {
    if (link.closing) return;
    link.closing = true;
    link.next = next;
    link.immediate = immediate;
    ready_.store(false);
    cancel_timers(link);
    if (link.conn) link.conn->abort();
  }

  void cancel_timers(Link& link) {
    for (auto* timer : {&link.heartbeat_timer, &link.hello_timer, &link.ready_timer,
                        &link.identify_timer, &link.cut_timer}) {
      if (*timer) (*timer)->cancel();
      timer->reset();
    }
  }

  void on_end(Link& link, int code, const std::string& why, bool was_open) {
    link.ended = true;
    cancel_timers(link);
    ready_.store(false);
    const Next next = link.next;
    const bool was_ready = link.was_ready;
    const bool immediate = link.immediate;
    if (was_open) {
      logger_->info("discord gateway: link closed ({}{}{})", code, why.empty() ? "" : ": ", why);
    } else {
      logger_->warn("discord gateway: connecting failed: {}", why);
    }
    link_.reset();  // `link` is gone from here on
    if (next == Next::stop || stopping_) {
      finish_stopping();
      return;
    }
    if (fatal_) return;
    if (was_open && code != 0) {
      if (auto line = fatal_close(code)) {
        fail_fatal(*line, core::ErrorCode::config);
        return;
      }
    }
    switch (next) {
      case Next::resume:
        // Reconnects we chose (op 7, op 9 true, a zombie): at once after a
        // working session, with backoff otherwise (no tight loop).
        reconnect(true, was_ready || immediate ? milliseconds(0) : backoff());
        return;
      case Next::new_session: {
        // §2.7: wait a random 1–5 s before a new Identify.
        const auto wait = milliseconds(1000 + static_cast<std::int64_t>(4000.0 * random_.unit()));
        session_.reset();
        seq_.reset();
        reconnect(false, wait);
        return;
      }
      default:
        break;
    }
    if (was_open && code != 0) {
      if (needs_new_session(code)) {
        session_.reset();
        seq_.reset();
        reconnect(false, backoff());
        return;
      }
    }
    reconnect(session_.has_value(), backoff());
  }

  void reconnect(bool resume, milliseconds delay) {
    if (resume && session_) {
      logger_->info("discord gateway: resuming in {} ms", delay.count());
      reconnect_timer_ = after(delay, [this] {
        if (session_) {
          connect(true);
        } else {
          begin_new_session("session lost");
        }
      });
      return;
    }
    logger_->info("discord gateway: new session in {} ms", delay.count());
    reconnect_timer_ = after(delay, [this] { begin_new_session("reconnect"); });
  }

  void fail_fatal(const std::string& line, core::ErrorCode code) {
    if (fatal_.exchange(true)) return;
    ready_.store(false);
    if (reconnect_timer_) reconnect_timer_->cancel();
    logger_->error("discord gateway: stopped: {}", line);
    try {
      listener_.on_fatal(core::make_error(code, line, line));
    } catch (const std::exception& e) {
      logger_->error("discord gateway: listener threw in on_fatal: {}", e.what());
    }
  }

  // ---- stopping ------------------------------------------------------------

  void begin_stopping(std::function<void()> on_stopped) {
    if (on_stopped) stop_waiters_.push_back(std::move(on_stopped));
    if (stopping_) {
      if (!link_) finish_stopping();
      return;
    }
    stopping_ = true;
    ready_.store(false);
    if (reconnect_timer_) reconnect_timer_->cancel();
    if (!link_) {
      finish_stopping();
      return;
    }
    cut_timer_ = after(settings_.close_timeout + kCloseSlack, [this] {
      if (link_) {
        link_->ended = true;
        if (link_->conn) link_->conn->abort();
        link_.reset();
      }
      finish_stopping();
    });
    if (!link_->open) {
      link_->next = Next::stop;  // closed as soon as it opens (or fails)
      if (link_->conn) link_->conn->close(1000, "shutting down", settings_.close_timeout);
      return;
    }
    close_link(*link_, Next::stop, "shutting down");
  }

  void finish_stopping() {
    if (cut_timer_) cut_timer_->cancel();
    auto waiters = std::move(stop_waiters_);
    stop_waiters_.clear();
    for (auto& waiter : waiters) {
      try {
        waiter();
      } catch (const std::exception& e) {
        logger_->error("discord gateway: on_stopped threw: {}", e.what());
      }
    }
  }

  GatewaySettings settings_;
  core::Scheduler& scheduler_;
  slack::Connector& connector_;
  core::RandomSource& random_;
  std::function<core::Result<GatewayBot>()> fetch_;
  GatewayListener& listener_;
  core::LoggerPtr logger_;

  std::atomic<bool> started_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> fatal_{false};
  std::atomic<std::uint64_t> connects_{0};
  std::atomic<std::uint64_t> identifies_{0};
  std::atomic<std::uint64_t> resumes_{0};
  std::atomic<std::uint64_t> zombies_{0};
  std::atomic<std::uint64_t> dispatches_{0};

  std::mutex fetch_mutex_;
  bool destroyed_ = false;  ///< under fetch_mutex_
  std::thread fetch_thread_;

  // scheduler thread only
  bool fetching_ = false;
  bool stopping_ = false;
  std::optional<std::string> gateway_url_;
  int max_concurrency_ = 1;
  int limit_total_ = 1000;
  int limit_remaining_ = 1000;
  core::MonoTime limit_reset_at_{};
  std::deque<core::MonoTime> identify_times_;
  std::optional<detail::ReadyFields> session_;
  std::optional<std::int64_t> seq_;
  ReadyInfo info_;
  int attempts_ = 0;
  std::uint64_t link_ids_ = 0;
  std::shared_ptr<Link> link_;
  core::Timer reconnect_timer_;
  core::Timer cut_timer_;
  std::vector<std::function<void()>> stop_waiters_;
};

GatewayClient::GatewayClient(GatewaySettings settings, core::Scheduler& scheduler,
                             slack::Connector& connector, core::RandomSource& random,
                             std::function<core::Result<GatewayBot>()> fetch_gateway_bot,
                             GatewayListener& listener, core::LoggerPtr logger)
    : impl_(std::make_shared<Impl>(std::move(settings), scheduler, connector, random,
                                   std::move(fetch_gateway_bot), listener, std::move(logger))) {}

GatewayClient::~GatewayClient() { impl_->shutdown(); }

void GatewayClient::start() { impl_->start(); }
void GatewayClient::stop(std::function<void()> on_stopped) { impl_->stop(std::move(on_stopped)); }
bool GatewayClient::ready() const { return impl_->ready(); }
bool GatewayClient::fatal() const { return impl_->fatal(); }
GatewayClient::Counters GatewayClient::counters() const { return impl_->counters(); }

}  // namespace discord
