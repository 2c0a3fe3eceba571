#include "slack_conversation.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "slack/blockkit.hpp"

namespace slack_front {

using core::reply::Message;
using core::reply::Visibility;

namespace {
constexpr std::string_view kKinds[] = {"response_url", "thread", "channel"};
}  // namespace

std::string to_address(const ReplyTarget& target) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto field = [&w](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  field("kind", kKinds[static_cast<int>(target.kind)]);
  field("response_url", target.response_url);
  field("channel", target.channel);
  field("user", target.user);
  field("thread_ts", target.thread_ts);
  w.EndObject();
  return buffer.GetString();
}

std::optional<ReplyTarget> target_from_address(std::string_view address) {
  auto parsed = core::json::parse(address);
  if (!parsed || !parsed->IsObject()) return std::nullopt;
  const auto kind = core::json::get_string(*parsed, "kind");
  if (!kind) return std::nullopt;
  ReplyTarget target;
  bool known = false;
  for (int i = 0; i < 3; ++i) {
    if (*kind == kKinds[i]) {
      target.kind = static_cast<ReplyTarget::Kind>(i);
      known = true;
    }
  }
  if (!known) return std::nullopt;
  auto text = [&](const char* key) {
    return std::string(core::json::get_string(*parsed, key).value_or(""));
  };
  target.response_url = text("response_url");
  target.channel = text("channel");
  target.user = text("user");
  target.thread_ts = text("thread_ts");
  if (target.kind == ReplyTarget::Kind::response_url && target.response_url.empty())
    return std::nullopt;
  if (target.kind != ReplyTarget::Kind::response_url && target.channel.empty()) return std::nullopt;
  return target;
}

void Delivery::post(const ReplyTarget& target, const Message& message) {
  const auto json = slack::blockkit::to_json(message);
  if (target.kind == ReplyTarget::Kind::thread) {
    if (auto posted = web_.post_message(target.channel, json, target.thread_ts); !posted) {
      logger_->warn("reply in thread failed: {}", posted.error().detail);
    }
    return;
  }
  if (target.kind == ReplyTarget::Kind::response_url) {
    // A new message (response_type in the JSON), never replace_original: a
    // slash command's ack is not a message Slack lets us replace.
    auto status = web_.respond(target.response_url, json);
    if (status) return;
    logger_->warn("response_url post failed ({}): {}", core::to_string(status.error().code),
                  status.error().detail);
    if (status.error().code == core::ErrorCode::indeterminate) return;
  }
  if (target.channel.empty()) return;
  if (message.visibility == Visibility::in_channel) {
    if (auto posted = web_.post_message(target.channel, json); !posted) {
      logger_->warn("chat.postMessage failed: {}", posted.error().detail);
    }
  } else if (auto status = web_.post_ephemeral(target.channel, target.user, json); !status) {
    logger_->warn("chat.postEphemeral failed: {}", status.error().detail);
  }
}

void Delivery::post_privately(const ReplyTarget& target, const Message& message) {
  Message private_message = message;
  private_message.visibility = Visibility::ephemeral;
  if (target.kind == ReplyTarget::Kind::thread) {
    const auto json = slack::blockkit::to_json(private_message);
    if (auto status = web_.post_ephemeral(target.channel, target.user, json); !status) {
      logger_->warn("chat.postEphemeral failed: {}", status.error().detail);
    }
    return;
  }
  post(target, private_message);
}

void Delivery::post_or_update(const ReplyTarget& target, const Message& message, std::string& ts) {
  const auto json = slack::blockkit::to_json(message);
  if (!ts.empty()) {
    if (auto status = web_.update_message(target.channel, ts, json); status) return;
    logger_->warn("chat.update of the thread message failed; posting a new one");
  }
  if (auto posted = web_.post_message(target.channel, json, target.thread_ts)) {
    ts = *posted;
  } else {
    logger_->warn("reply in thread failed: {}", posted.error().detail);
  }
}

void Delivery::post_to_channel(const std::string& channel, const Message& message) {
  if (auto posted = web_.post_message(channel, slack::blockkit::to_json(message)); !posted) {
    logger_->warn("post to {} failed: {}", channel, posted.error().detail);
  }
}

SlackConversation::SlackConversation(ReplyTarget target, Delivery& delivery, core::StrandPool& lane,
                                     std::uint64_t strand, core::LoggerPtr logger)
    : target_(std::move(target)),
      delivery_(delivery),
      lane_(lane),
      strand_(strand),
      logger_(std::move(logger)) {}

void SlackConversation::started(const Message& message) {
  if (started_in_ack_) return;
  enqueue([message](SlackConversation& self) {
    if (self.target_.kind == ReplyTarget::Kind::thread) {
      self.delivery_.post_or_update(self.target_, message, self.thread_ts_);
    } else {
      self.delivery_.post(self.target_, message);
    }
  });
}

void SlackConversation::progress(const Message& message) {
  enqueue([message](SlackConversation& self) {
    switch (self.target_.kind) {
      case ReplyTarget::Kind::thread:
        self.delivery_.post_or_update(self.target_, message, self.thread_ts_);
        return;
      case ReplyTarget::Kind::response_url:
        self.delivery_.post_privately(self.target_, message);
        return;
      case ReplyTarget::Kind::channel:
        return;  // an ephemeral post per update would be noise: the result follows
    }
  });
}

void SlackConversation::finished(const Message& message) {
  enqueue([message](SlackConversation& self) {
    if (self.target_.kind == ReplyTarget::Kind::thread) {
      // The thread's "Working…" message becomes the answer.
      self.delivery_.post_or_update(self.target_, message, self.thread_ts_);
    } else {
      self.delivery_.post(self.target_, message);
    }
  });
}

void SlackConversation::then(std::function<void()> task) {
  // Run here when the lane refuses it (full, closed): a job's record must
  // not outlive its answer (a survivor would report it as unanswered).
  auto shared = std::make_shared<std::function<void()>>(std::move(task));
  auto ran = std::make_shared<std::atomic<bool>>(false);
  auto once = [shared, ran] {
    if (!ran->exchange(true)) (*shared)();
  };
  enqueue([once](SlackConversation&) { once(); });
  if (lane_.full()) once();
}

void SlackConversation::answer_privately(const Message& message) {
  enqueue(
      [message](SlackConversation& self) { self.delivery_.post_privately(self.target_, message); });
}

void SlackConversation::ack_written() {
  // Under the lock (posting to the lane only queues): nothing enqueued
  // meanwhile can overtake what was held.
  std::lock_guard lock(mutex_);
  if (gate_open_) return;
  gate_open_ = true;
  for (auto& task : held_) submit(std::move(task));
  held_.clear();
}

void SlackConversation::enqueue(std::function<void(SlackConversation&)> send) {
  // The request's id (core::RequestScope, set by the core) goes with the send to the lane
  // thread, so its log lines carry it too.
  auto task = [self = shared_from_this(), send = std::move(send),
               request_id = std::string(core::RequestScope::current())] {
    core::RequestScope scope(request_id);
    send(*self);
  };
  std::lock_guard lock(mutex_);
  if (!gate_open_) {
    held_.push_back(std::move(task));
    return;
  }
  submit(std::move(task));
}

void SlackConversation::submit(std::function<void()> task) {
  if (!lane_.post(strand_, std::move(task))) {
    logger_->error("reply lane full or closed; a reply was dropped");
  }
}

}  // namespace slack_front
