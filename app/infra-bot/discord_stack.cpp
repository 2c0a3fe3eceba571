#include "discord_stack.hpp"

#include <atomic>
#include <future>

#include "core/json.hpp"

namespace app {

// Hands INTERACTION_CREATE to the front end; reports what the client cannot fix.
class DiscordStack::Listener final : public discord::GatewayListener {
 public:
  Listener(discord_front::Front& front, core::LoggerPtr logger)
      : front_(front), logger_(std::move(logger)) {}
  void on_ready(const discord::ReadyInfo& ready, bool resumed) override {
    logger_->info("discord gateway: {} (application {})", resumed ? "resumed" : "ready",
                  ready.application_id);
    ever_ready_ = true;
  }
  bool ever_ready() const { return ever_ready_; }
  void on_dispatch(std::string_view type, std::string_view data_json) override {
    if (type == "INTERACTION_CREATE") front_.on_interaction(data_json);
  }
  void on_fatal(const core::Error& error) override {
    logger_->critical("discord cannot continue: {}", error.user_message);
    fatal_ = true;
  }
  bool fatal() const { return fatal_; }

 private:
  discord_front::Front& front_;
  core::LoggerPtr logger_;
  std::atomic<bool> fatal_{false};
  std::atomic<bool> ever_ready_{false};
};

DiscordStack::DiscordStack(const core::Config& config, infra::CommandRunner& runner,
                           infra::SharedState& state, bool across_front_ends,
                           infra::ConversationOpener* opener, const std::string& replica,
                           Seams seams, core::LoggerPtr logger, core::LoggerPtr audit,
                           const core::Redactor& redactor)
    : logger_(logger) {
  http_ = core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file});
  discord::RestSettings rest;
  rest.api_url = config.discord_api_url;
  rest.bot_token = config.discord_bot_token;
  rest.version = INFRA_BOT_VERSION;
  rest_ = std::make_unique<discord::RestClient>(rest, *http_, seams.clock, logger);
  auto settings = discord_front::FrontSettings::from(config);
  settings.state = &state;
  settings.across_front_ends = across_front_ends;
  settings.opener = opener;
  settings.replica = replica;
  settings.redactor = redactor;
  front_ =
      std::make_unique<discord_front::Front>(std::move(settings), runner, *rest_, seams.scheduler,
                                             seams.clock, seams.metrics, logger, std::move(audit));
  listener_ = std::make_unique<Listener>(*front_, logger);
  discord::GatewaySettings gateway;
  gateway.token = config.discord_bot_token;
  gateway.ca_file = config.ssl_cert_file;
  gateway_ = std::make_unique<discord::GatewayClient>(
      gateway, seams.scheduler, seams.connector, seams.random,
      [rest = rest_.get()]() -> core::Result<discord::GatewayBot> {
        auto answer = rest->call("GET", "/gateway/bot");
        if (!answer) return answer.error();
        return discord::parse_gateway_bot(answer->body);
      },
      *listener_, logger);
}

DiscordStack::~DiscordStack() {
  gateway_.reset();  // no dispatch reaches the front end any more
  front_.reset();
}

void DiscordStack::start() { gateway_->start(); }
bool DiscordStack::ready() const { return gateway_->ready(); }
bool DiscordStack::ever_ready() const { return listener_->ever_ready(); }
bool DiscordStack::fatal() const { return listener_->fatal() || gateway_->fatal(); }

void DiscordStack::stop(std::chrono::milliseconds timeout) {
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  gateway_->stop([closed] { closed->set_value(); });
  if (done.wait_for(timeout) != std::future_status::ready) {
    logger_->warn("discord gateway: still closing at exit; dropping it");
  }
}

}  // namespace app
