#pragma once
// Where the answers of one Slack request go, and the lanes that send them.
// Everything here sends on a lane thread with no lock of the core held; the
// core only queues (infra::Conversation).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "core/reply.hpp"
#include "core/strand_pool.hpp"
#include "infra/conversation.hpp"
#include "slack/web_api.hpp"

namespace slack_front {

/// Where the answers of one request go.
struct ReplyTarget {
  enum class Kind {
    response_url,  ///< a slash command, a modal or a button: new messages via its response_url
    thread,        ///< a mention: one message in its thread, updated in place
    channel,       ///< no response_url: chat.postMessage / chat.postEphemeral
  };
  Kind kind = Kind::channel;
  std::string response_url;
  std::string channel;
  std::string user;       ///< the requester (ephemeral answers)
  std::string thread_ts;  ///< Kind::thread
};

/// A target as text (Conversation::address(): kept in the shared state so
/// that another replica can answer there), and back; nullopt when `address`
/// is not one.
std::string to_address(const ReplyTarget& target);
std::optional<ReplyTarget> target_from_address(std::string_view address);

/// Sends messages to targets (blocking Web API calls: lane threads only).
class Delivery {
 public:
  Delivery(slack::WebApi& web, core::LoggerPtr logger) : web_(web), logger_(std::move(logger)) {}

  /// A new message where the request came from, seen by whom its visibility
  /// says. A response_url that fails for sure (expired, 404) falls back to
  /// the channel; one that may have been delivered is not repeated.
  void post(const ReplyTarget& target, const core::reply::Message& message);
  /// Only the requester sees it.
  void post_privately(const ReplyTarget& target, const core::reply::Message& message);
  /// A mention's thread message: posted once (its ts kept in `ts`), then
  /// updated in place.
  void post_or_update(const ReplyTarget& target, const core::reply::Message& message,
                      std::string& ts);
  void post_to_channel(const std::string& channel, const core::reply::Message& message);

 private:
  slack::WebApi& web_;
  core::LoggerPtr logger_;
};

/// The answers of one request, in order on its own strand of the replies
/// lane. Held back until the request's ack is written (ack_written()), so a
/// quick result never lands before the ack's "working" message.
class SlackConversation final : public infra::Conversation,
                                public std::enable_shared_from_this<SlackConversation> {
 public:
  SlackConversation(ReplyTarget target, Delivery& delivery, core::StrandPool& lane,
                    std::uint64_t strand, core::LoggerPtr logger);

  /// Posted unless the ack carried it (a slash command): a mention's
  /// "Working…", a confirmed teardown's "started by".
  void started(const core::reply::Message& message) override;
  /// The ack shows the started message itself (a slash command's ack).
  void started_in_ack() { started_in_ack_ = true; }
  void progress(const core::reply::Message& message) override;
  void finished(const core::reply::Message& message) override;
  /// A refusal or notice for the requester only.
  void answer_privately(const core::reply::Message& message);
  /// The ack went out (or will not): release what waits. Idempotent.
  void ack_written();
  std::string address() const override { return to_address(target_); }
  /// After the sends queued so far (on this conversation's strand).
  void then(std::function<void()> task) override;

 private:
  void enqueue(std::function<void(SlackConversation&)> send);
  void submit(std::function<void()> task);

  ReplyTarget target_;
  Delivery& delivery_;
  core::StrandPool& lane_;
  std::uint64_t strand_;
  core::LoggerPtr logger_;
  std::mutex mutex_;
  bool gate_open_ = false;
  std::vector<std::function<void()>> held_;
  std::string thread_ts_;  ///< the mention's message (strand only)
  bool started_in_ack_ = false;
};

}  // namespace slack_front
