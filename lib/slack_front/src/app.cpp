#include "slack_front/app.hpp"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/overloaded.hpp"
#include "core/strand_pool.hpp"
#include "core/strings.hpp"
#include "infra/views.hpp"
#include "slack/blockkit.hpp"
#include "slack_conversation.hpp"
#include "user_directory.hpp"

namespace slack_front {
namespace {

namespace views = infra::views;
using core::reply::Message;
using std::chrono::milliseconds;

constexpr std::size_t kLookupThreads = 1;
constexpr std::size_t kAnnounceThreads = 1;
// What drain() leaves queued posts at least, however little of its window
// is left.
constexpr milliseconds kMinFlush{500};

std::string errors_payload(std::string_view text) {
  return fmt::format(R"({{"response_action":"errors","errors":{{{}:{}}}}})",
                     core::json::quote(views::kTeardownBlockId), core::json::quote(text));
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

ReplyTarget response_url_or_channel(const std::string& response_url, const std::string& channel,
                                    const std::string& user) {
  ReplyTarget target;
  target.kind = response_url.empty() ? ReplyTarget::Kind::channel : ReplyTarget::Kind::response_url;
  target.response_url = response_url;
  target.channel = channel;
  target.user = user;
  return target;
}

// Mutating outcomes, one line each, in the audit channel (its own lane).
class ChannelAnnouncer final : public infra::Announcer {
 public:
  ChannelAnnouncer(std::string channel, Delivery& delivery, core::StrandPool& lane,
                   core::LoggerPtr logger)
      : channel_(std::move(channel)),
        delivery_(delivery),
        lane_(lane),
        logger_(std::move(logger)) {}
  void announce(const Message& message) override {
    if (!lane_.post(0, [this, message] { delivery_.post_to_channel(channel_, message); })) {
      logger_->warn("audit channel lane full or closed; a line was not posted");
    }
  }

 private:
  std::string channel_;
  Delivery& delivery_;
  core::StrandPool& lane_;
  core::LoggerPtr logger_;
};

}  // namespace

AppSettings AppSettings::from(const core::Config& config) {
  AppSettings settings;
  settings.audit_channel = config.audit_channel;
  settings.lifecycle = infra::LifecycleSettings::from(config);
  return settings;
}

class App::Impl {
 public:
  Impl(AppSettings settings, infra::CommandRunner& runner, slack::WebApi& web,
       core::Scheduler& scheduler, const core::Clock& clock, core::metrics::Registry& metrics,
       core::LoggerPtr logger, core::LoggerPtr audit)
      : settings_(std::move(settings)),
        scheduler_(scheduler),
        clock_(clock),
        metrics_(metrics),
        logger_(std::move(logger)),
        delivery_(web, logger_),
        replies_(lane(settings_.reply_threads, "reply")),
        announcements_(lane(kAnnounceThreads, "audit channel")),
        lookups_(lane(kLookupThreads, "users.info")),
        users_(web, clock, settings_.user_name_ttl, *lookups_, logger_),
        dialogs_(lane(settings_.dialog_threads, "views.open")),
        web_(web) {
    if (!settings_.audit_channel.empty()) {
      announcer_ = std::make_unique<ChannelAnnouncer>(settings_.audit_channel, delivery_,
                                                      *announcements_, logger_);
    }
    lifecycle_ =
        std::make_unique<infra::Lifecycle>(settings_.lifecycle, runner, scheduler, clock, metrics,
                                           logger_, std::move(audit), announcer_.get(), &users_);
    metrics_.declare_counter("infra_envelopes_total", "Socket Mode envelopes handled, by type");
    metrics_.declare_histogram(
        "infra_ack_latency_seconds", "Envelope received by the app to ack sent",
        {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
    // Handles, resolved once: no name lookup on the ack path.
    for (const char* type : {"slash_commands", "interactive", "events_api"}) {
      envelopes_by_type_.emplace_back(type,
                                      metrics_.counter("infra_envelopes_total", {{"type", type}}));
    }
    ack_latency_ = metrics_.histogram("infra_ack_latency_seconds");
  }

  ~Impl() {
    // In the order their work depends on each other: no lane runs a task
    // whose objects are gone.
    lifecycle_->drain(milliseconds{0});
    dialogs_.reset();    // its tasks use the lifecycle and the replies lane
    lifecycle_.reset();  // joins the jobs: they answer on the replies and audit lanes
    lookups_.reset();
    announcements_.reset();
    replies_.reset();
  }

  void on_envelope(const slack::Envelope& envelope, const AckFunction& ack) {
    const auto received = clock_.monotonic();
    count_envelope(envelope.type);
    bool acked = false;
    auto send_ack = [&](std::optional<std::string> payload, AckWritten on_written = {}) {
      if (acked) return;
      acked = true;
      auto status = ack(envelope.envelope_id, std::move(payload), on_written);
      ack_latency_.observe(std::chrono::duration<double>(clock_.monotonic() - received).count());
      if (!status) {
        logger_->warn(
            "ack of envelope {} failed: {}", envelope.envelope_id,
            status.error().detail.empty() ? status.error().user_message : status.error().detail);
        if (on_written) on_written();  // nothing to wait for
      }
    };
    if (lifecycle_->draining()) {
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

  void begin_drain() { lifecycle_->begin_drain(); }

  infra::DrainReport drain(milliseconds timeout) {
    const auto start = clock_.monotonic();
    const auto report = lifecycle_->drain(timeout);
    // The answers just queued (and anything else on its way) go out in what
    // is left of the window.
    const auto spent = std::chrono::duration_cast<milliseconds>(clock_.monotonic() - start);
    const auto left = std::max(timeout - spent, kMinFlush);
    const auto deadline = clock_.monotonic() + left;
    for (auto* pool : {dialogs_.get(), replies_.get(), announcements_.get()}) {
      const auto remaining =
          std::chrono::duration_cast<milliseconds>(deadline - clock_.monotonic());
      if (pool != nullptr) pool->wait_idle(std::max(remaining, milliseconds{0}));
    }
    return report;
  }

  std::size_t jobs_in_flight() const { return lifecycle_->jobs_in_flight(); }

 private:
  void count_envelope(const std::string& type) {
    for (auto& [known, counter] : envelopes_by_type_) {
      if (known == type) return counter.increment();
    }
    metrics_.increment("infra_envelopes_total", {{"type", type}});  // a type Slack added later
  }

  std::unique_ptr<core::StrandPool> lane(std::size_t threads, std::string name) {
    return std::make_unique<core::StrandPool>(
        std::max<std::size_t>(1, threads), settings_.max_queued_posts,
        [this, name = std::move(name)](const std::string& what) {
          logger_->error("{} lane: a send failed: {}", name, what);
        });
  }

  // A conversation whose answers wait for the ack (`gated`), at most
  // ack_wait: an ack that is never written does not hold them forever.
  std::shared_ptr<SlackConversation> conversation(ReplyTarget target, bool gated) {
    auto made = std::make_shared<SlackConversation>(std::move(target), delivery_, *replies_,
                                                    next_strand_++, logger_);
    if (!gated) made->ack_written();
    return made;
  }

  void release_after_ack_wait(const std::shared_ptr<SlackConversation>& held) {
    std::weak_ptr<SlackConversation> weak = held;
    scheduler_.after(settings_.ack_wait, [weak] {
      if (auto conversation = weak.lock()) conversation->ack_written();
    });
  }

  // ---- slash commands ----

  template <typename SendAck>
  void on_slash(const slack::SlashCommand& slash, SendAck& send_ack) {
    const infra::Inbound request{
        "slash_command",
        infra::Requester{slash.user_id, slash.user_name, slash.team_id, slash.channel_id},
        slash.text, slash.response_url};
    auto target = response_url_or_channel(slash.response_url, slash.channel_id, slash.user_id);
    auto held = conversation(target, true);
    held->started_in_ack();
    auto outcome = lifecycle_->submit(request, held);
    std::visit(
        core::Overloaded{
            [&](infra::Answer& answer) { send_ack(slack::blockkit::to_json(answer.message)); },
            [&](infra::Accepted& accepted) {
              release_after_ack_wait(held);
              send_ack(slack::blockkit::to_json(accepted.started), [held] { held->ack_written(); });
            },
            [&](infra::Confirm& confirm) {
              send_ack(std::nullopt);
              open_modal(slash.trigger_id, std::move(confirm), request, target);
            },
            [&](infra::Mismatch&) { send_ack(std::nullopt); },
            [&](infra::Ignored&) { send_ack(std::nullopt); },
        },
        outcome);
  }

  // ---- interactions: the teardown modal and the mention's button ----

  template <typename SendAck>
  void on_interaction(const slack::Interaction& interaction, SendAck& send_ack) {
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

  template <typename SendAck>
  void on_submission(const slack::Interaction& interaction, SendAck& send_ack) {
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
    const infra::Inbound request{"modal",
                                 infra::Requester{interaction.user_id, interaction.user_name,
                                                  interaction.team_id, confirmation->channel_id},
                                 "", confirmation->response_url};
    auto held = conversation(response_url_or_channel(confirmation->response_url,
                                                     confirmation->channel_id, interaction.user_id),
                             true);
    auto outcome = lifecycle_->confirm(*confirmation, typed, request, interaction.view_id, held);
    std::visit(
        core::Overloaded{
            [&](infra::Answer& answer) { send_ack(errors_payload(answer.message.text)); },
            [&](infra::Mismatch& mismatch) { send_ack(errors_payload(mismatch.error_text)); },
            [&](infra::Accepted&) {
              // The modal closes with the ack; the channel learns at
              // once that the teardown started (held->started(), called by
              // the core before the job was queued).
              release_after_ack_wait(held);
              send_ack(std::nullopt, [held] { held->ack_written(); });
            },
            [&](infra::Confirm&) { send_ack(std::nullopt); },
            [&](infra::Ignored&) { send_ack(std::nullopt); },
        },
        outcome);
  }

  void on_closed(const slack::Interaction& interaction) {
    auto confirmation = views::parse_teardown_metadata(interaction.view_private_metadata);
    if (!confirmation) {
      logger_->warn("teardown modal closed with bad metadata: {}", confirmation.error().detail);
      return;
    }
    const infra::Inbound request{"modal",
                                 infra::Requester{interaction.user_id, interaction.user_name,
                                                  interaction.team_id, confirmation->channel_id},
                                 "", confirmation->response_url};
    const auto notice = lifecycle_->cancelled(*confirmation, request);
    conversation(response_url_or_channel(confirmation->response_url, confirmation->channel_id,
                                         interaction.user_id),
                 false)
        ->answer_privately(notice);
  }

  void on_teardown_button(const slack::Interaction& interaction, const std::string& value) {
    auto confirmation = views::parse_teardown_metadata(value);
    if (!confirmation) {
      logger_->warn("teardown button with bad value: {}", confirmation.error().detail);
      return;
    }
    if (confirmation->channel_id.empty()) confirmation->channel_id = interaction.channel_id;
    confirmation->response_url = interaction.response_url;
    const infra::Inbound request{"mention",
                                 infra::Requester{interaction.user_id, interaction.user_name,
                                                  interaction.team_id, confirmation->channel_id},
                                 "", interaction.response_url};
    const auto target = response_url_or_channel(interaction.response_url, confirmation->channel_id,
                                                interaction.user_id);
    auto outcome = lifecycle_->confirmation_requested(*confirmation, request);
    if (auto* answer = std::get_if<infra::Answer>(&outcome)) {
      conversation(target, false)->answer_privately(answer->message);
    } else if (auto* confirm = std::get_if<infra::Confirm>(&outcome)) {
      open_modal(interaction.trigger_id, std::move(*confirm), request, target);
    }
  }

  // views.open on its own lane: a trigger_id is valid for 3 s and must never
  // wait behind a post.
  void open_modal(const std::string& trigger_id, infra::Confirm confirm,
                  const infra::Inbound& request, const ReplyTarget& target) {
    auto task = [this, trigger_id, confirm = std::move(confirm), request, target] {
      auto opened = web_.open_view(trigger_id, slack::blockkit::to_json(confirm.needs.modal));
      if (opened) {
        lifecycle_->confirmation_shown(confirm, request, "modal_opened");
        return;
      }
      lifecycle_->confirmation_shown(confirm, request, "failed", opened.error().detail);
      conversation(target, false)
          ->answer_privately(views::render_failure(
              confirm.needs.command,
              core::make_error(core::ErrorCode::unavailable,
                               "Slack did not open the confirmation dialog in time. Run "
                               "the command again.",
                               opened.error().detail)));
    };
    if (!dialogs_->post(next_strand_++, std::move(task))) {
      logger_->error("views.open lane full or closed; a confirmation dialog was not opened");
    }
  }

  // ---- mentions ----

  void on_event(const slack::Event& event) {
    if (event.type != "app_mention" || event.user.empty()) return;
    ReplyTarget target;
    target.kind = ReplyTarget::Kind::thread;
    target.channel = event.channel;
    target.user = event.user;
    target.thread_ts = event.thread_ts.empty() ? event.ts : event.thread_ts;
    const infra::Inbound request{"mention",
                                 infra::Requester{event.user, "", event.team_id, event.channel},
                                 mention_text(event.text), ""};
    auto thread = conversation(target, false);  // acked already
    auto outcome = lifecycle_->submit(request, thread);
    std::visit(
        core::Overloaded{
            // Refusals and errors only to the author, not the thread.
            [&](infra::Answer& answer) { thread->answer_privately(answer.message); },
            // "Working…" in the thread at once (the core called started()
            // before it queued the job), then updated in place.
            [&](infra::Accepted&) {},
            [&](infra::Confirm& confirm) {
              // No trigger_id in an event: a button brings the modal.
              thread->answer_privately(views::render_teardown_prompt(confirm.needs.confirmation));
              lifecycle_->confirmation_shown(confirm, request, "button_posted");
            },
            [&](infra::Mismatch&) {},
            [&](infra::Ignored&) {},
        },
        outcome);
  }

  AppSettings settings_;
  core::Scheduler& scheduler_;
  const core::Clock& clock_;
  core::metrics::Registry& metrics_;
  core::LoggerPtr logger_;
  Delivery delivery_;
  std::unique_ptr<core::StrandPool> replies_;
  std::unique_ptr<core::StrandPool> announcements_;
  std::unique_ptr<core::StrandPool> lookups_;
  UserDirectory users_;
  std::unique_ptr<core::StrandPool> dialogs_;
  slack::WebApi& web_;
  std::unique_ptr<ChannelAnnouncer> announcer_;
  std::unique_ptr<infra::Lifecycle> lifecycle_;
  std::atomic<std::uint64_t> next_strand_{1};
  std::vector<std::pair<std::string, core::metrics::Counter>> envelopes_by_type_;
  core::metrics::Histogram ack_latency_;
};

App::App(AppSettings settings, infra::CommandRunner& runner, slack::WebApi& web,
         core::Scheduler& scheduler, const core::Clock& clock, core::metrics::Registry& metrics,
         core::LoggerPtr logger, core::LoggerPtr audit)
    : impl_(std::make_unique<Impl>(std::move(settings), runner, web, scheduler, clock, metrics,
                                   std::move(logger), std::move(audit))) {}

App::~App() = default;

void App::on_envelope(const slack::Envelope& envelope, const AckFunction& ack) {
  impl_->on_envelope(envelope, ack);
}
void App::begin_drain() { impl_->begin_drain(); }
infra::DrainReport App::drain(std::chrono::milliseconds timeout) { return impl_->drain(timeout); }
std::size_t App::jobs_in_flight() const { return impl_->jobs_in_flight(); }

}  // namespace slack_front
