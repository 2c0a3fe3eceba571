#include "discord_conversation.hpp"

#include <fmt/format.h>

#include "discord/message.hpp"

namespace discord_front {

std::string to_address(const ReplyTarget& target) {
  return fmt::format("discord {} {} {} {} {}", target.application_id, target.interaction_id,
                     target.ephemeral_original ? "e" : "c",
                     target.channel_id.empty() ? "-" : target.channel_id, target.token);
}

std::optional<ReplyTarget> target_from_address(std::string_view address) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= address.size()) {
    const auto end = std::min(address.find(' ', start), address.size());
    parts.push_back(address.substr(start, end - start));
    start = end + 1;
  }
  if (parts.size() != 6 || parts[0] != "discord" || parts[1].empty() || parts[2].empty() ||
      (parts[3] != "e" && parts[3] != "c") || parts[4].empty() || parts[5].empty()) {
    return std::nullopt;
  }
  return ReplyTarget{std::string(parts[1]), std::string(parts[2]), std::string(parts[5]),
                     parts[3] == "e", parts[4] == "-" ? std::string() : std::string(parts[4])};
}

core::Status Sender::callback(const ReplyTarget& target, const std::string& body) {
  auto sent =
      rest_.interaction_callback(target.interaction_id, target.token, redactor_.redact(body));
  if (!sent) {
    logger_->warn("discord: the response to interaction {} failed: {}", target.interaction_id,
                  sent.error().detail.empty() ? sent.error().user_message : sent.error().detail);
  }
  return sent;
}

void Sender::edit_original(const ReplyTarget& target, const core::reply::Message& message) {
  auto sent = rest_.edit_original(target.application_id, target.token,
                                  redactor_.redact(discord::render_message(message, false)));
  if (!sent) {
    logger_->warn("discord: editing the answer to interaction {} failed: {}", target.interaction_id,
                  sent.error().detail.empty() ? sent.error().user_message : sent.error().detail);
  }
}

core::Status Sender::follow_up(const ReplyTarget& target, const core::reply::Message& message,
                               bool ephemeral) {
  auto sent = rest_.follow_up(target.application_id, target.token,
                              redactor_.redact(discord::render_message(message, ephemeral)));
  if (!sent) {
    logger_->warn("discord: a follow-up to interaction {} failed: {}", target.interaction_id,
                  sent.error().detail.empty() ? sent.error().user_message : sent.error().detail);
  }
  return sent;
}

void Sender::deliver(const ReplyTarget& target, const core::reply::Message& message) {
  const bool for_everyone = message.visibility == core::reply::Visibility::in_channel;
  if (!for_everyone && target.ephemeral_original) return edit_original(target, message);
  auto sent = follow_up(target, message, !for_everyone);
  // An expired token (401, Invalid Webhook Token) or an unknown webhook: the
  // channel still hears the result, from the bot (it needs View Channel, Send
  // Messages and Embed Links there). A private answer is never posted there.
  const bool token_gone = !sent && (sent.error().code == core::ErrorCode::denied ||
                                    sent.error().code == core::ErrorCode::not_found);
  if (!token_gone || !for_everyone || target.channel_id.empty()) return;
  auto posted = rest_.call("POST", fmt::format("/channels/{}/messages", target.channel_id),
                           redactor_.redact(discord::render_message(message, false)), true);
  if (!posted) {
    logger_->warn(
        "discord: the result of interaction {} could not be posted in channel {} "
        "either: {}",
        target.interaction_id, target.channel_id,
        posted.error().detail.empty() ? posted.error().user_message : posted.error().detail);
  } else {
    logger_->info(
        "discord: interaction {}'s token had expired; its result was posted in "
        "channel {}",
        target.interaction_id, target.channel_id);
  }
}

DiscordConversation::DiscordConversation(ReplyTarget target, Sender& sender, core::StrandPool& lane,
                                         std::uint64_t strand,
                                         std::function<void(core::reply::Message&)> decorate)
    : target_(std::move(target)),
      sender_(sender),
      lane_(lane),
      strand_(strand),
      decorate_(std::move(decorate)) {}

void DiscordConversation::set_ephemeral_original(bool ephemeral) {
  std::lock_guard guard(mutex_);
  target_.ephemeral_original = ephemeral;
}

void DiscordConversation::open(std::string callback_body) {
  // Posted under the lock: an answer queued meanwhile (a fast job finishing
  // on a worker) goes behind these, never ahead of the initial response.
  std::lock_guard guard(mutex_);
  if (opened_) return;
  opened_ = true;
  if (!callback_body.empty()) {
    post([target = target_, &sender = sender_, body = std::move(callback_body)] {
      (void)sender.callback(target, body);
    });
  }
  for (auto& task : waiting_) post(std::move(task));
  waiting_.clear();
}

void DiscordConversation::post(std::function<void()> task) {
  if (!lane_.post(strand_, task)) {
    // The lane is full (or closing): sent here rather than lost — a job
    // record's removal among them, which would otherwise hold its lock.
    task();
  }
}

// The target is read when the task runs: set_ephemeral_original() may come
// after the core queued the first answers, never after open() — and no task
// runs before open(), so target_ is read without the lock (a task may run
// inline, under it, when the lane is full).
void DiscordConversation::queue(std::function<void(const ReplyTarget&)> task) {
  auto run = [self = shared_from_this(), task = std::move(task)] { task(self->target_); };
  std::lock_guard guard(mutex_);
  if (!opened_) {
    waiting_.push_back(std::move(run));
    return;
  }
  post(std::move(run));
}

void DiscordConversation::started(const core::reply::Message& message) {
  queue([&sender = sender_, message](const ReplyTarget& target) {
    // The requester's own response first: after a deferral Discord turns the
    // first follow-up into an edit of the "thinking" response instead.
    sender.edit_original(target, message);
    // A confirmed teardown is announced to the channel at once.
    if (message.visibility == core::reply::Visibility::in_channel && target.ephemeral_original) {
      (void)sender.follow_up(target, message, false);
    }
  });
}

void DiscordConversation::progress(const core::reply::Message& message) {
  queue([&sender = sender_, message](const ReplyTarget& target) {
    sender.edit_original(target, message);
  });
}

void DiscordConversation::finished(const core::reply::Message& message) {
  auto final_message = message;
  if (decorate_) decorate_(final_message);
  queue([&sender = sender_, final_message](const ReplyTarget& target) {
    sender.deliver(target, final_message);
  });
}

void DiscordConversation::then(std::function<void()> task) {
  queue([task = std::move(task)](const ReplyTarget&) { task(); });
}

}  // namespace discord_front
