#pragma once
// Where the answers of one Discord interaction go (infra::Conversation): its
// initial callback first, then edits of @original and follow-ups through the
// interaction webhook, in order, on a lane thread with no lock of the core
// held. The interaction token is valid for 15 minutes and is a secret.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "core/redactor.hpp"
#include "core/reply.hpp"
#include "core/strand_pool.hpp"
#include "discord/rest_client.hpp"
#include "infra/conversation.hpp"

namespace discord_front {

/// Where an interaction's answers go.
struct ReplyTarget {
  std::string application_id;
  std::string interaction_id;  ///< the callback's address (with the token)
  std::string token;           ///< secret
  /// The initial response is only the requester's (its flags fix it).
  bool ephemeral_original = true;
  /// Where the interaction came from: a result for everyone is posted there
  /// by the bot when the interaction's token has expired (15 minutes).
  std::string channel_id{};
};

/// As text for Conversation::address() (another replica reopens it), and back.
std::string to_address(const ReplyTarget& target);
std::optional<ReplyTarget> target_from_address(std::string_view address);

/// Sends with the REST client; a failure is logged (never the token).
class Sender {
 public:
  Sender(discord::RestClient& rest, core::Redactor redactor, core::LoggerPtr logger)
      : rest_(rest), redactor_(std::move(redactor)), logger_(std::move(logger)) {}
  /// The initial response: `body` a whole callback ({"type":…,"data":…}).
  core::Status callback(const ReplyTarget& target, const std::string& body);
  /// Edits the initial response.
  void edit_original(const ReplyTarget& target, const core::reply::Message& message);
  /// A new message in the interaction's channel (ephemeral: only the requester's).
  core::Status follow_up(const ReplyTarget& target, const core::reply::Message& message,
                         bool ephemeral);
  /// The final answer: where a Slack user would see it. In the channel
  /// (in_channel) as a new message everyone sees — posted by the bot in the
  /// channel when the interaction's token has expired (a job longer than 15
  /// minutes); the requester's own (ephemeral) in place of the initial
  /// response when that is theirs too.
  void deliver(const ReplyTarget& target, const core::reply::Message& message);

 private:
  discord::RestClient& rest_;
  core::Redactor redactor_;
  core::LoggerPtr logger_;
};

/// One interaction's later answers. Everything queued before open() waits for
/// the initial response, which must reach Discord first.
class DiscordConversation final : public infra::Conversation,
                                  public std::enable_shared_from_this<DiscordConversation> {
 public:
  /// `decorate` may add to the final message (the status card's buttons).
  DiscordConversation(ReplyTarget target, Sender& sender, core::StrandPool& lane,
                      std::uint64_t strand,
                      std::function<void(core::reply::Message&)> decorate = {});

  /// Whether the initial response is the requester's only (before open()).
  void set_ephemeral_original(bool ephemeral);
  /// Sends the initial response (`callback_body`; empty: none, it was sent
  /// already), then what was queued.
  void open(std::string callback_body);

  void started(const core::reply::Message& message) override;
  void progress(const core::reply::Message& message) override;
  void finished(const core::reply::Message& message) override;
  void then(std::function<void()> task) override;
  std::string address() const override { return to_address(target_); }

 private:
  void queue(std::function<void(const ReplyTarget&)> task);
  // Requires mutex_.
  void post(std::function<void()> task);

  ReplyTarget target_;
  Sender& sender_;
  core::StrandPool& lane_;
  std::uint64_t strand_;
  std::function<void(core::reply::Message&)> decorate_;
  std::mutex mutex_;
  bool opened_ = false;
  std::vector<std::function<void()>> waiting_;
};

}  // namespace discord_front
