#include "slack_front/app.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/metadata_signer.hpp"
#include "core/overloaded.hpp"
#include "core/strand_pool.hpp"
#include "core/strings.hpp"
#include "delivery_claims.hpp"
#include "infra/views.hpp"
#include "response_url_rule.hpp"
#include "slack/blockkit.hpp"
#include "slack/redacting_web_api.hpp"
#include "slack_conversation.hpp"
#include "user_directory.hpp"
#include "workspace_gate.hpp"

namespace slack_front {
namespace {

namespace views = infra::views;
using core::reply::Message;
using std::chrono::milliseconds;

constexpr std::size_t kLookupThreads = 1;
// users.info for the workspace gate: an envelope waits for it (bounded), so
// it never queues behind the name lookups.
constexpr std::size_t kMemberLookupThreads = 2;
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

// A one-line answer shown only to the requester.
Message notice(std::string text) {
  Message message;
  message.blocks.push_back(core::reply::Section{"", {text}});
  message.text = std::move(text);
  return message;
}

// Whose envelope this is, when the gate has to judge it: slash commands,
// interactions and mentions (other events carry no command).
struct Author {
  std::string user_id;
  std::string team_id;
  bool from_bot = false;
};

std::optional<Author> author_of(const slack::Envelope& envelope) {
  if (const auto* slash = std::get_if<slack::SlashCommand>(&envelope.payload)) {
    return Author{slash->user_id, slash->team_id, false};
  }
  if (const auto* interaction = std::get_if<slack::Interaction>(&envelope.payload)) {
    return Author{interaction->user_id, interaction->team_id, false};
  }
  if (const auto* event = std::get_if<slack::Event>(&envelope.payload)) {
    if (event->type != "app_mention") return std::nullopt;
    // A workflow's or another app's message carries bot_id (subtype bot_message).
    return Author{event->user, event->team_id,
                  !event->bot_id.empty() || event->subtype == "bot_message"};
  }
  return std::nullopt;
}

// The request an ignored envelope would have been, for its audit line.
infra::Inbound inbound_of(const slack::Envelope& envelope) {
  if (const auto* slash = std::get_if<slack::SlashCommand>(&envelope.payload)) {
    return {"slash_command",
            infra::Requester{slash->user_id, slash->user_name, slash->team_id, slash->channel_id},
            slash->text, ""};
  }
  if (const auto* interaction = std::get_if<slack::Interaction>(&envelope.payload)) {
    return {"interaction",
            infra::Requester{interaction->user_id, interaction->user_name, interaction->team_id,
                             interaction->channel_id},
            interaction->type, ""};
  }
  if (const auto* event = std::get_if<slack::Event>(&envelope.payload)) {
    return {"mention", infra::Requester{event->user, "", event->team_id, event->channel},
            mention_text(event->text), ""};
  }
  return {envelope.type, {}, "", ""};
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
  settings.workspace.allow_guests = config.allow_guests;
  settings.slack_api_url = config.slack_api_url;
  settings.lifecycle = infra::LifecycleSettings::from(config);
  return settings;
}

class App::Impl final : public infra::ConversationOpener {
 public:
  Impl(AppSettings settings, infra::CommandRunner& runner, slack::WebApi& web,
       core::Scheduler& scheduler, const core::Clock& clock, core::metrics::Registry& metrics,
       core::LoggerPtr logger, core::LoggerPtr audit)
      : settings_(std::move(settings)),
        scheduler_(scheduler),
        clock_(clock),
        metrics_(metrics),
        logger_(std::move(logger)),
        safe_web_(web, settings_.redactor),
        delivery_(safe_web_, logger_),
        replies_(lane(settings_.reply_threads, "reply")),
        announcements_(lane(kAnnounceThreads, "audit channel")),
        lookups_(lane(kLookupThreads, "users.info")),
        users_(safe_web_, clock, settings_.user_name_ttl, *lookups_, logger_),
        dialogs_(lane(settings_.dialog_threads, "views.open")),
        web_(safe_web_),
        member_lookups_(lane(kMemberLookupThreads, "users.info (members)")),
        gate_(settings_.workspace, safe_web_, scheduler, clock, *member_lookups_, logger_,
              [this](const slack::UserInfo& user) { users_.remember(user); }),
        signer_(settings_.signing_key.empty() ? core::MetadataSigner::random_key()
                                              : settings_.signing_key,
                clock, settings_.metadata_ttl) {
    if (!settings_.audit_channel.empty()) {
      announcer_ = std::make_unique<ChannelAnnouncer>(settings_.audit_channel, delivery_,
                                                      *announcements_, logger_);
    }
    infra::Replication replication;
    replication.state = settings_.state;
    replication.replica = settings_.replica;
    replication.opener = settings_.opener != nullptr ? settings_.opener : this;
    replication.across_front_ends = settings_.across_front_ends;
    lifecycle_ = std::make_unique<infra::Lifecycle>(settings_.lifecycle, runner, scheduler, clock,
                                                    metrics, logger_, std::move(audit),
                                                    announcer_.get(), &users_, replication);
    if (settings_.state != nullptr && settings_.state->shared()) {
      DeliveryClaimSettings claims;
      claims.replica = settings_.replica;
      claims_ = std::make_unique<DeliveryClaims>(
          *settings_.state, claims, clock, logger_,
          [this](const slack::Envelope& envelope,
                 const infra::JobRecord& job) -> std::optional<std::string> {
            // A slash command's ack showed its "working" message; a dialog's
            // submission closes with an empty one.
            if (!std::holds_alternative<slack::SlashCommand>(envelope.payload)) {
              return std::nullopt;
            }
            return settings_.redactor.redact(
                slack::blockkit::to_json(views::render_working(job.command)));
          });
    }
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
    metrics_.declare_counter("infra_envelopes_ignored_total",
                             "Envelopes acked and ignored (another workspace, a bot, a guest, "
                             "a forged reply address or metadata), by reason");
  }

  ~Impl() {
    // In the order their work depends on each other: no lane runs a task
    // whose objects are gone.
    claims_.reset();  // what it queued is handled (answered "restarting" when draining)
    *alive_ = false;  // answers of the gate still on the scheduler find nothing to do
    member_lookups_.reset();
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
    const auto author = author_of(envelope);
    if (!author || lifecycle_->draining()) return handle(envelope, ack, Verdict{}, received);
    if (auto verdict = gate_.decide_now(author->user_id, author->team_id, author->from_bot)) {
      return handle(envelope, ack, *verdict, received);
    }
    // users.info first, bounded by lookup_timeout (under Slack's 3 s for an
    // ack); every kind waits, so that one coming during a drain is left
    // unacked for the next instance. The answer runs on the scheduler, the
    // thread of on_envelope, which the service stops only after the App's
    // drain (alive_ guards tests that drop the App first).
    pending_asks_.fetch_add(1);
    gate_.ask(author->user_id, [this, alive = alive_, envelope, ack, received](Verdict verdict) {
      if (!*alive) return;
      handle(envelope, ack, verdict, received);
      pending_asks_.fetch_sub(1);
    });
  }

  void begin_drain() { lifecycle_->begin_drain(); }

  infra::DrainReport drain(milliseconds timeout) {
    const auto start = clock_.monotonic();
    // Envelopes waiting for users.info are answered ("restarting", or left
    // for redelivery) before the sockets close: at most lookup_timeout.
    lifecycle_->begin_drain();
    // Claims queued before the drain are handled (or answered "restarting").
    if (claims_) claims_->wait_idle(std::min(timeout, settings_.workspace.lookup_timeout));
    // (Counted in 5 ms steps, not read from a clock: a test's manual clock stands still.)
    constexpr milliseconds kStep{5};
    const auto bound = std::min(timeout, settings_.workspace.lookup_timeout + kMinFlush);
    for (auto waited = milliseconds{0}; pending_asks_.load() > 0 && waited < bound;
         waited += kStep) {
      std::this_thread::sleep_for(kStep);
    }
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

  // A dead replica's conversation (Conversation::address()), to report its job.
  std::shared_ptr<infra::Conversation> reopen(const std::string& address) override {
    auto target = target_from_address(address);
    if (!target) return nullptr;
    if (target->kind == ReplyTarget::Kind::response_url &&
        !acceptable_response_url(target->response_url, settings_.slack_api_url)) {
      logger_->warn("a stored reply address is not Slack's; the job is reported nowhere");
      return nullptr;
    }
    return conversation(std::move(*target), false);
  }

 private:
  // With replicas, the envelope is claimed first (DeliveryClaims); `ack` is
  // empty when the envelope was acked already (an event).
  void handle(const slack::Envelope& envelope, const AckFunction& ack, const Verdict& verdict,
              core::MonoTime received) {
    // While draining, a slash command is still claimed (its "restarting"
    // answer is then the one every replica gives it); anything else is left
    // unclaimed and unacked for another replica.
    const bool slash = std::holds_alternative<slack::SlashCommand>(envelope.payload);
    if (claims_ && (slash || !lifecycle_->draining()) &&
        verdict.standing != Verdict::Standing::outsider) {
      const bool queued = claims_->claim(
          envelope, ack,
          [this, alive = alive_, envelope, verdict, received](const AckFunction& claimed) {
            if (!*alive) return;
            handle_claimed(envelope, claimed, verdict, received);
          });
      if (queued) return;
      // Not handled here: the socket thread never waits for the store.
      logger_->warn("envelope {}: the claims lane is full; left for Slack to deliver again",
                    envelope.envelope_id);
      return;
    }
    handle_claimed(envelope, ack, verdict, received);
  }

  void handle_claimed(const slack::Envelope& envelope, const AckFunction& ack,
                      const Verdict& verdict, core::MonoTime received) {
    bool acked = !ack;
    auto send_ack = [&](std::optional<std::string> payload, AckWritten on_written = {}) {
      if (acked) {
        if (on_written) on_written();  // nothing to wait for
        return;
      }
      acked = true;
      if (payload) payload = settings_.redactor.redact(*payload);
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
    if (verdict.standing == Verdict::Standing::outsider) {
      send_ack(std::nullopt);
      return ignore(envelope, verdict.reason);
    }
    const bool verified = verdict.standing == Verdict::Standing::member;
    std::visit(core::Overloaded{
                   [&](const slack::SlashCommand& command) {
                     on_slash(envelope, command, send_ack, verified);
                   },
                   [&](const slack::Interaction& interaction) {
                     on_interaction(envelope, interaction, send_ack, verified);
                   },
                   [&](const slack::Event& event) {
                     send_ack(std::nullopt);
                     on_event(event, verified, delivery_of(envelope));
                   },
                   [&](const std::monostate&) { send_ack(std::nullopt); },
               },
               envelope.payload);
    send_ack(std::nullopt);  // every envelope is acked, whatever happened above
  }

  // Acked (by the caller), logged, audited, counted; nothing else.
  void ignore(const slack::Envelope& envelope, std::string_view reason) {
    logger_->info("envelope {} ({}) ignored: {}", envelope.envelope_id, envelope.type, reason);
    metrics_.increment("infra_envelopes_ignored_total", {{"reason", std::string(reason)}});
    lifecycle_->ignored(inbound_of(envelope), reason);
  }

  // The key its delivery was claimed under (with replicas; else empty).
  std::string delivery_of(const slack::Envelope& envelope) const {
    return claims_ ? DeliveryClaims::key_of(envelope) : std::string();
  }

  // Button values of a message, signed (the teardown prompt's button).
  void sign_buttons(Message& message) const {
    for (auto& block : message.blocks) {
      if (auto* actions = std::get_if<core::reply::Actions>(&block)) {
        for (auto& button : actions->buttons) button.value = signer_.sign(button.value);
      }
    }
  }

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
  void on_slash(const slack::Envelope& envelope, const slack::SlashCommand& slash,
                SendAck& send_ack, bool verified) {
    if (!slash.response_url.empty() &&
        !acceptable_response_url(slash.response_url, settings_.slack_api_url)) {
      // Its answers would go wherever the URL points: nothing is run.
      send_ack(slack::blockkit::to_json(
          notice("This command came with a reply address that is not Slack's, so it was refused. "
                 "Tell the bot's operator.")));
      return ignore(envelope, "response_url_not_slack");
    }
    infra::Inbound request{
        "slash_command",
        infra::Requester{slash.user_id, slash.user_name, slash.team_id, slash.channel_id},
        slash.text, slash.response_url};
    request.who.verified = verified;
    request.delivery = delivery_of(envelope);
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
  void on_interaction(const slack::Envelope& envelope, const slack::Interaction& interaction,
                      SendAck& send_ack, bool verified) {
    if (interaction.view_callback_id == views::kTeardownCallbackId) {
      if (interaction.type == "view_submission") {
        return on_submission(envelope, interaction, send_ack, verified);
      }
      if (interaction.type == "view_closed") {
        send_ack(std::nullopt);
        return on_closed(envelope, interaction, verified);
      }
    }
    if (interaction.type == "block_actions") {
      for (const auto& action : interaction.actions) {
        if (action.action_id == views::kOpenTeardownActionId) {
          send_ack(std::nullopt);
          return on_teardown_button(envelope, interaction, action.value, verified);
        }
      }
    }
    send_ack(std::nullopt);
  }

  // The confirmation a signed button value or modal metadata carries: signed
  // by this process, not expired, well formed, and answering on Slack.
  core::Result<views::TeardownConfirmation> open_confirmation(std::string_view signed_text) {
    auto payload = signer_.open(signed_text);
    if (!payload) return payload.error();
    auto confirmation = views::parse_teardown_metadata(*payload);
    if (!confirmation) return confirmation.error();
    if (!confirmation->response_url.empty() &&
        !acceptable_response_url(confirmation->response_url, settings_.slack_api_url)) {
      return core::make_error(core::ErrorCode::invalid_input,
                              "This confirmation is no longer valid. Run the command again.",
                              "metadata: response_url not Slack's");
    }
    return confirmation;
  }

  template <typename SendAck>
  void on_submission(const slack::Envelope& envelope, const slack::Interaction& interaction,
                     SendAck& send_ack, bool verified) {
    auto confirmation = open_confirmation(interaction.view_private_metadata);
    if (!confirmation) {
      logger_->warn("teardown submission refused: {}", confirmation.error().detail);
      send_ack(
          errors_payload("This confirmation is no longer valid (they last 15 minutes). Close it "
                         "and run the command again."));
      return ignore(envelope, "metadata_invalid");
    }
    std::string typed;
    for (const auto& value : interaction.values) {
      if (value.block_id == views::kTeardownBlockId &&
          value.action_id == views::kTeardownActionId) {
        typed = value.value;
      }
    }
    infra::Inbound request{"modal",
                           infra::Requester{interaction.user_id, interaction.user_name,
                                            interaction.team_id, confirmation->channel_id},
                           "", confirmation->response_url};
    request.who.verified = verified;
    request.delivery = delivery_of(envelope);
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

  void on_closed(const slack::Envelope& envelope, const slack::Interaction& interaction,
                 bool verified) {
    auto confirmation = open_confirmation(interaction.view_private_metadata);
    if (!confirmation) {
      logger_->warn("teardown modal closed with bad metadata: {}", confirmation.error().detail);
      return ignore(envelope, "metadata_invalid");
    }
    infra::Inbound request{"modal",
                           infra::Requester{interaction.user_id, interaction.user_name,
                                            interaction.team_id, confirmation->channel_id},
                           "", confirmation->response_url};
    request.who.verified = verified;
    const auto notice = lifecycle_->cancelled(*confirmation, request);
    conversation(response_url_or_channel(confirmation->response_url, confirmation->channel_id,
                                         interaction.user_id),
                 false)
        ->answer_privately(notice);
  }

  void on_teardown_button(const slack::Envelope& envelope, const slack::Interaction& interaction,
                          const std::string& value, bool verified) {
    if (!interaction.response_url.empty() &&
        !acceptable_response_url(interaction.response_url, settings_.slack_api_url)) {
      logger_->warn("teardown button with a response_url that is not Slack's; refused");
      return ignore(envelope, "response_url_not_slack");
    }
    auto confirmation = open_confirmation(value);
    if (!confirmation) {
      logger_->warn("teardown button refused: {}", confirmation.error().detail);
      conversation(response_url_or_channel(interaction.response_url, interaction.channel_id,
                                           interaction.user_id),
                   false)
          ->answer_privately(
              notice("This button is no longer valid (they last 15 minutes). Mention me again to "
                     "start over."));
      return ignore(envelope, "metadata_invalid");
    }
    if (confirmation->channel_id.empty()) confirmation->channel_id = interaction.channel_id;
    confirmation->response_url = interaction.response_url;
    infra::Inbound request{"mention",
                           infra::Requester{interaction.user_id, interaction.user_name,
                                            interaction.team_id, confirmation->channel_id},
                           "", interaction.response_url};
    request.who.verified = verified;
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
    // Signed here, on the socket thread's clock reading: the dialog is valid
    // for metadata_ttl from now.
    auto modal = confirm.needs.modal;
    modal.private_metadata = signer_.sign(modal.private_metadata);
    auto task = [this, trigger_id, confirm = std::move(confirm), modal = std::move(modal), request,
                 target] {
      auto opened = web_.open_view(trigger_id, slack::blockkit::to_json(modal));
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

  void on_event(const slack::Event& event, bool verified, const std::string& delivery) {
    if (event.type != "app_mention" || event.user.empty()) return;
    ReplyTarget target;
    target.kind = ReplyTarget::Kind::thread;
    target.channel = event.channel;
    target.user = event.user;
    target.thread_ts = event.thread_ts.empty() ? event.ts : event.thread_ts;
    infra::Inbound request{"mention",
                           infra::Requester{event.user, "", event.team_id, event.channel},
                           mention_text(event.text), ""};
    request.who.verified = verified;
    request.delivery = delivery;
    auto thread = conversation(target, false);  // acked already
    auto outcome = lifecycle_->submit(request, thread);
    std::visit(core::Overloaded{
                   // Refusals and errors only to the author, not the thread.
                   [&](infra::Answer& answer) { thread->answer_privately(answer.message); },
                   // "Working…" in the thread at once (the core called started()
                   // before it queued the job), then updated in place.
                   [&](infra::Accepted&) {},
                   [&](infra::Confirm& confirm) {
                     // No trigger_id in an event: a button brings the modal.
                     auto prompt = views::render_teardown_prompt(confirm.needs.confirmation);
                     sign_buttons(prompt);
                     thread->answer_privately(prompt);
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
  slack::RedactingWebApi safe_web_;  // every text to Slack passes the redactor
  Delivery delivery_;
  std::unique_ptr<core::StrandPool> replies_;
  std::unique_ptr<core::StrandPool> announcements_;
  std::unique_ptr<core::StrandPool> lookups_;
  UserDirectory users_;
  std::unique_ptr<core::StrandPool> dialogs_;
  slack::WebApi& web_;
  std::unique_ptr<ChannelAnnouncer> announcer_;
  std::unique_ptr<infra::Lifecycle> lifecycle_;
  std::unique_ptr<DeliveryClaims> claims_;  ///< with replicas only; destroyed first
  std::atomic<std::uint64_t> next_strand_{1};
  std::vector<std::pair<std::string, core::metrics::Counter>> envelopes_by_type_;
  std::unique_ptr<core::StrandPool> member_lookups_;
  WorkspaceGate gate_;
  core::MetadataSigner signer_;
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  std::atomic<int> pending_asks_{0};  // envelopes waiting for the gate's users.info
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
infra::ConversationOpener& App::opener() { return *impl_; }

}  // namespace slack_front
