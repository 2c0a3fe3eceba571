#pragma once

// The contract between the /infra core (infra::Lifecycle) and a chat front end
// (design §9): what the front end hands in, and where the core's later
// answers go. Nothing here knows a chat.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/reply.hpp"
#include "infra/command.hpp"

namespace infra {

/// One request as the front end received it.
struct Inbound {
  std::string source;  ///< for the audit line: "slash_command", "mention", "modal", …
  Requester who;
  std::string text;  ///< as typed (the audit line's "command")
  /// Where a confirmation's answers go, carried through the dialog opaquely
  /// (Slack: the response_url); may be empty.
  std::string reply_to;
  /// With replicas: the key this request's delivery was claimed under, kept
  /// in its job record so that a replica taking the delivery over from a
  /// dead one finds the job (empty: none).
  std::string delivery{};
};

/// The later answers to one accepted request. The core calls these from its
/// worker and scheduler threads, in order (started once, progress any number
/// of times, then finished exactly once), and each call must return at once: a front end
/// queues the sending (its outbound lane) and never blocks the core.
class Conversation {
 public:
  virtual ~Conversation() = default;
  /// The job was accepted: `message` is Accepted::started, given here too
  /// before the job is queued, so a front end that shows it as a message of
  /// its own (not in an ack) has it ahead of any later answer.
  virtual void started(const core::reply::Message& message) { (void)message; }
  /// The job still runs (bounded by LifecycleSettings::max_progress_updates).
  virtual void progress(const core::reply::Message& message) = 0;
  /// The result, a failure, or "interrupted" at shutdown. Its visibility says
  /// whether everyone where it was asked sees it, or only the requester.
  virtual void finished(const core::reply::Message& message) = 0;
  /// Runs `task` once everything given so far has been sent (a front end
  /// that queues runs it after its queue; by default at once). With replicas
  /// the job's record is removed then, so that a replica dying before its
  /// answer went out is still reported by another.
  virtual void then(std::function<void()> task) { task(); }
  /// Where these answers go, as text another replica can reopen
  /// (ConversationOpener) to report the job when this one dies; empty: it
  /// cannot be reopened.
  virtual std::string address() const { return {}; }
};

/// Turns a Conversation::address() back into a Conversation (on any
/// replica of the same front end); null when the address is unusable.
class ConversationOpener {
 public:
  virtual ~ConversationOpener() = default;
  virtual std::shared_ptr<Conversation> reopen(const std::string& address) = 0;
};

/// The openers of several front ends, tried in turn: with Slack and Discord
/// in one process, the sweep of either lifecycle may take a dead replica's
/// job of the other's chat. Thread-safe.
class OpenerChain final : public ConversationOpener {
 public:
  void add(ConversationOpener& opener) {
    std::lock_guard guard(mutex_);
    openers_.push_back(&opener);
  }
  std::shared_ptr<Conversation> reopen(const std::string& address) override {
    std::vector<ConversationOpener*> openers;
    {
      std::lock_guard guard(mutex_);
      openers = openers_;
    }
    for (auto* opener : openers) {
      if (auto conversation = opener->reopen(address)) return conversation;
    }
    return nullptr;
  }

 private:
  std::mutex mutex_;
  std::vector<ConversationOpener*> openers_;
};

/// Where mutating outcomes are announced besides the conversation (Slack:
/// INFRA_AUDIT_CHANNEL). Must return at once.
class Announcer {
 public:
  virtual ~Announcer() = default;
  virtual void announce(const core::reply::Message& message) = 0;
};

/// Names of people the front end knows only by id (a mention carries no
/// name): a cache it fills in the background. Neither call may block — a
/// slow directory never delays a job; the id is used until the name arrives.
class NameDirectory {
 public:
  struct Names {
    std::string handle;     ///< "alice"
    std::string real_name;  ///< "Alice Liddell"; may be empty
  };
  virtual ~NameDirectory() = default;
  /// Starts a lookup when the name is not cached yet.
  virtual void prefetch(const std::string& user_id) = 0;
  /// The cached names, if any.
  virtual std::optional<Names> cached(const std::string& user_id) = 0;
};

}  // namespace infra
