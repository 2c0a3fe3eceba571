#pragma once
// `infra-bot run`'s Discord side (issue 17): the REST client, the front end
// and the Gateway session that feeds it, started when DISCORD_BOT_TOKEN is set.

#include <chrono>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/random.hpp"
#include "core/redactor.hpp"
#include "core/scheduler.hpp"
#include "discord/gateway_client.hpp"
#include "discord/rest_client.hpp"
#include "discord_front/front.hpp"
#include "infra/command_runner.hpp"
#include "infra/conversation.hpp"
#include "infra/shared_state.hpp"
#include "slack/connector.hpp"

namespace app {

class DiscordStack {
 public:
  struct Seams {
    core::Scheduler& scheduler;
    slack::Connector& connector;
    core::RandomSource& random;
    const core::Clock& clock;
    core::metrics::Registry& metrics;
  };
  DiscordStack(const core::Config& config, infra::CommandRunner& runner, infra::SharedState& state,
               bool across_front_ends, infra::ConversationOpener* opener,
               const std::string& replica, Seams seams, core::LoggerPtr logger,
               core::LoggerPtr audit, const core::Redactor& redactor);
  ~DiscordStack();

  void start();
  /// The Gateway session is ready (READY or RESUMED, link alive).
  bool ready() const;
  /// It has been ready at least once (a reconnect since is not a failed start).
  bool ever_ready() const;
  /// It stopped for good (a revoked token, close 4004, …): logged once.
  bool fatal() const;
  discord_front::Front& front() { return *front_; }
  /// Closes the Gateway session, waiting at most `timeout`.
  void stop(std::chrono::milliseconds timeout);

 private:
  class Listener;
  core::LoggerPtr logger_;
  std::unique_ptr<core::http::Client> http_;
  std::unique_ptr<discord::RestClient> rest_;
  std::unique_ptr<discord_front::Front> front_;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<discord::GatewayClient> gateway_;
};

}  // namespace app
