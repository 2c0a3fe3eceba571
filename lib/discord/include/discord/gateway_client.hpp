#pragma once

// Discord's Gateway (../shared/notes/discord.md §2): one WebSocket session
// that receives dispatches (INTERACTION_CREATE). GET /gateway/bot for the URL
// and the session start limit; Identify with intents 0 (interactions need
// none); heartbeats (the first jittered); a missing heartbeat ACK → a zombie
// link: reconnect and Resume; op 7 Reconnect and op 9 Invalid Session as
// documented; fatal close codes (4004, 4010–4014) stop it with one line;
// other closes reconnect with backoff. Identify respects max_concurrency and
// the remaining session starts. Knows no /infra.
//
// Threading: runs on one core::Scheduler (the AsioTransport's io thread in
// the service), whose Connector opens its sockets; the listener's callbacks
// run there and must not block. fetch_gateway_bot is a blocking HTTP call and
// is never made on the scheduler's thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/scheduler.hpp"
#include "slack/connector.hpp"

namespace discord {

/// GET /gateway/bot's answer.
struct GatewayBot {
  std::string url;  ///< wss://gateway.discord.gg (no query)
  int shards = 1;
  int total = 1000;
  int remaining = 1000;
  std::chrono::milliseconds reset_after{0};
  int max_concurrency = 1;
};
core::Result<GatewayBot> parse_gateway_bot(std::string_view json);

struct GatewaySettings {
  std::string token;  ///< the bot token (secret: never logged)
  int intents = 0;
  std::string ca_file;  ///< SSL_CERT_FILE
  /// Reconnect backoff: from `backoff_min`, doubling to `backoff_max`, jittered.
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{60000};
  /// Close frames not answered within this are cut.
  std::chrono::milliseconds close_timeout{2000};
  /// Runs the blocking fetch_gateway_bot call (the job given) off the
  /// scheduler's thread. Empty: on a thread of the client's own, joined by
  /// the destructor. Tests pass one that runs the job when they say.
  std::function<void(std::function<void()> job)> fetch_runner;
};

/// What READY said.
struct ReadyInfo {
  std::string session_id;
  std::string application_id;
  std::string user_id;  ///< the bot user
};

class GatewayListener {
 public:
  virtual ~GatewayListener() = default;
  /// A session is ready (READY) or resumed (RESUMED: `resumed` true).
  virtual void on_ready(const ReadyInfo& ready, bool resumed) {
    (void)ready;
    (void)resumed;
  }
  /// One dispatch (op 0): its `t` and its `d` as JSON text. Scheduler thread.
  virtual void on_dispatch(std::string_view type, std::string_view data_json) = 0;
  /// The gateway stopped for good (a fatal close code, no session starts
  /// left, an unusable token): one clear line in `error.user_message`.
  virtual void on_fatal(const core::Error& error) = 0;
};

class GatewayClient {
 public:
  GatewayClient(GatewaySettings settings, core::Scheduler& scheduler, slack::Connector& connector,
                core::RandomSource& random,
                std::function<core::Result<GatewayBot>()> fetch_gateway_bot,
                GatewayListener& listener, core::LoggerPtr logger);
  ~GatewayClient();
  GatewayClient(const GatewayClient&) = delete;
  GatewayClient& operator=(const GatewayClient&) = delete;

  /// Connects (any thread; returns at once).
  void start();
  /// Closes the session with 1000 (it ends) and runs `on_stopped` once closed.
  void stop(std::function<void()> on_stopped);
  /// A session is READY or RESUMED and its link is alive (for /readyz).
  bool ready() const;
  /// It stopped for good (on_fatal was called).
  bool fatal() const;

  struct Counters {
    std::uint64_t connects = 0;
    std::uint64_t identifies = 0;
    std::uint64_t resumes = 0;
    std::uint64_t zombie_reconnects = 0;
    std::uint64_t dispatches = 0;
  };
  Counters counters() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace discord
