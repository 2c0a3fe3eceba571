// infra-bot: the /infra Slack ChatOps service and its operator subcommands
// (design §6). main() only parses arguments, builds the Config once and wires.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <CLI/CLI.hpp>

#include "aws/credentials.hpp"
#include "aws/function_ref.hpp"
#include "aws/iam_policy.hpp"
#include "aws/lambda_client.hpp"
#include "aws/lambda_runtime.hpp"
#include "aws/sts_client.hpp"
#include "console.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/emf.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metadata_signer.hpp"
#include "core/metrics.hpp"
#include "core/random.hpp"
#include "core/redactor.hpp"
#include "core/scheduler.hpp"
#include "core/status_server.hpp"
#include "core/strings.hpp"
#include "discord_stack.hpp"
#include "doctor.hpp"
#include "infra/aws_backend.hpp"
#include "infra/command_runner.hpp"
#include "infra/lambda_backend.hpp"
#include "infra/metered_backend.hpp"
#include "infra/policy.hpp"
#include "infra/routed_backend.hpp"
#include "infra/simulated_backend.hpp"
#include "infra/whitelist_sweeper.hpp"
#include "lambda_function.hpp"
#include "register.hpp"
#include "secrets.hpp"
#include "slack/asio_transport.hpp"
#include "slack/blockkit.hpp"
#include "slack/connection_opener.hpp"
#include "slack/redacting_web_api.hpp"
#include "slack/socket_mode_client.hpp"
#include "slack/web_api.hpp"
#include "slack_front/app.hpp"
#include "state_stack.hpp"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitConfig = 2;

core::Redactor make_redactor(const core::Config& config, const core::Environment& env) {
  core::Redactor redactor(config.secrets());
  for (const char* name :
       {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}) {
    if (auto value = env.get(name)) redactor.add_secret(*value);
  }
  return redactor;
}

std::optional<core::Config> load(const core::Environment& env, core::RunMode mode) {
  auto config = core::load_config(env, mode);
  if (!config) {
    std::cerr << "infra-bot: " << config.error().user_message << "\n";
    return std::nullopt;
  }
  return std::move(config).value();
}

// The Lambdas of the configuration: the orchestrator, and the IP whitelist
// Lambda when there is one (without it whitelist commands are refused).
struct LambdaFunctions {
  aws::FunctionRef orchestrator;
  std::optional<aws::FunctionRef> whitelist;
};

// Each given ARN (or a name with AWS_REGION) parsed; nullopt after printing
// which variable is wrong.
std::optional<LambdaFunctions> lambda_functions(const core::Config& config,
                                                std::string_view command) {
  const auto parse = [&](const char* name,
                         const std::string& value) -> std::optional<aws::FunctionRef> {
    auto ref = aws::parse_function_ref(value, config.aws_region);
    if (!ref) {
      std::cerr << "infra-bot " << command << ": " << name << ": " << ref.error().user_message
                << "\n";
      return std::nullopt;
    }
    return std::move(ref).value();
  };
  if (config.orchestrator_lambda_arn.empty()) {
    std::cerr << "infra-bot " << command
              << ": ORCHESTRATOR_LAMBDA_ARN is not set; it names the Lambda function (an ARN "
                 "such as arn:aws:lambda:eu-west-1:123456789012:function:name)\n";
    return std::nullopt;
  }
  auto orchestrator = parse("ORCHESTRATOR_LAMBDA_ARN", config.orchestrator_lambda_arn);
  if (!orchestrator) return std::nullopt;
  LambdaFunctions functions{std::move(*orchestrator), std::nullopt};
  if (!config.ip_whitelist_lambda_arn.empty()) {
    functions.whitelist = parse("IP_WHITELIST_LAMBDA_ARN", config.ip_whitelist_lambda_arn);
    if (!functions.whitelist) return std::nullopt;
  }
  return functions;
}

// The real Lambda backend and everything it stands on; members are declared
// in dependency order so they are destroyed in reverse.
struct LambdaStack {
  core::SystemClock signing_clock;  // SigV4 needs real time, even under `console --now`
  std::unique_ptr<core::http::Client> http;
  std::unique_ptr<aws::CredentialsProvider> credentials;
  aws::ThreadSleeper sleeper;
  std::unique_ptr<aws::LambdaClient> lambda;
  std::unique_ptr<infra::LambdaBackend> backend;
};

std::unique_ptr<LambdaStack> make_lambda_stack(const core::Config& config,
                                               const core::Environment& env, LambdaFunctions refs,
                                               const core::Clock& clock, core::LoggerPtr logger,
                                               const core::Redactor& redactor) {
  auto stack = std::make_unique<LambdaStack>();
  stack->http = core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file});
  stack->credentials = aws::make_default_credentials_chain(env, *stack->http, stack->signing_clock,
                                                           logger, redactor);
  aws::LambdaSettings settings;
  settings.endpoint_url = config.aws_endpoint_url;
  stack->lambda = std::make_unique<aws::LambdaClient>(settings, *stack->http, *stack->credentials,
                                                      stack->signing_clock, stack->sleeper, logger);
  for (const auto* ref : {&refs.orchestrator, refs.whitelist ? &*refs.whitelist : nullptr}) {
    if (ref == nullptr) continue;
    // The ARN's region wins (endpoint and signature); a different AWS_REGION
    // is almost certainly a mistake worth a line at start-up.
    if (!config.aws_region.empty() && ref->region != config.aws_region) {
      logger->warn("Lambda {} is in {} but AWS_REGION/AWS_DEFAULT_REGION is {}; using {}",
                   ref->invoke_name(), ref->region, config.aws_region, ref->region);
    }
  }
  infra::LambdaBackendSettings backend_settings;
  backend_settings.orchestrator_timeout = config.lambda_timeout;
  backend_settings.whitelist_timeout =
      std::min(backend_settings.whitelist_timeout, config.lambda_timeout);
  // What this stack calls, not what the environment holds: the hybrid passes
  // the orchestrator alone whatever IP_WHITELIST_LAMBDA_ARN says.
  const std::string whitelist = refs.whitelist
                                    ? refs.whitelist->invoke_name()
                                    : std::string("none (whitelist commands are refused)");
  logger->info("lambda backend: orchestrator={} whitelist={} endpoint={}",
               refs.orchestrator.invoke_name(), whitelist,
               config.aws_endpoint_url.empty() ? "regional" : config.aws_endpoint_url);
  backend_settings.orchestrator = std::move(refs.orchestrator);
  backend_settings.whitelist = std::move(refs.whitelist);
  stack->backend = std::make_unique<infra::LambdaBackend>(std::move(backend_settings),
                                                          *stack->lambda, clock, logger);
  return stack;
}

// The orchestrator alone (INFRA_BACKEND=aws with ORCHESTRATOR_LAMBDA_ARN): the
// hybrid backend sends it full teardowns and spinups only, never a whitelist call.
std::optional<aws::FunctionRef> orchestrator_function(const core::Config& config,
                                                      std::string_view command) {
  auto ref = aws::parse_function_ref(config.orchestrator_lambda_arn, config.aws_region);
  if (!ref) {
    std::cerr << "infra-bot " << command
              << ": ORCHESTRATOR_LAMBDA_ARN: " << ref.error().user_message << "\n";
    return std::nullopt;
  }
  return std::move(ref).value();
}

// The aws backend (and, with an orchestrator, the hybrid over it) and what it
// stands on; members in dependency order.
struct AwsStack {
  core::SystemClock clock;  // SigV4 and allow-list expiry need real time
  std::unique_ptr<core::http::Client> http;
  std::unique_ptr<aws::CredentialsProvider> credentials;
  aws::ThreadSleeper sleeper;
  std::unique_ptr<infra::AwsBackend> native;
  std::unique_ptr<LambdaStack> orchestrator;
  std::unique_ptr<infra::RoutedBackend> routed;
};

// nullptr after printing what is wrong.
std::unique_ptr<AwsStack> make_aws_stack(const core::Config& config, const core::Environment& env,
                                         core::LoggerPtr logger, std::string_view command,
                                         const core::Redactor& redactor) {
  auto stack = std::make_unique<AwsStack>();
  stack->http = core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file});
  stack->credentials =
      aws::make_default_credentials_chain(env, *stack->http, stack->clock, logger, redactor);
  auto native = infra::make_aws_backend(config, *stack->http, *stack->credentials, stack->clock,
                                        stack->sleeper, logger);
  if (!native) {
    std::cerr << "infra-bot " << command << ": " << native.error().user_message << "\n";
    return nullptr;
  }
  stack->native = std::move(native).value();
  infra::Backend* orchestrator = nullptr;
  if (!config.orchestrator_lambda_arn.empty()) {
    auto ref = orchestrator_function(config, command);
    if (!ref) return nullptr;
    stack->orchestrator =
        make_lambda_stack(config, env, {*ref, std::nullopt}, stack->clock, logger, redactor);
    orchestrator = stack->orchestrator->backend.get();
  }
  stack->routed = std::make_unique<infra::RoutedBackend>(*stack->native, orchestrator);
  logger->info("aws backend: region={} tag_key={} orchestrator={}", config.aws_region,
               config.tag_key,
               orchestrator ? config.orchestrator_lambda_arn
                            : std::string("none (teardown --level=full and spinup refused)"));
  return stack;
}

int run_console(const core::Environment& env, app::ConsoleOptions options) {
  auto config = load(env, core::RunMode::console);
  if (!config) return kExitConfig;
  // A console user wants replies on stdout, not info logs on stderr.
  const auto level = env.get("LOG_LEVEL") ? config->log_level : core::LogLevel::warn;
  const auto redactor = make_redactor(*config, env);
  auto logger = core::make_stderr_logger("infra-bot", config->log_format, level, redactor);
  for (const auto& warning : config->warnings) logger->warn("configuration: {}", warning);
  options.interactive = !options.command && isatty(STDIN_FILENO) == 1;

  app::ConsoleClock clock(options.frozen_now);
  std::unique_ptr<LambdaStack> lambda;
  std::unique_ptr<AwsStack> aws_stack;
  std::unique_ptr<infra::SimulatedBackend> simulated;
  infra::Backend* backend = nullptr;
  if (config->backend == core::BackendKind::lambda) {
    auto refs = lambda_functions(*config, "console");
    if (!refs) return kExitConfig;
    lambda = make_lambda_stack(*config, env, std::move(*refs), clock, logger, redactor);
    backend = lambda->backend.get();
  } else if (config->backend == core::BackendKind::aws) {
    aws_stack = make_aws_stack(*config, env, logger, "console", redactor);
    if (!aws_stack) return kExitConfig;
    backend = aws_stack->routed.get();
  } else {
    simulated = std::make_unique<infra::SimulatedBackend>(config->environments, clock);
    backend = simulated.get();
  }
  return app::run_console(*config, options, *backend, clock, std::cin, std::cout, logger);
}

// Hands envelopes to the App and reports what the client cannot fix.
class ServiceListener final : public slack::SocketModeClient::Listener {
 public:
  ServiceListener(slack_front::App& app, core::LoggerPtr logger)
      : app_(app), logger_(std::move(logger)) {}
  void attach(slack::SocketModeClient& client) { client_ = &client; }

  void on_envelope(const slack::Envelope& envelope) override {
    app_.on_envelope(envelope, [this](const std::string& id, std::optional<std::string> payload,
                                      slack_front::AckWritten on_written) {
      return client_->ack(id, std::move(payload), std::move(on_written));
    });
  }
  void on_state(slack::ConnectionState state) override {
    static constexpr const char* kNames[] = {"connecting", "ready", "reconnecting", "stopped",
                                             "failed"};
    logger_->info("socket mode: {}", kNames[static_cast<int>(state)]);
    if (state == slack::ConnectionState::ready) ever_ready_ = true;
  }
  bool ever_ready() const { return ever_ready_; }
  void on_fatal(const core::Error& error) override {
    logger_->critical("socket mode cannot continue: {} ({})", error.user_message, error.detail);
    fatal_ = true;
  }
  bool fatal() const { return fatal_; }

 private:
  slack_front::App& app_;
  core::LoggerPtr logger_;
  slack::SocketModeClient* client_ = nullptr;
  std::atomic<bool> fatal_{false};
  std::atomic<bool> ever_ready_{false};
};

// Copies the Socket Mode client's counters into the registry at scrape time.
void add_socket_metrics(core::metrics::Registry& metrics, const slack::SocketModeClient& client) {
  metrics.declare_counter("infra_reconnects_total", "Socket Mode reconnects, by reason");
  metrics.declare_gauge("infra_socket_connections", "Socket Mode connections with their hello");
  metrics.declare_counter("infra_acks_total", "Envelope acks sent");
  metrics.declare_counter("infra_duplicate_envelopes_total", "Redelivered envelopes dropped");
  metrics.add_collector([&client](core::metrics::Registry& registry) {
    const auto stats = client.stats();
    for (const auto& [reason, count] : stats.reconnects_by_reason) {
      registry.set("infra_reconnects_total", {{"reason", reason}}, static_cast<double>(count));
    }
    registry.set("infra_socket_connections", {}, stats.ready_connections);
    registry.set("infra_acks_total", {}, static_cast<double>(stats.acks_sent));
    registry.set("infra_duplicate_envelopes_total", {},
                 static_cast<double>(stats.duplicates_dropped));
  });
}

// The front ends /readyz covers: those configured and not stopped for good.
struct FrontEnds {
  const slack::SocketModeClient* slack = nullptr;
  bool slack_ever_ready = false;
  const app::DiscordStack* discord = nullptr;
};

core::StatusResponse status_page(std::string_view path, FrontEnds fronts,
                                 const infra::SharedState& state,
                                 const core::metrics::Registry& metrics, core::MetricsMode mode) {
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/readyz") {
    // Unready after 30 s of failing calls to the shared state; ready again at the first success.
    constexpr std::chrono::seconds kStateGrace{30};
    if (const auto failing = state.failing_for(); failing > kStateGrace) {
      return {503, "text/plain; charset=utf-8",
              fmt::format("not ready: the shared state ({}) has failed for {} s\n", state.name(),
                          std::chrono::duration_cast<std::chrono::seconds>(failing).count())};
    }
    if (fronts.slack == nullptr && fronts.discord == nullptr) {
      return {503, "text/plain; charset=utf-8", "not ready: no chat front end is running\n"};
    }
    // Every front end must have started, and one must be connected now: a
    // Discord reconnect (or outage) alone does not get a task serving Slack
    // replaced, nor restarted into more Identifies.
    if (fronts.slack != nullptr && !fronts.slack->ready() &&
        (fronts.discord == nullptr || !fronts.slack_ever_ready)) {
      return {503, "text/plain; charset=utf-8", "not ready: no Socket Mode connection yet\n"};
    }
    if (fronts.discord != nullptr && !fronts.discord->ever_ready()) {
      return {503, "text/plain; charset=utf-8", "not ready: no Discord Gateway session yet\n"};
    }
    const bool slack_now = fronts.slack != nullptr && fronts.slack->ready();
    const bool discord_now = fronts.discord != nullptr && fronts.discord->ready();
    if (!slack_now && !discord_now) {
      return {503, "text/plain; charset=utf-8", "not ready: no chat connection right now\n"};
    }
    if (fronts.slack != nullptr && fronts.discord != nullptr && (!slack_now || !discord_now)) {
      return {200, "text/plain; charset=utf-8",
              fmt::format("ready ({} reconnecting)\n", slack_now ? "discord" : "slack")};
    }
    return {200, "text/plain; charset=utf-8", "ready\n"};
  }
  if (path == "/metrics" && mode == core::MetricsMode::off) {
    return {404, "text/plain; charset=utf-8", "not found: metrics are off (INFRA_METRICS=off)\n"};
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.render()};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

// SIGTERM/SIGINT are blocked in every thread and taken here (sigtimedwait),
// so no handler runs in the middle of anything.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

int run_service(const core::Environment& env) {
  // Configuration is decided once, by core::load_config; the Lambda ARNs are then read from
  // it (lambda_functions), never from the environment again.
  auto config = core::load_config(env, core::RunMode::service);
  if (!config) {
    std::cerr << "infra-bot: " << config.error().user_message << "\n";
    return kExitConfig;
  }
  std::optional<LambdaFunctions> refs;
  if (config->backend == core::BackendKind::lambda) {
    refs = lambda_functions(*config, "run");
    if (!refs) return kExitConfig;
  }
  const auto signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  const auto redactor = make_redactor(*config, env);
  auto logger =
      core::make_stderr_logger("infra-bot", config->log_format, config->log_level, redactor);
  for (const auto& warning : config->warnings) logger->warn("configuration: {}", warning);
  // Tokens given as ssm:/… or secretsmanager:… are read now, before anything uses them; a
  // failure is one line and exit 1, never a start with the token unset.
  if (!app::resolve_secrets(*config, env, logger, redactor, std::cerr)) return kExitFailure;
  // Audit lines are buffered and written once per turn of the io loop (hooked up below), not
  // one write(2) each on the ack path; warnings, a full buffer and the exit write them too.
  auto audit_sink = core::BatchingSink::to_stderr();
  auto audit = core::make_logger("audit", config->log_format, core::LogLevel::info, {audit_sink},
                                 redactor, core::Payload::json_object);
  core::SystemClock clock;
  core::CounterUuidSource ids;
  core::metrics::Registry metrics;

  std::unique_ptr<LambdaStack> lambda;
  std::unique_ptr<AwsStack> aws_stack;
  std::unique_ptr<infra::SimulatedBackend> simulated;
  infra::Backend* backend = nullptr;
  if (refs) {
    lambda = make_lambda_stack(*config, env, std::move(*refs), clock, logger, redactor);
    backend = lambda->backend.get();
  } else if (config->backend == core::BackendKind::aws) {
    aws_stack = make_aws_stack(*config, env, logger, "run", redactor);
    if (!aws_stack) return kExitConfig;
    backend = aws_stack->routed.get();
  } else {
    simulated = std::make_unique<infra::SimulatedBackend>(config->environments, clock);
    backend = simulated.get();
    logger->warn("INFRA_BACKEND=simulated: commands change an in-memory model, not AWS");
  }
  infra::MeteredBackend metered(*backend, metrics);
  // What replicas share: cooldowns and read limits, locks, jobs, claims.
  auto state_stack = app::make_state_stack(*config, env, clock, logger, redactor);
  if (!state_stack) {
    logger->critical("shared state: {}", state_stack.error().detail.empty()
                                             ? state_stack.error().user_message
                                             : state_stack.error().detail);
    return kExitFailure;
  }
  infra::SharedState& state = *(*state_stack)->state;
  const std::string replica = app::replica_id();
  infra::Policy policy(infra::PolicySettings::from(*config), clock, state);
  infra::CommandRunner runner(infra::RunnerSettings::from(*config), policy, metered, clock, ids,
                              logger);

  // The chats this process serves: Slack, Discord or both (issue 17). Both share the policy,
  // the backends, the audit and, through the state, one lock per environment.
  const bool use_slack = config->slack_configured;
  const bool use_discord = config->discord_configured;
  const bool across_front_ends = use_slack && use_discord;

  auto slack_http = core::http::make_curl_client(core::http::CurlSettings{config->ssl_cert_file});
  slack::WebApiSettings web_settings;
  web_settings.bot_token = config->slack_bot_token;
  web_settings.api_url = config->slack_api_url;
  slack::HttpWebApi web(web_settings, *slack_http, logger);
  std::string team_id = "-";
  // Either lifecycle's sweep may take a dead replica's job of the other chat.
  infra::OpenerChain openers;
  std::optional<slack_front::AppSettings> app_settings;
  if (use_slack) {
    // The workspace the token belongs to: envelopes from any other are ignored.
    auto identity = web.auth_test();
    if (!identity) {
      logger->critical("Slack auth.test failed, so the bot cannot tell its workspace: {}",
                       identity.error().detail.empty() ? identity.error().user_message
                                                       : identity.error().detail);
      return kExitFailure;
    }
    team_id = identity->team_id;
    app_settings = slack_front::AppSettings::from(*config);
    app_settings->workspace.team_id = identity->team_id;
    app_settings->workspace.bot_user_id = identity->user_id;
    app_settings->redactor = redactor;
    app_settings->state = &state;
    app_settings->across_front_ends = across_front_ends;
    app_settings->opener = &openers;
    app_settings->replica = replica;
    if (state.shared() && app_settings->signing_key.empty()) {
      // A modal opened through one replica is submitted to any: one key for all.
      auto key = state.shared_value("metadata signing key", core::MetadataSigner::random_key());
      if (!key) {
        logger->critical(
            "shared state: the signing key could not be read: {}",
            key.error().detail.empty() ? key.error().user_message : key.error().detail);
        return kExitFailure;
      }
      app_settings->signing_key = std::move(key).value();
    }
  }
  // What main itself posts (expiry notices) passes the redactor too.
  slack::RedactingWebApi safe_web(web, redactor);
  // The one io thread (design §1): the sockets, and every timer of the service (Socket Mode
  // keep-alive and reconnects, the Discord Gateway's heartbeats, progress of long jobs, the
  // wait for an ack to be written).
  auto transport = slack::make_asio_transport(clock);
  transport->start();
  audit_sink->on_first_pending([&transport, weak = std::weak_ptr(audit_sink)] {
    transport->post([weak] {
      if (auto sink = weak.lock()) sink->flush();
    });
  });
  std::optional<slack_front::App> app;
  if (use_slack) {
    app.emplace(std::move(*app_settings), runner, web, *transport, clock, metrics, logger, audit);
    openers.add(app->opener());
  }
  core::SystemRandom random;
  std::unique_ptr<app::DiscordStack> discord;
  if (use_discord) {
    discord = std::make_unique<app::DiscordStack>(
        *config, runner, state, across_front_ends, &openers, replica,
        app::DiscordStack::Seams{*transport, *transport, random, clock, metrics}, logger, audit,
        redactor);
    openers.add(discord->front().opener());
  }

  // Expired allow-list entries: removed and announced, one notice each.
  infra::WhitelistSweeper sweeper(
      metered, config->environments, clock,
      [&](const infra::WhitelistEntry& entry, std::string_view environment) {
        if (config->notify_channel.empty() || !use_slack) return;
        // Every replica sweeps; the first to claim an expiry announces it.
        if (auto first = state.claim_once(
                fmt::format("expiry {} {} {}", environment, entry.cidr,
                            entry.expires_at ? entry.expires_at->time_since_epoch().count() : 0),
                std::chrono::hours(1));
            first && !*first) {
          return;
        }
        const auto notice = infra::views::render_whitelist_expired(entry, environment);
        if (auto posted =
                safe_web.post_message(config->notify_channel, slack::blockkit::to_json(notice));
            !posted) {
          logger->warn("expiry notice to {} failed: {}", config->notify_channel,
                       posted.error().detail);
        }
      },
      logger);

  slack::SocketModeSettings socket_settings;
  socket_settings.app_token = config->slack_app_token;
  socket_settings.api_url = config->slack_api_url;
  socket_settings.ca_file = config->ssl_cert_file;
  socket_settings.connections = config->socket_connections;
  // With replicas the shared claims drop duplicates, on every replica: a
  // redelivery of an envelope this one left unacked (its claimant died) must
  // reach them again, not be dropped here as seen.
  if (state.shared()) socket_settings.dedupe_window = std::chrono::minutes(0);
  std::unique_ptr<ServiceListener> listener;
  std::unique_ptr<slack::ConnectionOpener> opener;
  std::unique_ptr<slack::SocketModeClient> client;
  if (use_slack) {
    listener = std::make_unique<ServiceListener>(*app, logger);
    opener = slack::make_http_connection_opener(
        slack::HttpOpenerSettings{config->slack_app_token, config->slack_api_url}, *slack_http,
        *transport);
    client = std::make_unique<slack::SocketModeClient>(socket_settings, *transport, *transport,
                                                       *opener, random, *listener, logger);
    listener->attach(*client);
    add_socket_metrics(metrics, *client);
  }
  // INFRA_METRICS=emf: the metrics as CloudWatch EMF lines on stdout (the task's log stream),
  // every interval, and once more at exit. On a thread of their own: a stdout that blocks (a
  // full log driver) must not hold up the io thread's acks.
  std::optional<core::ThreadScheduler> emf_thread;
  std::optional<core::emf::Reporter> emf;
  if (config->metrics_mode == core::MetricsMode::emf) {
    emf_thread.emplace(clock);
    emf.emplace(metrics, *emf_thread, clock, config->metrics_interval, core::emf::stdout_sink());
  }

  // A front end that stopped for good (a revoked token) is left out; the others go on.
  std::atomic<bool> slack_alive{use_slack};
  std::atomic<bool> discord_alive{use_discord};
  core::StatusServer status(
      core::StatusServerSettings{config->health_address, config->health_port},
      [&](std::string_view path) {
        return status_page(path,
                           FrontEnds{use_slack && slack_alive ? client.get() : nullptr,
                                     listener != nullptr && listener->ever_ready(),
                                     use_discord && discord_alive ? discord.get() : nullptr},
                           state, metrics, config->metrics_mode);
      },
      logger);
  if (auto started = status.start(); !started) {
    logger->critical("health server: {}", started.error().user_message);
    return kExitFailure;
  }
  logger->info(
      "infra-bot {} starting: chats={} backend={} environments={} protected={} connections={} "
      "workspace={} guild={} access={}{} state={} replica={}",
      INFRA_BOT_VERSION,
      use_slack && use_discord ? "slack,discord" : (use_slack ? "slack" : "discord"),
      backend->name(), fmt::join(config->environments, ","),
      config->protected_environments.empty()
          ? std::string("none")
          : fmt::format("{}", fmt::join(config->protected_environments, ",")),
      config->socket_connections, team_id,
      config->discord_guild_id.empty() ? std::string("-") : config->discord_guild_id,
      // Who may use /infra, per chat: everyone (INFRA_ALLOW_EVERYONE and no
      // list of that chat), or its allow-lists.
      fmt::format("{}{}{}",
                  !use_slack ? ""
                  : config->allow_everyone && config->allowed_users.empty() &&
                          config->allowed_channels.empty()
                      ? "slack:everyone"
                      : "slack:allow-lists",
                  use_slack && use_discord ? "," : "",
                  !use_discord ? ""
                  : config->allow_everyone && config->discord_allowed_roles.empty() &&
                          config->discord_allowed_channels.empty()
                      ? "discord:everyone"
                      : "discord:roles-and-channels"),
      config->allow_guests ? " (guests allowed)" : "", state.name(), replica);
  if (client) client->start();
  if (discord) discord->start();
  // Without an IP whitelist Lambda there is no allow-list to sweep.
  const bool has_whitelist =
      config->backend != core::BackendKind::lambda || (refs && refs->whitelist);
  if (has_whitelist) sweeper.start(config->whitelist_sweep);
  if (emf) {
    emf->start();
    logger->info("metrics: CloudWatch EMF on stdout every {} s", config->metrics_interval.count());
  }

  int exit_code = 0;
  for (;;) {
    const timespec tick{0, 200'000'000};
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      logger->info("{}: stopping; running jobs get up to {} s",
                   signal == SIGTERM ? "SIGTERM" : "SIGINT", config->drain_timeout.count());
      break;
    }
    if (slack_alive && listener->fatal()) {
      slack_alive = false;
      logger->error("slack: stopped for good; {}", discord_alive ? "Discord goes on" : "exiting");
    }
    if (discord_alive && discord->fatal()) {
      discord_alive = false;
      logger->error("discord: stopped for good; {}", slack_alive ? "Slack goes on" : "exiting");
    }
    if (!slack_alive && !discord_alive) {
      exit_code = kExitFailure;
      break;
    }
  }
  // Stop taking work while the sockets stay open, so a command typed now is
  // really answered "restarting, run it again" (and other envelopes stay
  // unacked for Slack to deliver to the next task); close them only after.
  if (app) app->begin_drain();
  if (discord) discord->front().begin_drain();
  sweeper.request_stop();  // no new sweep; one in progress ends after its environment
  infra::DrainReport report;
  const auto drain_started = clock.monotonic();
  if (app) report = app->drain(config->drain_timeout);
  if (discord) {
    const auto spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.monotonic() - drain_started);
    const auto left = std::max(
        std::chrono::milliseconds(500),
        std::chrono::duration_cast<std::chrono::milliseconds>(config->drain_timeout) - spent);
    const auto more = discord->front().drain(left);
    report.finished += more.finished;
    report.interrupted += more.interrupted;
    report.handed_over += more.handed_over;
  }
  if (client) {
    // Close frames on every socket; cut after close_timeout (+1.5 s) by the client itself.
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    client->stop([closed] { closed->set_value(); });
    if (done.wait_for(socket_settings.close_timeout + std::chrono::seconds(2)) !=
        std::future_status::ready) {
      logger->warn("socket mode: sockets still closing at exit; dropping them");
    }
  }
  if (discord) discord->stop(std::chrono::seconds(3));
  if (report.interrupted == 0 && report.handed_over == 0) {
    // The App goes first, while the client its acks go through still lives:
    // envelopes its claims lane still holds are answered "restarting" (acks
    // to a stopped client are dropped), never sent through a client already
    // destroyed. (With interrupted jobs the process leaves with _Exit below:
    // their Lambda calls still block the App's workers.)
    app.reset();
  }
  audit_sink->on_first_pending({});
  transport->stop_and_join();
  if (report.interrupted == 0 && report.handed_over == 0) {
    // Its Gateway client goes once the io thread is stopped (its sockets live
    // there), and within the exit's time, not after the last log lines.
    discord.reset();
  }
  if (emf) {
    emf_thread->stop();  // no periodic flush can be running after this
    emf->stop();         // the last flush runs here
  }
  audit_sink->flush();
  // Whatever is left of the drain window; a sweep still in an AWS call then is abandoned.
  const bool swept = sweeper.stop(std::chrono::seconds(1));
  status.stop();
  logger->info(
      "stopped: {} job(s) finished while draining, {} interrupted, {} left for another replica",
      report.finished, report.interrupted, report.handed_over);
  logger->flush();
  audit->flush();
  if (report.interrupted > 0 || report.handed_over > 0 || !swept) {
    // Interrupted jobs still block in their Lambda calls; their requesters
    // have been told. Leave without waiting for them.
    std::fflush(nullptr);
    std::_Exit(exit_code);
  }
  return exit_code;
}

// `infra-bot healthcheck`: exit 0 iff the local /readyz answers 200.
int run_healthcheck(const core::Environment& env) {
  std::string port = env.get("INFRA_HEALTH_PORT").value_or("8080");
  std::string address = env.get("INFRA_HEALTH_ADDRESS").value_or("127.0.0.1");
  if (port.empty()) port = "8080";
  if (address.empty() || address == "0.0.0.0") address = "127.0.0.1";
  if (address == "::") address = "::1";
  const bool v6 = address.find(':') != std::string::npos;
  core::http::Request request;
  request.url = fmt::format("http://{}:{}/readyz", v6 ? "[" + address + "]" : address, port);
  request.connect_timeout = std::chrono::milliseconds(2000);
  request.total_timeout = std::chrono::milliseconds(3000);
  auto http = core::http::make_curl_client({});
  auto response = http->send(request);
  if (!response) {
    std::cerr << "infra-bot healthcheck: " << request.url << ": " << response.error().user_message
              << "\n";
    return kExitFailure;
  }
  if (response->status != 200) {
    std::cerr << "infra-bot healthcheck: " << request.url << " answered " << response->status
              << ": " << response->body;
    return kExitFailure;
  }
  std::cout << "ready\n";
  return 0;
}

// Environment with a few variables pinned (iam-policy always wants the
// lambda backend's ARNs, whatever INFRA_BACKEND says).
class PinnedEnvironment final : public core::Environment {
 public:
  PinnedEnvironment(const core::Environment& base, core::MapEnvironment pinned)
      : base_(base), pinned_(std::move(pinned)) {}
  std::optional<std::string> get(std::string_view name) const override {
    if (auto value = pinned_.get(name)) return value;
    return base_.get(name);
  }

 private:
  const core::Environment& base_;
  core::MapEnvironment pinned_;
};

// `iam-policy --backend=aws`: the tag-scoped policy of aws::tag_scoped_policy_json
// for the configured tag key and environments (with its Deny for the protected
// ones), plus lambda:InvokeFunction on the orchestrator when the bot routes
// full teardowns and spinups to it.
int run_aws_iam_policy(const core::Environment& env, std::string_view role_text) {
  const auto role = aws::parse_policy_role(role_text);
  if (!role) {
    std::cerr << "infra-bot iam-policy: --role: expected bot, orchestrator or whitelist, got \""
              << role_text << "\"\n";
    return kExitConfig;
  }
  auto config = load(env, core::RunMode::console);
  if (!config) return kExitConfig;
  const aws::TagScope scope{config->tag_key, config->environments, config->protected_environments};
  if (auto checked = aws::check_policy_scope(scope); !checked) {
    std::cerr << "infra-bot iam-policy: " << checked.error().user_message << "\n";
    return kExitConfig;
  }
  std::string policy = aws::tag_scoped_policy_json(scope, *role);
  if (*role == aws::PolicyRole::bot && !config->orchestrator_lambda_arn.empty()) {
    auto ref = orchestrator_function(*config, "iam-policy");
    if (!ref) return kExitConfig;
    auto invoke = aws::invoke_policy_json({*ref});
    if (!invoke) {
      std::cerr << "infra-bot iam-policy: ORCHESTRATOR_LAMBDA_ARN: " << invoke.error().user_message
                << "\n";
      return kExitConfig;
    }
    // One document: the invoke statement joins the tag-scoped ones.
    auto document = core::json::parse(policy);
    auto extra = core::json::parse(*invoke);
    if (!document || !extra) {
      std::cerr << "infra-bot iam-policy: internal error merging the policies\n";
      return kExitFailure;
    }
    auto& statements = (*document)["Statement"];
    for (auto& statement : (*extra)["Statement"].GetArray()) {
      auto& allocator = document->GetAllocator();
      rapidjson::Value copy(rapidjson::kObjectType);
      copy.AddMember("Sid", "InvokeOrchestratorForTeardownAndSpinup", allocator);
      for (auto& member : statement.GetObject()) {
        if (member.name == "Sid") continue;
        copy.AddMember(rapidjson::Value(member.name, allocator),
                       rapidjson::Value(member.value, allocator), allocator);
      }
      statements.PushBack(copy, allocator);
    }
    rapidjson::StringBuffer buffer;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
    writer.SetIndent(' ', 2);
    document->Accept(writer);
    policy = std::string(buffer.GetString(), buffer.GetSize()) + "\n";
  }
  std::cout << policy << std::flush;
  return 0;
}

// `infra-bot lambda`: the Lambda Runtime API loop (app/infra-bot/lambda_function.hpp).
int run_lambda(const core::Environment& env) {
  auto runtime_http = core::http::make_curl_client({});
  auto runtime = aws::LambdaRuntimeClient::from_environment(env, *runtime_http);
  if (!runtime) {
    std::cerr << "infra-bot lambda: " << runtime.error().user_message << "\n";
    return kExitConfig;
  }
  auto config = core::load_config(env, core::RunMode::lambda);
  const auto redactor = config ? make_redactor(*config, env) : core::Redactor{};
  auto logger =
      core::make_stderr_logger("infra-bot", config ? config->log_format : core::LogFormat::json,
                               config ? config->log_level : core::LogLevel::info, redactor);
  if (!config) return app::fail_lambda_init(**runtime, config.error(), logger);
  auto stack = make_aws_stack(*config, env, logger, "lambda", redactor);
  if (!stack) {
    return app::fail_lambda_init(
        **runtime,
        core::make_error(core::ErrorCode::config, "the aws backend could not be built",
                         "make_aws_stack failed"),
        logger);
  }
  return app::run_lambda_function(*config, env, *stack->native, **runtime, stack->clock, logger);
}

int run_iam_policy(const core::Environment& env) {
  if (auto value = env.get("ORCHESTRATOR_LAMBDA_ARN"); !value || value->empty()) {
    std::cerr << "infra-bot iam-policy: ORCHESTRATOR_LAMBDA_ARN is not set; the policy allows "
                 "exactly the configured functions, so set ORCHESTRATOR_LAMBDA_ARN (and "
                 "IP_WHITELIST_LAMBDA_ARN when there is one) to their ARNs\n";
    return kExitConfig;
  }
  PinnedEnvironment lambda_env(env, core::MapEnvironment{{"INFRA_BACKEND", "lambda"}});
  auto config = load(lambda_env, core::RunMode::console);
  if (!config) return kExitConfig;
  auto refs = lambda_functions(*config, "iam-policy");
  if (!refs) return kExitConfig;
  std::vector<aws::FunctionRef> functions{refs->orchestrator};
  if (refs->whitelist) functions.push_back(*refs->whitelist);
  for (std::size_t i = 0; i < functions.size(); ++i) {
    if (auto alone = aws::invoke_policy_json({functions[i]}); !alone) {  // a bare name: no account
      std::cerr << "infra-bot iam-policy: "
                << (i == 0 ? "ORCHESTRATOR_LAMBDA_ARN" : "IP_WHITELIST_LAMBDA_ARN") << ": "
                << alone.error().user_message << "\n";
      return kExitConfig;
    }
  }
  auto policy = aws::invoke_policy_json(functions);
  if (!policy) {
    std::cerr << "infra-bot iam-policy: " << policy.error().user_message << "\n";
    return kExitConfig;
  }
  std::cout << *policy << std::flush;
  return 0;
}

// doctor's AWS identity check: sts:GetCallerIdentity with the default chain.
core::Result<app::doctor::CallerIdentity> caller_identity_from_sts(
    const app::doctor::AwsContext& aws) {
  auto sts =
      aws::StsClient::create(aws.env, aws.config.aws_region, aws.http, aws.credentials, aws.clock);
  if (!sts) return sts.error();
  auto who = (*sts)->get_caller_identity();
  if (!who) return who.error();
  return app::doctor::CallerIdentity{who->account, who->arn};
}

}  // namespace

int main(int argc, char** argv) {
  core::ProcessEnvironment env;

  CLI::App cli{"infra-bot: /infra Slack ChatOps for AWS environments (Socket Mode)", "infra-bot"};
  cli.set_version_flag("--version", std::string("infra-bot ") + INFRA_BOT_VERSION);
  cli.require_subcommand(0, 1);
  cli.footer(
      "Without a subcommand, runs the service (`run`). Configuration comes from the environment:\n"
      "SLACK_APP_TOKEN, SLACK_BOT_TOKEN, ORCHESTRATOR_LAMBDA_ARN, IP_WHITELIST_LAMBDA_ARN,\n"
      "INFRA_BACKEND, INFRA_ENVIRONMENTS, INFRA_PROTECTED_ENVIRONMENTS, INFRA_ALLOWED_USERS, ...\n"
      "(see README.md).");

  auto* run = cli.add_subcommand("run", "Run the Slack Socket Mode service");

  app::ConsoleOptions console_options;
  std::string now_text;
  auto* console = cli.add_subcommand(
      "console",
      "Type /infra commands in a terminal (INFRA_BACKEND: simulated by default, or lambda)");
  console->add_option("-c,--command", console_options.command,
                      "Run one command (e.g. \"/infra status dev\") and exit");
  console->add_flag("--json", console_options.json, "Print Block Kit JSON instead of text");
  if (auto user = env.get("INFRA_CONSOLE_USER"); user && !user->empty()) {
    console_options.user = *user;
  }
  console->add_option("--user", console_options.user,
                      "Slack user id for policy checks (INFRA_CONSOLE_USER; default console)");
  console->add_option("--channel", console_options.channel,
                      "Slack channel id for policy checks (default console)");
  console->add_option("--now", now_text,
                      "Freeze the clock at this RFC 3339 time; `:advance 5m` lines move it");

  auto* healthcheck = cli.add_subcommand(
      "healthcheck",
      "Exit 0 when the local /readyz (INFRA_HEALTH_ADDRESS:INFRA_HEALTH_PORT) answers 200");

  auto* iam_policy = cli.add_subcommand(
      "iam-policy",
      "Print the least-privilege IAM policy (lambda:InvokeFunction) for ORCHESTRATOR_LAMBDA_ARN "
      "and IP_WHITELIST_LAMBDA_ARN");

  std::string policy_backend = "lambda";
  std::string policy_role = "bot";
  iam_policy
      ->add_option(
          "--backend", policy_backend,
          "lambda: invoke the two Lambdas; aws: the tag-scoped policy of INFRA_BACKEND=aws "
          "(INFRA_TAG_KEY, INFRA_ENVIRONMENTS, Deny for INFRA_PROTECTED_ENVIRONMENTS)")
      ->check(CLI::IsMember({"lambda", "aws"}, CLI::ignore_case));
  iam_policy->add_option("--role", policy_role,
                         "with --backend=aws: bot (default), orchestrator or whitelist (the roles "
                         "of the two Lambdas of `infra-bot lambda`)");

  auto* doctor = cli.add_subcommand(
      "doctor",
      "Check the configuration of `run` (tokens, scopes, Socket Mode, Lambdas, AWS, channels) "
      "without changing anything; one line per check, exit 0 when all pass");

  auto* state_command = cli.add_subcommand(
      "state", "The shared state of replicas (INFRA_STATE_TABLE, a DynamoDB table)");
  state_command->require_subcommand(1, 1);
  auto* create_table = state_command->add_subcommand(
      "create-table",
      "Create INFRA_STATE_TABLE as the schema says (on demand, TTL on expires_at) unless it "
      "exists; idempotent");

  auto* lambda = cli.add_subcommand(
      "lambda",
      "Serve design §4's orchestrator or whitelist contract (INFRA_LAMBDA_ROLE) as an AWS Lambda "
      "function over the Runtime API (AWS_LAMBDA_RUNTIME_API), on the aws backend");

  app::reg::Options register_options;
  auto* register_command = cli.add_subcommand(
      "register", "Create or update the chat app from the repository (README: Provision the apps)");
  register_command->require_subcommand(1, 1);
  auto* register_slack = register_command->add_subcommand(
      "slack",
      "Create or update the Slack app from --manifest through the App Manifest API, rotating "
      "SLACK_CONFIG_TOKEN / SLACK_CONFIG_REFRESH_TOKEN into --store first");
  auto* register_discord = register_command->add_subcommand(
      "discord",
      "Check DISCORD_BOT_TOKEN, register the /infra commands in DISCORD_GUILD_ID when they "
      "changed, print the invite URL, store the token at --store");
  for (auto* sub : {register_slack, register_discord}) {
    sub->add_option("--store", register_options.store,
                    "ssm:<parameter> or secretsmanager:<secret> holding register's JSON document "
                    "(required for slack)");
    sub->add_flag("--force", register_options.force,
                  "Replace a stored value that differs (token, app id); never implied");
  }
  register_slack->add_option("--manifest", register_options.manifest_path,
                             "The app manifest (default deploy/slack/manifest.json)");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; a usage error exits 2 like any bad configuration (the
    // README's codes), not CLI11's own (109 and up).
    return cli.exit(error) == 0 ? 0 : kExitConfig;
  }

  if (console->parsed()) {
    if (!now_text.empty()) {
      console_options.frozen_now = core::parse_rfc3339(now_text);
      if (!console_options.frozen_now) {
        std::cerr << "infra-bot: --now: expected an RFC 3339 time such as 2026-01-01T00:00:00Z\n";
        return kExitConfig;
      }
    }
    return run_console(env, console_options);
  }
  if (iam_policy->parsed()) {
    if (core::to_lower(policy_backend) == "aws") return run_aws_iam_policy(env, policy_role);
    return run_iam_policy(env);
  }
  if (lambda->parsed()) return run_lambda(env);
  if (create_table->parsed()) return app::run_state_create_table(env, std::cout, std::cerr);
  if (doctor->parsed()) return app::doctor::run(env, std::cout, caller_identity_from_sts);
  if (register_slack->parsed()) {
    return app::reg::run_register_slack(env, register_options, std::cout, std::cerr);
  }
  if (register_discord->parsed()) {
    return app::reg::run_register_discord(env, register_options, std::cout, std::cerr);
  }
  if (healthcheck->parsed()) return run_healthcheck(env);
  (void)run;
  return run_service(env);
}
