#include "discord_front/front.hpp"

#include <fmt/format.h>

#include <atomic>
#include <functional>
#include <variant>

#include "core/strand_pool.hpp"
#include "discord/interaction.hpp"
#include "discord/message.hpp"
#include "discord_conversation.hpp"
#include "discord_front/command_set.hpp"
#include "infra/views.hpp"

namespace discord_front {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kButtonAction = "infra";
constexpr std::string_view kTeardownModal = "infra_teardown";

core::reply::Message notice(std::string text) {
  core::reply::Message message;
  message.text = text;
  message.blocks.emplace_back(core::reply::Section{{}, {std::move(text)}});
  message.visibility = core::reply::Visibility::ephemeral;
  return message;
}

// An immediate answer (type 4): only the requester's.
std::string message_callback(const core::reply::Message& message) {
  return fmt::format(R"({{"type":4,"data":{}}})", discord::render_message(message, true));
}

std::string deferred_callback(bool ephemeral) {
  return ephemeral ? std::string(R"({"type":5,"data":{"flags":64}})")
                   : std::string(R"({"type":5})");
}

std::string teardown_modal_id(const infra::views::TeardownConfirmation& confirmation) {
  return fmt::format("{}|{}|{}", kTeardownModal, confirmation.environment,
                     infra::to_string(confirmation.level));
}

std::optional<infra::views::TeardownConfirmation> teardown_from_modal_id(std::string_view id) {
  const auto first = id.find('|');
  const auto second = id.rfind('|');
  if (first == std::string_view::npos || second == first || id.substr(0, first) != kTeardownModal) {
    return std::nullopt;
  }
  infra::views::TeardownConfirmation confirmation;
  confirmation.environment = std::string(id.substr(first + 1, second - first - 1));
  const auto level = id.substr(second + 1);
  if (confirmation.environment.empty()) return std::nullopt;
  if (level == infra::to_string(infra::TeardownLevel::full)) {
    confirmation.level = infra::TeardownLevel::full;
  } else if (level == infra::to_string(infra::TeardownLevel::services)) {
    confirmation.level = infra::TeardownLevel::services;
  } else {
    return std::nullopt;
  }
  return confirmation;
}

}  // namespace

FrontSettings FrontSettings::from(const core::Config& config) {
  FrontSettings settings;
  settings.guild_id = config.discord_guild_id;
  settings.lifecycle = infra::LifecycleSettings::from(config);
  return settings;
}

class Front::Impl final : public infra::ConversationOpener {
 public:
  Impl(FrontSettings settings, infra::CommandRunner& runner, discord::RestClient& rest,
       core::Scheduler& scheduler, const core::Clock& clock, core::metrics::Registry& metrics,
       core::LoggerPtr logger, core::LoggerPtr audit)
      : settings_(std::move(settings)),
        runner_(runner),
        logger_(std::move(logger)),
        sender_(rest, settings_.redactor, logger_),
        replies_(std::make_unique<core::StrandPool>(
            settings_.reply_threads, settings_.max_queued,
            [this](const std::string& what) { logger_->error("discord reply lane: {}", what); })),
        interactions_(std::make_unique<core::StrandPool>(
            settings_.interaction_threads, settings_.max_queued, [this](const std::string& what) {
              logger_->error("discord interaction lane: {}", what);
            })) {
    infra::Replication replication;
    replication.state = settings_.state;
    replication.replica = settings_.replica;
    replication.opener = settings_.opener != nullptr ? settings_.opener : this;
    replication.across_front_ends = settings_.across_front_ends;
    lifecycle_ = std::make_unique<infra::Lifecycle>(settings_.lifecycle, runner, scheduler, clock,
                                                    metrics, logger_, std::move(audit), nullptr,
                                                    nullptr, replication);
    metrics.declare_counter("infra_discord_interactions_total",
                            "Discord interactions taken, by type");
    for (const char* type : {"command", "button", "modal", "refused", "malformed"}) {
      counters_.emplace_back(type,
                             metrics.counter("infra_discord_interactions_total", {{"type", type}}));
    }
  }

  ~Impl() {
    interactions_.reset();  // no new request reaches the lifecycle
    lifecycle_->drain(milliseconds{0});
    lifecycle_.reset();  // joins the jobs: they answer on the replies lane
    replies_.reset();
  }

  void on_interaction(std::string_view data_json) {
    auto parsed = discord::parse_interaction(data_json);
    if (!parsed) {
      count("malformed");
      logger_->warn("discord: an interaction could not be read: {}", parsed.error().detail);
      return;
    }
    auto interaction = std::make_shared<discord::Interaction>(std::move(parsed).value());
    const auto strand = next_strand_.fetch_add(1);
    if (!interactions_->post(strand, [this, interaction] { handle(*interaction); })) {
      logger_->warn("discord: interaction {} dropped: the lane is full", interaction->id);
    }
  }

  void begin_drain() { lifecycle_->begin_drain(); }
  infra::DrainReport drain(milliseconds timeout) {
    auto report = lifecycle_->drain(timeout);
    interactions_->wait_idle(milliseconds(500));
    replies_->wait_idle(std::max(milliseconds(500), timeout / 5));
    return report;
  }
  std::size_t jobs_in_flight() const { return lifecycle_->jobs_in_flight(); }

  // A dead replica's Discord conversation: its answers become follow-ups.
  std::shared_ptr<infra::Conversation> reopen(const std::string& address) override {
    auto target = target_from_address(address);
    if (!target) return nullptr;
    auto conversation = std::make_shared<DiscordConversation>(*target, sender_, *replies_,
                                                              next_strand_.fetch_add(1));
    conversation->open({});
    return conversation;
  }

 private:
  void count(std::string_view type) {
    for (auto& [name, counter] : counters_) {
      if (name == type) counter.increment();
    }
  }

  ReplyTarget target_of(const discord::Interaction& interaction, bool ephemeral) const {
    return ReplyTarget{interaction.application_id, interaction.id, interaction.token, ephemeral,
                       interaction.channel_id};
  }

  infra::Inbound inbound_of(const discord::Interaction& interaction, std::string source,
                            std::string text) const {
    infra::Inbound inbound;
    inbound.source = std::move(source);
    inbound.who.user_id = interaction.user_id;
    inbound.who.user_name = interaction.user_name;
    inbound.who.team_id = interaction.guild_id;
    inbound.who.channel_id = interaction.channel_id;
    inbound.who.chat = infra::Chat::discord;
    inbound.who.roles = interaction.roles;
    inbound.text = std::move(text);
    return inbound;
  }

  // An answer at once, only the requester's (type 4), for what is refused
  // before anything could run (another guild, a malformed command).
  void answer_now(const discord::Interaction& interaction, const core::reply::Message& message) {
    (void)sender_.callback(target_of(interaction, true), message_callback(message));
  }

  // The initial response that takes the interaction, sent before anything is
  // admitted: a deferred, ephemeral "thinking" (type 5). Discord takes one
  // initial response per interaction, so when it refuses this one — 40060,
  // another process of the bot took it (a rolling deploy: every Gateway
  // session receives each interaction; a replayed dispatch), or 10062, too
  // late — nothing runs here, and nothing runs that its requester was told
  // had failed.
  bool defer(const discord::Interaction& interaction, const infra::Inbound& inbound) {
    auto sent = sender_.callback(target_of(interaction, true), deferred_callback(true));
    if (sent) return true;
    const auto& detail = sent.error().detail;
    if (detail.find("40060") != std::string::npos) {
      logger_->info("discord: interaction {} was taken by another process of the bot",
                    interaction.id);
      return false;
    }
    lifecycle_->ignored(inbound, "the interaction could not be acknowledged: " +
                                     (detail.empty() ? sent.error().user_message : detail));
    return false;
  }

  void handle(const discord::Interaction& interaction) {
    using Type = discord::InteractionType;
    if (interaction.type == Type::ping || interaction.type == Type::autocomplete) return;
    if (!first_to_take(interaction)) return;
    if (interaction.guild_id.empty() || interaction.guild_id != settings_.guild_id) {
      count("refused");
      const bool dm = interaction.guild_id.empty();
      lifecycle_->ignored(inbound_of(interaction, "discord", ""),
                          dm ? "direct message" : "another Discord server");
      answer_now(interaction,
                 notice(dm ? "infra-bot takes commands only in its Discord server, not in "
                             "direct messages."
                           : "infra-bot does not serve this Discord server."));
      return;
    }
    switch (interaction.type) {
      case Type::application_command:
        return on_command(interaction);
      case Type::message_component:
        return on_button(interaction);
      case Type::modal_submit:
        return on_modal(interaction);
      default:
        return;
    }
  }

  // Every Gateway session of the bot receives the interaction: with replicas
  // (each its own session) the first to claim it answers, the others stay
  // silent. When the state cannot be reached it is taken: the lifecycle then
  // refuses changes, and a second answer meets Discord's "already
  // acknowledged".
  bool first_to_take(const discord::Interaction& interaction) {
    if (settings_.state == nullptr || !settings_.state->shared()) return true;
    auto first = settings_.state->claim_once("discord interaction " + interaction.id,
                                             std::chrono::minutes(15));
    if (!first) {
      logger_->warn(
          "discord: interaction {} taken without a claim: {}", interaction.id,
          first.error().detail.empty() ? first.error().user_message : first.error().detail);
      return true;
    }
    if (!*first) logger_->debug("discord: interaction {} is another replica's", interaction.id);
    return *first;
  }

  void on_command(const discord::Interaction& interaction) {
    count("command");
    auto text = command_text(interaction);
    if (!text) {
      lifecycle_->ignored(inbound_of(interaction, "discord_command", interaction.command_name),
                          text.error().detail.empty() ? "malformed options" : text.error().detail);
      answer_now(interaction, notice(text.error().user_message));
      return;
    }
    auto inbound = inbound_of(interaction, "discord_command", *text);
    // A teardown's typed confirmation is a modal, which can only be the initial response.
    if (auto parsed = runner_.parse(*text);
        std::holds_alternative<infra::Command>(parsed) &&
        std::holds_alternative<infra::Teardown>(std::get<infra::Command>(parsed))) {
      return submit_teardown(interaction, inbound);
    }
    if (!defer(interaction, inbound)) return;
    submit(interaction, inbound);
  }

  void on_button(const discord::Interaction& interaction) {
    count("button");
    const auto& id = interaction.custom_id;
    const std::string prefix = std::string(kButtonAction) + "|";
    if (id.rfind(prefix, 0) != 0 || id.size() == prefix.size()) {
      lifecycle_->ignored(inbound_of(interaction, "discord_button", ""), "unknown button");
      answer_now(interaction, notice("This button is not infra-bot's any more."));
      return;
    }
    // The button carries the command's text; who clicks is checked as if they typed it.
    auto inbound = inbound_of(interaction, "discord_button", id.substr(prefix.size()));
    if (!defer(interaction, inbound)) return;
    submit(interaction, inbound);
  }

  void on_modal(const discord::Interaction& interaction) {
    count("modal");
    auto confirmation = teardown_from_modal_id(interaction.custom_id);
    auto typed = interaction.modal_values.find(std::string(infra::views::kTeardownActionId));
    auto inbound = inbound_of(interaction, "discord_modal", "");
    if (!confirmation || typed == interaction.modal_values.end()) {
      lifecycle_->ignored(inbound, "malformed confirmation");
      answer_now(interaction,
                 notice("That confirmation could not be read; run the command again."));
      return;
    }
    confirmation->channel_id = interaction.channel_id;
    inbound.text = fmt::format("teardown {} --level={}", confirmation->environment,
                               infra::to_string(confirmation->level));
    if (!defer(interaction, inbound)) return;
    auto conversation = std::make_shared<DiscordConversation>(target_of(interaction, true), sender_,
                                                              *replies_, next_strand_.fetch_add(1));
    const auto outcome =
        lifecycle_->confirm(*confirmation, typed->second, inbound, interaction.id, conversation);
    respond_deferred(interaction, outcome, inbound, conversation);
  }

  // A deferred interaction's request.
  void submit(const discord::Interaction& interaction, const infra::Inbound& inbound) {
    // A status card gets buttons to act on what it shows, each checked again.
    std::function<void(core::reply::Message&)> decorate;
    if (auto parsed = runner_.parse(inbound.text); std::holds_alternative<infra::Command>(parsed)) {
      const auto& command = std::get<infra::Command>(parsed);
      if (const auto* status = std::get_if<infra::Status>(&command)) {
        decorate = [environment = status->env](core::reply::Message& message) {
          core::reply::Actions actions;
          const std::string action(kButtonAction);
          actions.buttons.push_back({"Stop", action, "stop " + environment, true});
          actions.buttons.push_back({"Start", action, "start " + environment, false});
          actions.buttons.push_back({"Refresh", action, "status " + environment, false});
          message.blocks.emplace_back(std::move(actions));
        };
      }
    }
    auto conversation =
        std::make_shared<DiscordConversation>(target_of(interaction, true), sender_, *replies_,
                                              next_strand_.fetch_add(1), std::move(decorate));
    const auto outcome = lifecycle_->submit(inbound, conversation);
    respond_deferred(interaction, outcome, inbound, conversation);
  }

  // After the deferral: everything shown edits the requester's own response;
  // a job's answers come through its conversation.
  void respond_deferred(const discord::Interaction& interaction, const infra::Outcome& outcome,
                        const infra::Inbound& inbound,
                        const std::shared_ptr<DiscordConversation>& conversation) {
    const auto target = target_of(interaction, true);
    std::visit(
        [&](const auto& result) {
          using T = std::decay_t<decltype(result)>;
          if constexpr (std::is_same_v<T, infra::Answer>) {
            sender_.edit_original(target, result.message);
          } else if constexpr (std::is_same_v<T, infra::Accepted>) {
            conversation->open({});
          } else if constexpr (std::is_same_v<T, infra::Confirm>) {
            // A modal can only be an initial response: never reached from a deferral.
            lifecycle_->confirmation_shown(result, inbound, "failed", "deferred interaction");
            sender_.edit_original(target, notice("Run `/infra teardown` to confirm a teardown."));
          } else if constexpr (std::is_same_v<T, infra::Mismatch>) {
            sender_.edit_original(target, notice(result.error_text));
          } else {
            sender_.edit_original(target, notice("Already handled."));
          }
        },
        outcome);
  }

  // /infra teardown: its confirmation (a modal) is the initial response.
  void submit_teardown(const discord::Interaction& interaction, const infra::Inbound& inbound) {
    auto conversation = std::make_shared<DiscordConversation>(target_of(interaction, true), sender_,
                                                              *replies_, next_strand_.fetch_add(1));
    const auto outcome = lifecycle_->submit(inbound, conversation);
    std::visit(
        [&](const auto& result) {
          using T = std::decay_t<decltype(result)>;
          if constexpr (std::is_same_v<T, infra::Confirm>) {
            const auto body =
                fmt::format(R"({{"type":9,"data":{}}})",
                            discord::render_modal(result.needs.modal,
                                                  teardown_modal_id(result.needs.confirmation)));
            auto shown = sender_.callback(target_of(interaction, true), body);
            lifecycle_->confirmation_shown(result, inbound, shown ? "modal_opened" : "failed",
                                           shown ? std::string() : shown.error().detail);
          } else if constexpr (std::is_same_v<T, infra::Answer>) {
            answer_now(interaction, result.message);
          } else if constexpr (std::is_same_v<T, infra::Accepted>) {
            // Not how a teardown starts today; answered as any job if it ever is.
            (void)sender_.callback(target_of(interaction, true), deferred_callback(true));
            conversation->open({});
          } else if constexpr (std::is_same_v<T, infra::Mismatch>) {
            answer_now(interaction, notice(result.error_text));
          } else {
            answer_now(interaction, notice("Already handled."));
          }
        },
        outcome);
  }

  FrontSettings settings_;
  infra::CommandRunner& runner_;
  core::LoggerPtr logger_;
  Sender sender_;
  std::vector<std::pair<std::string, core::metrics::Counter>> counters_;
  std::atomic<std::uint64_t> next_strand_{1};
  std::unique_ptr<core::StrandPool> replies_;
  std::unique_ptr<infra::Lifecycle> lifecycle_;
  // Last: joined first (its tasks use the lifecycle and the replies lane).
  std::unique_ptr<core::StrandPool> interactions_;
};

Front::Front(FrontSettings settings, infra::CommandRunner& runner, discord::RestClient& rest,
             core::Scheduler& scheduler, const core::Clock& clock, core::metrics::Registry& metrics,
             core::LoggerPtr logger, core::LoggerPtr audit)
    : impl_(std::make_unique<Impl>(std::move(settings), runner, rest, scheduler, clock, metrics,
                                   std::move(logger), std::move(audit))) {}
Front::~Front() = default;
void Front::on_interaction(std::string_view data_json) { impl_->on_interaction(data_json); }
void Front::begin_drain() { impl_->begin_drain(); }
infra::DrainReport Front::drain(std::chrono::milliseconds timeout) { return impl_->drain(timeout); }
std::size_t Front::jobs_in_flight() const { return impl_->jobs_in_flight(); }
infra::ConversationOpener& Front::opener() { return *impl_; }

}  // namespace discord_front
