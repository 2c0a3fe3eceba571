#include "infra/app.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "core/overloaded.hpp"
#include "core/strings.hpp"
#include "slack/blockkit.hpp"
#include "user_directory.hpp"
#include "worker_pool.hpp"

namespace infra {
namespace {

using slack::blockkit::Message;
using slack::blockkit::Visibility;
using Steady = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Slack-only work (views.open within the trigger's 3 s, refusals to a
// thread, cancellations) runs apart from jobs, so a queue of long jobs can
// never make a trigger expire.
constexpr std::size_t kInteractiveWorkers = 4;
constexpr std::size_t kInteractiveQueue = 1000;
// A final reply goes out no sooner than this after the ack: the ack's
// "working" message is written by the socket thread after on_envelope()
// returns, and a response_url reply that overtakes it would be replaced by it.
constexpr milliseconds kMinReplyDelay{250};
// A submitted view id is remembered this long (double submits).
constexpr std::chrono::minutes kConsumedViewTtl{30};

// Where the answers of one command go.
struct ReplyTarget {
  enum class Kind { response_url, thread, channel };
  Kind kind = Kind::channel;
  std::string response_url;
  std::string channel;
  std::string user;       // for ephemeral fallbacks
  std::string thread_ts;  // Kind::thread
};

ReplyTarget response_url_or_channel(const std::string& response_url, const std::string& channel,
                                    const std::string& user) {
  ReplyTarget target;
  target.kind = response_url.empty() ? ReplyTarget::Kind::channel : ReplyTarget::Kind::response_url;
  target.response_url = response_url;
  target.channel = channel;
  target.user = user;
  return target;
}

// `{"a":…}` → `{"replace_original":true,"a":…}` (a response_url post that
// replaces the "working" message).
std::string replacing(const std::string& message_json) {
  if (message_json.size() < 2 || message_json.front() != '{') return message_json;
  return std::string("{\"replace_original\":true,") + message_json.substr(1);
}

std::string errors_payload(std::string_view text) {
  return fmt::format(R"({{"response_action":"errors","errors":{{{}:{}}}}})",
                     core::json::quote(views::kTeardownBlockId), core::json::quote(text));
}

// "@alice" for messages (the Slack handle of the payload; a mention has only
// the user id).
std::string handle_of(const Requester& who) {
  return "@" + (who.user_name.empty() ? who.user_id : who.user_name);
}

// "<@U0BOT> status dev" → "status dev"; "@infra-bot /infra stop dev" → "stop dev".
std::string mention_text(std::string_view text) {
  std::string_view rest = core::trim(text);
  while (rest.substr(0, 2) == "<@") {
    const auto end = rest.find('>');
    if (end == std::string_view::npos) break;
    rest = core::trim(rest.substr(end + 1));
  }
  if (rest.substr(0, 6) == "/infra" && (rest.size() == 6 || rest[6] == ' ')) {
    rest = core::trim(rest.substr(6));
  }
  return std::string(rest);
}

// The job queue is full: the command is refused, never queued.
Reply too_busy_reply(const Command& command) {
  return Reply{views::render_failure(
                   command, core::make_error(core::ErrorCode::unavailable,
                                             "infra-bot is too busy right now. Try again in a "
                                             "minute.")),
               false, DenyReason::none};
}

// A busy_reply() is the policy's refusal when there is one.
std::string_view busy_decision(const Reply& reply) {
  return reply.denied == DenyReason::none ? "busy" : "";
}

std::string_view decision_of(const Reply& reply) {
  if (reply.denied != DenyReason::none) return "denied";
  return reply.ok ? "allowed" : "invalid";
}

// One audit line (logger "audit"): who asked what, what policy said, what
// happened. Fields not known yet stay empty.
struct AuditRecord {
  std::string source;  // slash_command, mention, modal
  std::string request_id;
  Requester who;
  std::string command;  // as typed
  std::string action;
  std::string environment;
  std::string decision;  // allowed, denied, invalid, busy, confirm
  std::string reason;
  std::string backend;
  std::string outcome;  // ok, failed, refused, interrupted, cancelled, modal_opened, …
  std::string error;
  long long duration_ms = 0;

  std::string to_json() const {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    auto field = [&w](std::string_view key, std::string_view value) {
      w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    };
    w.StartObject();
    field("event", "command");
    field("source", source);
    field("request_id", request_id);
    field("team_id", who.team_id);
    field("user_id", who.user_id);
    field("user_name", who.user_name);
    field("channel_id", who.channel_id);
    field("command", command);
    field("action", action);
    field("environment", environment);
    field("decision", decision);
    field("reason", reason);
    field("backend", backend);
    field("outcome", outcome);
    if (!error.empty()) field("error", error);
    w.Key("duration_ms");
    w.Int64(duration_ms);
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
  }
};

void describe_command(AuditRecord& record, const Command& command) {
  record.action = std::string(to_string(action_of(command)));
  record.environment = environment_of(command).value_or("");
}

}  // namespace

AppSettings AppSettings::from(const core::Config& config) {
  AppSettings settings;
  settings.audit_channel = config.audit_channel;
  settings.progress_after = duration_cast<milliseconds>(config.progress_after);
  return settings;
}

// A job from admission to its final reply.
struct RunningJob {
  Job job;
  ReplyTarget target;
  AuditRecord audit;
  std::string started_by;  // "@alice"
  core::TimePoint started;
  Steady::time_point started_steady;

  std::mutex mutex;  // orders the progress posts and the final reply
  bool done = false;
  int progress_posts = 0;
  std::string progress_ts;  // a mention's progress message, updated in place
};

class App::Impl {
 public:
  Impl(AppSettings settings, CommandRunner& runner, slack::WebApi& web, const core::Clock& clock,
       core::metrics::Registry& metrics, core::LoggerPtr logger, core::LoggerPtr audit)
      : settings_(std::move(settings)),
        runner_(runner),
        web_(web),
        clock_(clock),
        metrics_(metrics),
        logger_(std::move(logger)),
        audit_(std::move(audit)),
        users_(web, clock, settings_.user_name_ttl, logger_),
        timer_thread_([this] { timer_loop(); }),
        interactive_(kInteractiveWorkers, kInteractiveQueue,
                     [this](const std::string& what) { logger_->error("task failed: {}", what); }),
        jobs_(std::max<std::size_t>(1, settings_.workers), settings_.max_queued,
              [this](const std::string& what) { logger_->error("job failed: {}", what); }) {
    metrics_.declare_counter("infra_envelopes_total", "Socket Mode envelopes handled, by type");
    metrics_.declare_histogram(
        "infra_ack_latency_seconds", "Envelope received by the app to ack sent",
        {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
    metrics_.declare_counter("infra_jobs_total", "Jobs finished, by action and outcome");
    metrics_.declare_gauge("infra_jobs_running", "Jobs running or queued");
  }

  ~Impl() { drain(milliseconds{0}); }

  void on_envelope(const slack::Envelope& envelope, const AckFunction& ack) {
    const auto received = Steady::now();
    metrics_.increment("infra_envelopes_total", {{"type", envelope.type}});
    bool acked = false;
    auto send_ack = [&](std::optional<std::string> payload) {
      if (acked) return;
      acked = true;
      auto status = ack(envelope.envelope_id, std::move(payload));
      metrics_.observe("infra_ack_latency_seconds", {},
                       std::chrono::duration<double>(Steady::now() - received).count());
      if (!status) {
        logger_->warn(
            "ack of envelope {} failed: {}", envelope.envelope_id,
            status.error().detail.empty() ? status.error().user_message : status.error().detail);
      }
    };
    // Admission (parse, busy check, policy, registration) is one step per
    // envelope, and drain() flips draining_ under the same lock: a command is
    // either admitted before the drain looks at what runs, or not at all.
    std::lock_guard admission(admission_mutex_);
    if (draining_) {
      // A slash command gets an answer; anything else stays unacked so that
      // Slack delivers it again (to the next instance).
      if (std::holds_alternative<slack::SlashCommand>(envelope.payload)) {
        send_ack(slack::blockkit::to_json(views::render_shutting_down()));
      }
      logger_->info("shutting down: envelope {} ({}) not taken", envelope.envelope_id,
                    envelope.type);
      return;
    }
    std::visit(
        core::Overloaded{
            [&](const slack::SlashCommand& command) { on_slash(command, send_ack); },
            [&](const slack::Interaction& interaction) { on_interaction(interaction, send_ack); },
            [&](const slack::Event& event) {
              send_ack(std::nullopt);
              on_event(event);
            },
            [&](const std::monostate&) { send_ack(std::nullopt); },
        },
        envelope.payload);
    send_ack(std::nullopt);  // every envelope is acked, whatever happened above
  }

  DrainReport drain(milliseconds timeout) {
    std::lock_guard drain_lock(drain_mutex_);
    DrainReport report;
    bool first = false;
    {
      std::lock_guard admission(admission_mutex_);  // no admission is half done
      first = !draining_.exchange(true);
    }
    if (first) {
      logger_->info("draining: waiting up to {} ms for {} job(s)", timeout.count(),
                    jobs_in_flight());
    }
    const auto deadline = Steady::now() + timeout;
    std::vector<std::shared_ptr<RunningJob>> left;
    {
      std::unique_lock lock(running_mutex_);
      const auto before = running_.size();
      running_changed_.wait_until(lock, deadline, [this] { return running_.empty(); });
      left.assign(running_.begin(), running_.end());
      report.finished = before - left.size();
    }
    for (const auto& running : left) {
      std::lock_guard lock(running->mutex);
      if (running->done) continue;
      running->done = true;
      deliver(running->target, views::render_interrupted(running->job.command));
      finish_audit(*running, "interrupted", "shut down before the job finished");
      ++report.interrupted;
    }
    // Cancellations and refusals already queued are quick: let them out.
    interactive_.wait_idle(std::max(deadline, Steady::now() + milliseconds{500}));
    stop_timer();
    return report;
  }

  std::size_t jobs_in_flight() const {
    std::lock_guard lock(running_mutex_);
    return running_.size();
  }

 private:
  using SendAck = std::function<void(std::optional<std::string>)>;

  // ---- slash commands ----

  template <typename SendAckT>
  void on_slash(const slack::SlashCommand& slash, SendAckT& send_ack) {
    Requester who{slash.user_id, slash.user_name, slash.team_id, slash.channel_id};
    AuditRecord audit;
    audit.source = "slash_command";
    audit.who = who;
    audit.command = slash.text;
    audit.backend = std::string(runner_backend_name());
    const ReplyTarget target =
        response_url_or_channel(slash.response_url, slash.channel_id, slash.user_id);

    auto parsed = runner_.parse(slash.text);
    if (auto* reply = std::get_if<Reply>(&parsed)) {
      send_ack(slack::blockkit::to_json(reply->message));
      refused(audit, *reply);
      return;
    }
    Command command = std::get<Command>(std::move(parsed));
    describe_command(audit, command);
    if (auto busy = busy_reply(command, who)) {
      send_ack(slack::blockkit::to_json(busy->message));
      refused(audit, *busy, busy_decision(*busy));
      return;
    }
    auto decided = runner_.admit(std::move(command), who, slash.response_url);
    std::visit(
        core::Overloaded{
            [&](Reply& reply) {
              send_ack(slack::blockkit::to_json(reply.message));
              refused(audit, reply);
            },
            [&](NeedsConfirmation& confirm) {
              send_ack(std::nullopt);
              open_modal(slash.trigger_id, confirm.modal, target, std::move(audit));
            },
            [&](Job& job) {
              if (jobs_.full()) {
                // No room for the job: say so in the ack, before anything is registered
                // (no "Working on…" that is never answered, no reply that needs a worker,
                // no error line per command on the socket thread).
                const Reply busy = too_busy_reply(job.command);
                send_ack(slack::blockkit::to_json(busy.message));
                refused(audit, busy, "busy");
                return;
              }
              auto running = start(std::move(job), target, std::move(audit));
              send_ack(slack::blockkit::to_json(views::render_working(running->job.command)));
              submit(running);
            },
        },
        decided);
  }

  // ---- interactions: the teardown modal and the mention's button ----

  template <typename SendAckT>
  void on_interaction(const slack::Interaction& interaction, SendAckT& send_ack) {
    if (interaction.view_callback_id == views::kTeardownCallbackId) {
      if (interaction.type == "view_submission") return on_submission(interaction, send_ack);
      if (interaction.type == "view_closed") {
        send_ack(std::nullopt);
        return on_closed(interaction);
      }
    }
    if (interaction.type == "block_actions") {
      for (const auto& action : interaction.actions) {
        if (action.action_id == views::kOpenTeardownActionId) {
          send_ack(std::nullopt);
          return on_teardown_button(interaction, action.value);
        }
      }
    }
    send_ack(std::nullopt);
  }

  template <typename SendAckT>
  void on_submission(const slack::Interaction& interaction, SendAckT& send_ack) {
    auto confirmation = views::parse_teardown_metadata(interaction.view_private_metadata);
    if (!confirmation) {
      logger_->warn("teardown submission with bad metadata: {}", confirmation.error().detail);
      send_ack(
          errors_payload("This confirmation is no longer valid. Close it and run the "
                         "command again."));
      return;
    }
    std::string typed;
    for (const auto& value : interaction.values) {
      if (value.block_id == views::kTeardownBlockId &&
          value.action_id == views::kTeardownActionId) {
        typed = value.value;
      }
    }
    Requester who{interaction.user_id, interaction.user_name, interaction.team_id,
                  confirmation->channel_id};
    AuditRecord audit;
    audit.source = "modal";
    audit.who = who;
    audit.command = fmt::format("teardown {} --level={} (confirmed)", confirmation->environment,
                                to_string(confirmation->level));
    audit.backend = std::string(runner_backend_name());
    const Command command = Teardown{confirmation->environment, confirmation->level};
    describe_command(audit, command);

    if (!interaction.view_id.empty() && consumed(interaction.view_id)) {
      // A double submit: the first one runs; this one just closes.
      logger_->info("teardown view {} submitted again; ignored", interaction.view_id);
      send_ack(std::nullopt);
      return;
    }
    if (auto busy = busy_reply(command, who)) {
      send_ack(errors_payload(busy->message.text));
      refused(audit, *busy, busy_decision(*busy));
      return;
    }
    auto decided = runner_.confirm_teardown(*confirmation, typed, who);
    std::visit(core::Overloaded{
                   [&](Reply& reply) {
                     send_ack(errors_payload(reply.message.text));
                     refused(audit, reply);
                   },
                   [&](ConfirmationMismatch& mismatch) {
                     logger_->info("teardown confirmation mismatch: user={} env={}", who.user_id,
                                   confirmation->environment);
                     send_ack(errors_payload(mismatch.error_text));
                   },
                   [&](Job& job) {
                     consume(interaction.view_id);
                     auto running =
                         start(std::move(job),
                               response_url_or_channel(confirmation->response_url,
                                                       confirmation->channel_id, who.user_id),
                               std::move(audit));
                     send_ack(std::nullopt);  // closes the modal
                     submit(running);
                   },
               },
               decided);
  }

  void on_closed(const slack::Interaction& interaction) {
    auto confirmation = views::parse_teardown_metadata(interaction.view_private_metadata);
    if (!confirmation) {
      logger_->warn("teardown modal closed with bad metadata: {}", confirmation.error().detail);
      return;
    }
    AuditRecord audit;
    audit.source = "modal";
    audit.who = Requester{interaction.user_id, interaction.user_name, interaction.team_id,
                          confirmation->channel_id};
    audit.command = fmt::format("teardown {} --level={} (cancelled)", confirmation->environment,
                                to_string(confirmation->level));
    describe_command(audit, Teardown{confirmation->environment, confirmation->level});
    audit.decision = "confirm";
    audit.outcome = "cancelled";
    audit.request_id = runner_.new_request_id();
    audit_->info(audit.to_json());
    const auto target = response_url_or_channel(confirmation->response_url,
                                                confirmation->channel_id, interaction.user_id);
    const auto environment = confirmation->environment;
    background([this, target, environment] {
      deliver(target, views::render_teardown_cancelled(environment));
    });
  }

  void on_teardown_button(const slack::Interaction& interaction, const std::string& value) {
    auto confirmation = views::parse_teardown_metadata(value);
    if (!confirmation) {
      logger_->warn("teardown button with bad value: {}", confirmation.error().detail);
      return;
    }
    if (confirmation->channel_id.empty()) confirmation->channel_id = interaction.channel_id;
    confirmation->response_url = interaction.response_url;
    Requester who{interaction.user_id, interaction.user_name, interaction.team_id,
                  confirmation->channel_id};
    const auto target = response_url_or_channel(interaction.response_url, confirmation->channel_id,
                                                interaction.user_id);
    AuditRecord audit;
    audit.source = "mention";
    audit.who = who;
    audit.command = fmt::format("teardown {} --level={}", confirmation->environment,
                                to_string(confirmation->level));
    audit.backend = std::string(runner_backend_name());
    const Command command = Teardown{confirmation->environment, confirmation->level};
    describe_command(audit, command);
    if (auto refusal = runner_.refusal(command, who)) {
      refused(audit, *refusal);
      auto message = refusal->message;
      background([this, target, message] { deliver(target, message); });
      return;
    }
    open_modal(interaction.trigger_id, views::render_teardown_modal(*confirmation), target,
               std::move(audit));
  }

  // ---- mentions ----

  void on_event(const slack::Event& event) {
    if (event.type != "app_mention" || event.user.empty()) return;
    Requester who{event.user, "", event.team_id, event.channel};
    ReplyTarget target;
    target.kind = ReplyTarget::Kind::thread;
    target.channel = event.channel;
    target.user = event.user;
    target.thread_ts = event.thread_ts.empty() ? event.ts : event.thread_ts;
    const std::string text = mention_text(event.text);
    AuditRecord audit;
    audit.source = "mention";
    audit.who = who;
    audit.command = text;
    audit.backend = std::string(runner_backend_name());

    auto reply_later = [this, target](Message message) {
      background([this, target, message = std::move(message)] { deliver(target, message); });
    };
    auto parsed = runner_.parse(text);
    if (auto* reply = std::get_if<Reply>(&parsed)) {
      refused(audit, *reply);
      return reply_later(reply->message);
    }
    Command command = std::get<Command>(std::move(parsed));
    describe_command(audit, command);
    if (auto busy = busy_reply(command, who)) {
      refused(audit, *busy, busy_decision(*busy));
      return reply_later(busy->message);
    }
    auto decided = runner_.admit(std::move(command), who);
    std::visit(core::Overloaded{
                   [&](Reply& reply) {
                     refused(audit, reply);
                     reply_later(reply.message);
                   },
                   [&](NeedsConfirmation& confirm) {
                     // No trigger_id in an event: a button brings the modal.
                     audit.decision = "confirm";
                     audit.outcome = "button_posted";
                     audit.request_id = runner_.new_request_id();
                     audit_->info(audit.to_json());
                     reply_later(views::render_teardown_prompt(confirm.confirmation));
                   },
                   [&](Job& job) { submit(start(std::move(job), target, std::move(audit))); },
               },
               decided);
  }

  // ---- jobs ----

  std::string_view runner_backend_name() const { return runner_.backend_name(); }

  // Requires admission_mutex_. The refusal a mutating command gets while
  // another one runs on its environment (the policy's own refusal first).
  std::optional<Reply> busy_reply(const Command& command, const Requester& who) {
    if (!is_mutating(action_of(command))) return std::nullopt;
    const auto environment = environment_of(command);
    if (!environment) return std::nullopt;
    std::lock_guard lock(running_mutex_);
    auto it = busy_.find(*environment);
    if (it == busy_.end()) return std::nullopt;
    if (auto refusal = runner_.refusal(command, who)) return refusal;
    const auto& running = *it->second;
    return Reply{views::render_busy(describe(running.job.command), running.started_by,
                                    duration_cast<seconds>(clock_.now() - running.started)),
                 false, DenyReason::none};
  }

  // Registers an admitted job (busy environment, in-flight set, progress).
  std::shared_ptr<RunningJob> start(Job job, ReplyTarget target, AuditRecord audit) {
    auto running = std::make_shared<RunningJob>();
    running->started_by = handle_of(job.requester);
    running->job = std::move(job);
    running->target = std::move(target);
    running->audit = std::move(audit);
    running->audit.request_id = running->job.request_id;
    running->audit.decision = "allowed";
    running->started = clock_.now();
    running->started_steady = Steady::now();
    {
      std::lock_guard lock(running_mutex_);
      running_.insert(running);
      if (is_mutating(action_of(running->job.command))) {
        if (auto environment = environment_of(running->job.command)) {
          busy_[*environment] = running;
        }
      }
      metrics_.set("infra_jobs_running", {}, static_cast<double>(running_.size()));
    }
    schedule_progress(running, running->started_steady + settings_.progress_after);
    return running;
  }

  void submit(const std::shared_ptr<RunningJob>& running) {
    if (jobs_.submit([this, running] { execute(running); })) return;
    logger_->error("job queue full ({} queued); refusing request_id={}", jobs_.pending(),
                   running->job.request_id);
    background(
        [this, running, reply = too_busy_reply(running->job.command)] { finish(running, reply); });
  }

  void execute(const std::shared_ptr<RunningJob>& running) {
    Job job = running->job;
    const auto user = users_.lookup(job.requester.user_id);
    job.requester.user_name = UserDirectory::display_name(user, job.requester);
    bool interrupted = false;
    {
      std::lock_guard lock(running->mutex);  // drain() may be writing the audit line
      interrupted = running->done;
      running->audit.who.user_name = job.requester.user_name;
    }
    if (user && !user->name.empty() && running->job.requester.user_name.empty()) {
      // A mention carries only the user id: name the requester by handle.
      std::lock_guard lock(running_mutex_);
      running->started_by = "@" + user->name;
    }
    if (interrupted) {
      // Told "interrupted" by a drain before it started: it must not run at all.
      release(running);
      return;
    }
    finish(running, runner_.run(job));
  }

  void finish(const std::shared_ptr<RunningJob>& running, const Reply& reply) {
    const Action action = action_of(running->job.command);
    bool delivered = false;
    {
      std::lock_guard lock(running->mutex);
      if (!running->done) {
        std::this_thread::sleep_until(running->started_steady + kMinReplyDelay);
        running->done = true;
        delivered = true;
        Message message = reply.message;
        if (reply.ok && is_mutating(action)) {
          const auto& name = running->audit.who.user_name;
          message =
              views::for_channel(std::move(message), name.empty() ? handle_locked(*running) : name);
        }
        deliver(running->target, message, running->progress_ts);
      }
    }
    if (delivered) {
      const auto outcome = reply.ok ? "ok" : "failed";
      finish_audit(*running, outcome, reply.ok ? "" : reply.message.text);
      if (!settings_.audit_channel.empty() && is_mutating(action)) {
        const auto took = duration_cast<seconds>(clock_.now() - running->started);
        std::string who;
        {
          std::lock_guard lock(running_mutex_);
          who = running->started_by;
        }
        const auto line =
            views::render_audit_line(running->job.command, who, reply.ok ? "ok" : "failed", took);
        if (auto posted =
                web_.post_message(settings_.audit_channel, slack::blockkit::to_json(line));
            !posted) {
          logger_->warn("audit channel post failed: {}", posted.error().detail);
        }
      }
    }
    release(running);
  }

  std::string handle_locked(const RunningJob& running) {
    std::lock_guard lock(running_mutex_);
    return running.started_by;
  }

  // The job is over: its environment is free again.
  void release(const std::shared_ptr<RunningJob>& running) {
    std::lock_guard lock(running_mutex_);
    running_.erase(running);
    if (auto environment = environment_of(running->job.command)) {
      if (auto it = busy_.find(*environment); it != busy_.end() && it->second == running) {
        busy_.erase(it);
      }
    }
    metrics_.set("infra_jobs_running", {}, static_cast<double>(running_.size()));
    running_changed_.notify_all();
  }

  // The job's audit line and counter (its mutex held or the job done).
  void finish_audit(RunningJob& running, std::string_view outcome, std::string error) {
    running.audit.outcome = std::string(outcome);
    running.audit.error = std::move(error);
    running.audit.duration_ms = duration_cast<milliseconds>(clock_.now() - running.started).count();
    audit_->info(running.audit.to_json());
    metrics_.increment("infra_jobs_total",
                       {{"action", running.audit.action}, {"outcome", std::string(outcome)}});
  }

  // The audit line of a command answered at once (help, a parse error, a
  // refusal). `decision` overrides the one the reply implies (busy).
  void refused(AuditRecord& audit, const Reply& reply, std::string_view decision = {}) {
    if (audit.request_id.empty()) audit.request_id = runner_.new_request_id();
    audit.decision = decision.empty() ? std::string(decision_of(reply)) : std::string(decision);
    audit.reason = reply.denied != DenyReason::none ? std::string(to_string(reply.denied))
                   : reply.ok                       ? std::string()
                                                    : reply.message.text;
    audit.outcome = reply.ok ? "answered" : "refused";
    audit_->info(audit.to_json());
  }

  void open_modal(const std::string& trigger_id, const slack::blockkit::Modal& modal,
                  const ReplyTarget& target, AuditRecord audit) {
    const auto view = slack::blockkit::to_json(modal);
    if (audit.request_id.empty()) audit.request_id = runner_.new_request_id();
    background([this, trigger_id, view, target, audit = std::move(audit)]() mutable {
      audit.decision = "confirm";
      auto opened = web_.open_view(trigger_id, view);
      if (opened) {
        audit.outcome = "modal_opened";
        audit_->info(audit.to_json());
        return;
      }
      audit.outcome = "failed";
      audit.error = opened.error().detail;
      audit_->info(audit.to_json());
      deliver(target,
              views::render_failure(
                  Teardown{audit.environment, TeardownLevel::full},
                  core::make_error(core::ErrorCode::unavailable,
                                   "Slack did not open the confirmation dialog in time. Run "
                                   "the command again.",
                                   opened.error().detail)));
    });
  }

  void background(std::function<void()> task) {
    if (!interactive_.submit(std::move(task))) {
      logger_->error("interactive queue full; a reply was dropped");
    }
  }

  // Posts `message` where the command came from. A response_url that fails
  // for sure (expired, 404) falls back to the channel; one that may have
  // been delivered is not repeated.
  void deliver(const ReplyTarget& target, const Message& message,
               const std::string& progress_ts = {}) {
    const auto json = slack::blockkit::to_json(message);
    if (target.kind == ReplyTarget::Kind::thread && !progress_ts.empty()) {
      // A long job's "still working" message in the thread becomes its answer.
      if (web_.update_message(target.channel, progress_ts, json)) return;
    }
    if (target.kind == ReplyTarget::Kind::thread) {
      if (auto posted = web_.post_message(target.channel, json, target.thread_ts); !posted) {
        logger_->warn("reply in thread failed: {}", posted.error().detail);
      }
      return;
    }
    if (target.kind == ReplyTarget::Kind::response_url) {
      auto status = web_.respond(target.response_url, replacing(json));
      if (status) return;
      logger_->warn("response_url post failed ({}): {}", core::to_string(status.error().code),
                    status.error().detail);
      if (status.error().code == core::ErrorCode::indeterminate) return;
    }
    if (target.channel.empty()) return;
    if (message.visibility == Visibility::in_channel) {
      if (auto posted = web_.post_message(target.channel, json); !posted) {
        logger_->warn("chat.postMessage fallback failed: {}", posted.error().detail);
      }
    } else if (auto status = web_.post_ephemeral(target.channel, target.user, json); !status) {
      logger_->warn("chat.postEphemeral fallback failed: {}", status.error().detail);
    }
  }

  // ---- double submits ----

  bool consumed(const std::string& view_id) {
    const auto now = Steady::now();
    std::erase_if(consumed_views_,
                  [&](const auto& entry) { return now - entry.second > kConsumedViewTtl; });
    return consumed_views_.count(view_id) > 0;
  }
  void consume(const std::string& view_id) {
    if (!view_id.empty()) consumed_views_[view_id] = Steady::now();
  }

  // ---- progress of long jobs ----

  void schedule_progress(const std::shared_ptr<RunningJob>& running, Steady::time_point due) {
    if (settings_.max_progress_updates <= 0) return;
    {
      std::lock_guard lock(timer_mutex_);
      if (timer_stopped_) return;
      timers_.emplace(due, running);
    }
    timer_wake_.notify_all();
  }

  void timer_loop() {
    std::unique_lock lock(timer_mutex_);
    while (!timer_stopped_) {
      if (timers_.empty()) {
        timer_wake_.wait(lock);
        continue;
      }
      const auto due = timers_.begin()->first;
      if (Steady::now() < due) {
        timer_wake_.wait_until(lock, due);
        continue;
      }
      auto running = timers_.begin()->second.lock();
      timers_.erase(timers_.begin());
      if (!running) continue;
      lock.unlock();
      progress(running);
      lock.lock();
    }
  }

  void progress(const std::shared_ptr<RunningJob>& running) {
    std::lock_guard lock(running->mutex);
    if (running->done) return;
    const auto elapsed = duration_cast<seconds>(Steady::now() - running->started_steady);
    const auto message = views::render_progress(running->job.command, elapsed);
    const auto json = slack::blockkit::to_json(message);
    const auto& target = running->target;
    if (target.kind == ReplyTarget::Kind::response_url) {
      if (auto status = web_.respond(target.response_url, replacing(json)); !status) {
        logger_->warn("progress update failed: {}", status.error().detail);
      }
    } else if (target.kind == ReplyTarget::Kind::thread) {
      if (running->progress_ts.empty()) {
        if (auto ts = web_.post_message(target.channel, json, target.thread_ts)) {
          running->progress_ts = *ts;
        }
      } else if (auto status = web_.update_message(target.channel, running->progress_ts, json);
                 !status) {
        logger_->warn("progress update failed: {}", status.error().detail);
      }
    } else {
      return;  // an ephemeral post cannot be updated: no progress without a response_url
    }
    ++running->progress_posts;
    if (running->progress_posts < settings_.max_progress_updates) {
      auto wait = settings_.progress_after;
      for (int i = 0; i < running->progress_posts; ++i) wait *= 3;
      schedule_progress(running, running->started_steady + wait);
    }
  }

  void stop_timer() {
    {
      std::lock_guard lock(timer_mutex_);
      if (timer_stopped_) return;
      timer_stopped_ = true;
      timers_.clear();
    }
    timer_wake_.notify_all();
    if (timer_thread_.joinable()) timer_thread_.join();
  }

  AppSettings settings_;
  CommandRunner& runner_;
  slack::WebApi& web_;
  const core::Clock& clock_;
  core::metrics::Registry& metrics_;
  core::LoggerPtr logger_;
  core::LoggerPtr audit_;
  UserDirectory users_;

  std::atomic<bool> draining_{false};
  std::mutex drain_mutex_;
  // Admission (parse, busy check, policy, registration) is one step: two
  // commands for one environment can never both be admitted.
  std::mutex admission_mutex_;
  std::map<std::string, Steady::time_point> consumed_views_;  // admission_mutex_

  mutable std::mutex running_mutex_;
  std::condition_variable running_changed_;
  std::set<std::shared_ptr<RunningJob>> running_;
  std::map<std::string, std::shared_ptr<RunningJob>> busy_;  // environment → its mutating job

  std::mutex timer_mutex_;
  std::condition_variable timer_wake_;
  std::multimap<Steady::time_point, std::weak_ptr<RunningJob>> timers_;
  bool timer_stopped_ = false;
  std::thread timer_thread_;

  // Last: destroyed (joined) first, while everything their tasks use lives.
  WorkerPool interactive_;
  WorkerPool jobs_;
};

App::App(AppSettings settings, CommandRunner& runner, slack::WebApi& web, const core::Clock& clock,
         core::metrics::Registry& metrics, core::LoggerPtr logger, core::LoggerPtr audit)
    : impl_(std::make_unique<Impl>(std::move(settings), runner, web, clock, metrics,
                                   std::move(logger), std::move(audit))) {}

App::~App() = default;

void App::on_envelope(const slack::Envelope& envelope, const AckFunction& ack) {
  impl_->on_envelope(envelope, ack);
}

DrainReport App::drain(std::chrono::milliseconds timeout) { return impl_->drain(timeout); }

std::size_t App::jobs_in_flight() const { return impl_->jobs_in_flight(); }

}  // namespace infra
