// slack_front::App in-process: envelopes in, acks and Web API calls out, with
// the real parser, policy, command runner, lifecycle and views, the simulated
// backend behind a gate (test::GatedBackend), a recording Slack
// (test::RecordingWebApi) and a core::ManualScheduler: progress timers and the
// ack-wait fallback run only when a test advances it. Jobs and the outbound
// lanes run on background threads: every wait below is bounded.
#include "slack_front/app.hpp"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metadata_signer.hpp"
#include "core/metrics.hpp"
#include "core/overloaded.hpp"
#include "core/scheduler.hpp"
#include "gated_backend.hpp"
#include "infra/command_runner.hpp"
#include "infra/metered_backend.hpp"
#include "infra/policy.hpp"
#include "infra/simulated_backend.hpp"
#include "infra/views.hpp"
#include "recording_sink.hpp"
#include "recording_web_api.hpp"
#include "sequential_ids.hpp"
#include "slack/blockkit.hpp"
#include "slack/envelope.hpp"

namespace {

using namespace std::chrono_literals;
using slack::blockkit::to_json;
using test::RecordingWebApi;
using testing::HasSubstr;
using testing::Not;
using Call = RecordingWebApi::Call;
namespace views = infra::views;

constexpr auto kWait = 5s;  // the bound of every wait for background work

struct User {
  std::string id, name, real_name;
};
const User kAlice{"U0456EFGH", "alice", "Alice Liddell"};  // the fixtures' user
const User kBob{"U0BOB0002", "bob", "Bob Builder"};
const User kCarol{"U0CAROL03", "carol", "Carol Danvers"};
// Many reads need many readers: each user may read 10 times a minute (issue 15).
User reader(std::size_t i) {
  return User{"U0READ" + std::to_string(1000 + i), "reader" + std::to_string(i), ""};
}
const std::string kTeam = "T0123ABCD";
const std::string kChannel = "C0123ABCD";
const std::string kAuditChannel = "C0AUDIT01";
const std::string kSigningKey = "app-test-signing-key";
// The response_url the teardown modal fixtures carry in their metadata.
const std::string kModalUrl =
    "https://hooks.slack.com/commands/T0123ABCD/10074567890/abcdefABCDEF1007";

// The fields issue 6 ("Audit") asks of every audit line.
const std::vector<std::string> kAuditFields = {
    "request_id",  "team_id",  "user_id", "user_name", "channel_id", "command",    "action",
    "environment", "decision", "reason",  "backend",   "outcome",    "duration_ms"};

// users.info's answer for a member of the workspace.
slack::UserInfo member(const User& user) {
  slack::UserInfo info;
  info.id = user.id;
  info.name = user.name;
  info.real_name = user.real_name;
  info.team_id = kTeam;
  return info;
}

// `message` as Slack receives it when only the requester may see it.
std::string privately(core::reply::Message message) {
  message.visibility = core::reply::Visibility::ephemeral;
  return to_json(message);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

slack::Envelope fixture(const std::string& name) {
  const auto text = read_file(std::string(FIXTURES_DIR) + "/slack/" + name);
  auto frame = slack::parse_frame(text);
  if (!frame) {
    ADD_FAILURE() << name << ": " << frame.error().detail;
    return {};
  }
  if (!std::holds_alternative<slack::Envelope>(*frame)) {
    ADD_FAILURE() << name << " is not an envelope";
    return {};
  }
  return std::get<slack::Envelope>(*frame);
}

rapidjson::Document parse_json(std::string_view text) {
  auto document = core::json::parse(text);
  if (!document) {
    ADD_FAILURE() << "not JSON: " << text;
    return rapidjson::Document();
  }
  return std::move(document).value();
}

std::string string_field(std::string_view json, std::string_view key) {
  const auto document = parse_json(json);
  if (!document.IsObject()) return "<not an object>";
  return std::string(core::json::get_string(document, key).value_or("<missing>"));
}

// Polls `done` every 2 ms, at most `timeout` (for state no condition variable
// announces: the audit sink, the metrics registry, jobs in flight).
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

/// The scheduler's manual clock, and a trap: arm() makes the next now() call
/// block until release() (to stop a thread at a known point of admission).
/// advance() moves the clock only: timers due meanwhile run at the next
/// ManualScheduler::advance() or run_ready(), which these tests call only
/// where they want progress.
class TrapClock final : public core::Clock {
 public:
  explicit TrapClock(core::ManualClock& inner) : inner_(inner) {}
  core::TimePoint now() const override {
    std::unique_lock lock(mutex_);
    if (armed_) {
      armed_ = false;
      trapped_ = true;
      changed_.notify_all();
      changed_.wait_for(lock, 10s, [this] { return !trapped_; });
    }
    return inner_.now();
  }
  core::MonoTime monotonic() const override { return inner_.monotonic(); }
  void advance(std::chrono::nanoseconds by) { inner_.advance(by); }
  void arm() {
    std::lock_guard lock(mutex_);
    armed_ = true;
  }
  bool wait_trapped(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return trapped_; });
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      armed_ = false;
      trapped_ = false;
    }
    changed_.notify_all();
  }

 private:
  core::ManualClock& inner_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable bool armed_ = false;
  mutable bool trapped_ = false;
};

struct Ack {
  std::string envelope_id;
  std::optional<std::string> payload;
  bool wants_written = false;  ///< the App passed an on_written
};

class AppTest : public testing::Test {
 protected:
  ~AppTest() override {
    clock_.release();
    backend_.release_all();
    write_withheld_acks();
    app_.reset();  // drain(0) and join, while everything it uses lives
  }

  static infra::PolicySettings no_cooldown() {
    infra::PolicySettings settings;
    settings.cooldown = 0s;
    // know() reads until a name arrives, as often as a loaded machine needs;
    // the read limit has its own tests (policy_test).
    settings.reads_per_minute = 0;
    return settings;
  }

  static views::HelpInfo help_info() { return {{"dev", "staging", "prod"}, {"prod"}, "dev"}; }

  /// (Re)creates policy, runner and App. Tests that need other settings call
  /// it first; the others get the defaults (no cooldown) on first use.
  void start(slack_front::AppSettings settings = {}, infra::PolicySettings policy = no_cooldown()) {
    app_.reset();
    // Unless a test is about the workspace gate: our team, guests allowed (no
    // users.info before each envelope), and a known key for signed metadata.
    if (settings.workspace.team_id.empty()) {
      settings.workspace.team_id = kTeam;
      settings.workspace.bot_user_id = "U0BOT";
      settings.workspace.allow_guests = true;
    }
    if (settings.signing_key.empty()) settings.signing_key = kSigningKey;
    policy_ = std::make_unique<infra::Policy>(std::move(policy), clock_);
    runner_ = std::make_unique<infra::CommandRunner>(
        infra::RunnerSettings{infra::ParserSettings{}, help_info()}, *policy_, metered_, clock_,
        ids_, logger_);
    app_ = std::make_unique<slack_front::App>(std::move(settings), *runner_, web_, scheduler_,
                                              clock_, metrics_, logger_, audit_logger_);
  }
  slack_front::App& app() {
    if (!app_) start();
    return *app_;
  }
  infra::CommandRunner& runner() {
    if (!app_) start();
    return *runner_;
  }

  // ---- envelopes ----

  /// Signs as the App does (same key, same clock).
  core::MetadataSigner signer() const {
    return core::MetadataSigner(kSigningKey, clock_, std::chrono::minutes(15));
  }
  core::reply::Modal signed_modal(core::reply::Modal modal) const {
    modal.private_metadata = signer().sign(modal.private_metadata);
    return modal;
  }
  core::reply::Message signed_buttons(core::reply::Message message) const {
    for (auto& block : message.blocks) {
      if (auto* actions = std::get_if<core::reply::Actions>(&block)) {
        for (auto& button : actions->buttons) button.value = signer().sign(button.value);
      }
    }
    return message;
  }
  /// A recorded view_submission / view_closed whose metadata the App signed.
  slack::Envelope signed_fixture(const std::string& name) const {
    auto envelope = ours(fixture(name));
    if (auto* interaction = std::get_if<slack::Interaction>(&envelope.payload)) {
      interaction->view_private_metadata = signer().sign(interaction->view_private_metadata);
    }
    return envelope;
  }
  /// A recorded envelope (Slack's SDK samples use team T111) from our workspace.
  static slack::Envelope ours(slack::Envelope envelope) {
    std::visit(core::Overloaded{[](slack::SlashCommand& c) { c.team_id = kTeam; },
                                [](slack::Interaction& i) { i.team_id = kTeam; },
                                [](slack::Event& e) { e.team_id = kTeam; }, [](std::monostate&) {}},
               envelope.payload);
    return envelope;
  }

  slack::Envelope slash(const std::string& text, const User& user = kAlice,
                        const std::string& channel = kChannel) {
    const auto n = std::to_string(++envelopes_);
    slack::SlashCommand command;
    command.command = "/infra";
    command.text = text;
    command.user_id = user.id;
    command.user_name = user.name;
    command.team_id = kTeam;
    command.channel_id = channel;
    command.channel_name = "infra-ops";
    command.response_url = "https://hooks.slack.com/commands/T0123ABCD/" + n + "/secret" + n;
    command.trigger_id = "1000" + n + ".0123456789.trigger";
    slack::Envelope envelope;
    envelope.envelope_id = "env-slash-" + n;
    envelope.type = "slash_commands";
    envelope.accepts_response_payload = true;
    envelope.payload = std::move(command);
    return envelope;
  }

  slack::Envelope mention(const std::string& text, const User& user, const std::string& ts,
                          const std::string& thread_ts = {}) {
    const auto n = std::to_string(++envelopes_);
    slack::Event event;
    event.event_id = "Ev" + n;
    event.type = "app_mention";
    event.user = user.id;
    event.text = text;
    event.channel = kChannel;
    event.ts = ts;
    event.thread_ts = thread_ts;
    event.team_id = kTeam;
    slack::Envelope envelope;
    envelope.envelope_id = "env-event-" + n;
    envelope.type = "events_api";
    envelope.payload = std::move(event);
    return envelope;
  }

  static slack::SlashCommand& command_of(slack::Envelope& envelope) {
    return std::get<slack::SlashCommand>(envelope.payload);
  }
  static const std::string& url_of(const slack::Envelope& envelope) {
    return std::get<slack::SlashCommand>(envelope.payload).response_url;
  }

  /// Hands `envelope` to the App and returns its ack's payload; checks that
  /// it was acked exactly once, with its own id, before on_envelope returned.
  std::optional<std::string> send(const slack::Envelope& envelope) {
    const auto before = acks().size();
    app().on_envelope(envelope, ack_function());
    const auto after = acks();
    EXPECT_EQ(after.size(), before + 1) << "envelope " << envelope.envelope_id;
    if (after.size() != before + 1) return std::string("<not acked exactly once>");
    EXPECT_EQ(after.back().envelope_id, envelope.envelope_id);
    return after.back().payload;
  }

  /// Records each ack. Its on_written runs at once, as when the connection
  /// wrote the ack, unless withhold_acks(): then it is kept until
  /// write_withheld_acks().
  slack_front::AckFunction ack_function() {
    return [this](const std::string& envelope_id, std::optional<std::string> payload,
                  slack_front::AckWritten on_written) {
      bool write_now = false;
      {
        std::lock_guard lock(acks_mutex_);
        acks_.push_back(Ack{envelope_id, std::move(payload), static_cast<bool>(on_written)});
        write_now = !withhold_acks_;
        if (!write_now && on_written) withheld_.push_back(std::move(on_written));
      }
      if (write_now && on_written) on_written();
      return core::Status{};
    };
  }
  std::vector<Ack> acks() {
    std::lock_guard lock(acks_mutex_);
    return acks_;
  }
  void withhold_acks(bool withhold = true) {
    std::lock_guard lock(acks_mutex_);
    withhold_acks_ = withhold;
  }
  /// Runs the kept on_written callbacks (the acks are written now).
  void write_withheld_acks() {
    std::vector<slack_front::AckWritten> written;
    {
      std::lock_guard lock(acks_mutex_);
      written.swap(withheld_);
    }
    for (auto& on_written : written) on_written();
  }

  // ---- what came out ----

  std::vector<Call> replies(const std::string& response_url) const {
    return web_.calls(RecordingWebApi::kRespond, response_url);
  }
  /// Waits for `n` posts to `response_url` and returns them.
  std::vector<Call> await_replies(const std::string& response_url, std::size_t n = 1) {
    EXPECT_TRUE(web_.wait_for_count(RecordingWebApi::kRespond, response_url, n, kWait))
        << "no reply to " << response_url;
    return replies(response_url);
  }
  /// Waits until no job is running or queued. A job leaves before its answer
  /// is queued and its audit line written (its lock is released first): wait
  /// for those with await_replies() and await_audit().
  void await_idle() {
    EXPECT_TRUE(wait_until([this] { return app().jobs_in_flight() == 0; }))
        << app().jobs_in_flight() << " job(s) still in flight";
  }
  /// Waits until `n` audit lines (after the skipped ones) were written.
  void await_audit(std::size_t n) {
    EXPECT_TRUE(wait_until([&] { return audit_sink_->lines().size() >= audit_skip_ + n; }))
        << "audit lines: " << audit_sink_->lines().size() - audit_skip_ << " of " << n;
  }
  /// Waits until the metrics show `line`.
  void await_metric(const std::string& line) {
    EXPECT_TRUE(wait_until([&] { return has_metric_line(line); })) << line << "\n"
                                                                   << metrics_text();
  }
  /// Lets background work finish for sure (negative assertions): a drain
  /// waits for running jobs and for the queued posts.
  void settle() {
    const auto report = app().drain(std::chrono::milliseconds(kWait));
    EXPECT_EQ(report.interrupted, 0u);
  }

  /// Waits until a drain running on another thread has counted `jobs` in
  /// flight, so that a job released after this is reported "finished".
  /// drain() logs "draining: N job(s) in flight" and reads the count again
  /// just after; nothing marks that moment, so this also gives it 50 ms.
  void await_drain_counting(std::size_t jobs) {
    const auto wanted = "draining: " + std::to_string(jobs) + " job(s) in flight";
    EXPECT_TRUE(wait_until([&] {
      for (const auto& line : log_sink_->lines()) {
        if (line.find(wanted) != std::string::npos) return true;
      }
      return false;
    })) << wanted;
    std::this_thread::sleep_for(50ms);
  }

  /// users.info knows `user` from now on, and the App's name cache has them
  /// before this returns. The directory stores a name on its own lane just
  /// after users.info returns, and nothing marks that moment; so this runs
  /// read-only jobs ("whitelist list dev", each on its own response_url) until
  /// one is named with the real name. Their audit lines are skipped by
  /// audit(); their replies and request ids remain.
  void know(const User& user) {
    web_.set_user(member(user));
    // Bounded by time, not by attempts: on a loaded machine the lookup lane's
    // thread may not run for many milliseconds while these jobs do.
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto envelope = slash("whitelist list dev", user);
      send(envelope);
      await_replies(url_of(envelope));
      ++warm_jobs_;
      const auto calls = backend_.calls("whitelist list");
      if (!calls.empty() && calls.back().context.requested_by.user_name == user.real_name) {
        await_audit(warm_jobs_);
        audit_skip_ += warm_jobs_;
        warm_jobs_ = 0;
        return;
      }
      std::this_thread::sleep_for(1ms);
    }
    ADD_FAILURE() << "users.info never named " << user.id;
  }

  /// The audit lines, each as field → value (numbers as text).
  std::vector<std::map<std::string, std::string>> audit() {
    std::vector<std::map<std::string, std::string>> out;
    const auto lines = audit_sink_->lines();
    for (std::size_t i = audit_skip_; i < lines.size(); ++i) {
      auto line = lines[i];
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      const auto document = parse_json(line);
      if (!document.IsObject()) continue;
      std::map<std::string, std::string> fields;
      for (const auto& member : document.GetObject()) {
        const std::string key(member.name.GetString(), member.name.GetStringLength());
        if (member.value.IsString()) {
          fields[key] = std::string(member.value.GetString(), member.value.GetStringLength());
        } else if (member.value.IsInt64()) {
          fields[key] = std::to_string(member.value.GetInt64());
        } else {
          fields[key] = core::json::to_string(member.value);
        }
      }
      out.push_back(std::move(fields));
    }
    return out;
  }

  std::string metrics_text() const { return metrics_.render(); }
  bool has_metric_line(const std::string& line) const {
    return ("\n" + metrics_text()).find("\n" + line + "\n") != std::string::npos;
  }

  // ---- expected values ----

  infra::EnvironmentStatus fresh_status(const std::string& environment) {
    auto status = reference_.status(environment, {});
    EXPECT_TRUE(status);
    return status ? *status : infra::EnvironmentStatus{};
  }
  // The result the reference backend (same history as the real one) gives.
  infra::ActionResult reference_run(infra::LifecycleAction action, const std::string& environment,
                                    std::optional<infra::TeardownLevel> level = std::nullopt) {
    auto result = reference_.run(infra::LifecycleRequest{action, environment, level}, {});
    EXPECT_TRUE(result);
    return result ? *result : infra::ActionResult{};
  }
  std::string refusal_json(const infra::Command& command, const User& user,
                           const std::string& channel = kChannel) {
    auto refusal = runner().refusal(command, {user.id, user.name, kTeam, channel});
    EXPECT_TRUE(refusal) << infra::describe(command) << " is allowed";
    return refusal ? to_json(refusal->message) : std::string();
  }
  infra::Command parsed(const std::string& text) {
    auto result = runner().parse(text);
    EXPECT_TRUE(std::holds_alternative<infra::Command>(result)) << text;
    return std::holds_alternative<infra::Command>(result) ? std::get<infra::Command>(result)
                                                          : infra::Command{};
  }
  std::string working(const std::string& text) {
    return to_json(views::render_working(parsed(text)));
  }

  core::ManualScheduler scheduler_;
  TrapClock clock_{scheduler_.clock()};
  test::SequentialIds ids_;
  core::metrics::Registry metrics_;
  std::shared_ptr<test::RecordingSink> log_sink_ = std::make_shared<test::RecordingSink>();
  std::shared_ptr<test::RecordingSink> audit_sink_ = std::make_shared<test::RecordingSink>();
  core::LoggerPtr logger_ =
      core::make_logger("infra-bot", core::LogFormat::text, core::LogLevel::debug, {log_sink_}, {});
  core::LoggerPtr audit_logger_ =
      core::make_logger("audit", core::LogFormat::json, core::LogLevel::info, {audit_sink_}, {},
                        core::Payload::json_object);
  infra::SimulatedBackend simulated_{{"dev", "staging", "prod"}, clock_};
  infra::SimulatedBackend reference_{{"dev", "staging", "prod"}, clock_};
  test::GatedBackend backend_{simulated_};
  infra::MeteredBackend metered_{backend_, metrics_};
  // users.info knows nobody until know(): a job is named by the slash
  // command's user name (or a mention's user id), deterministically.
  RecordingWebApi web_;
  std::mutex acks_mutex_;
  std::vector<Ack> acks_;
  bool withhold_acks_ = false;
  std::vector<slack_front::AckWritten> withheld_;
  int envelopes_ = 0;
  std::size_t audit_skip_ = 0;
  std::size_t warm_jobs_ = 0;
  std::unique_ptr<infra::Policy> policy_;
  std::unique_ptr<infra::CommandRunner> runner_;
  std::unique_ptr<slack_front::App> app_;
};

// ---------------------------------------------------------------------------
// Slash commands

TEST_F(AppTest, StatusAcksWorkingAndRepliesOnceToTheResponseUrl) {
  web_.set_user(member(kAlice));
  auto envelope = fixture("slash_command_status_env.json");
  command_of(envelope).text = "status dev";
  const auto& url = url_of(envelope);

  const auto ack = send(envelope);
  ASSERT_TRUE(ack);
  EXPECT_EQ(*ack, to_json(views::render_working(infra::Status{"dev"})));
  EXPECT_TRUE(acks().back().wants_written);

  // The answer is a new message (never replace_original), seen by the requester.
  const auto sent = await_replies(url);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body, to_json(views::render_status(fresh_status("dev"))));
  EXPECT_THAT(sent[0].body, Not(HasSubstr("replace_original")));
  EXPECT_EQ(string_field(sent[0].body, "response_type"), "ephemeral");

  // users.info once, in the background: the job did not wait for it, so it
  // is named by the real name if the lookup was quicker, else by the user name.
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kUserInfo, 1));
  const auto lookups = web_.calls(RecordingWebApi::kUserInfo);
  ASSERT_EQ(lookups.size(), 1u);
  EXPECT_EQ(lookups[0].target, kAlice.id);
  const auto calls = backend_.calls("status");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].environment, "dev");
  EXPECT_EQ(calls[0].context.request_id, "req-1");
  EXPECT_EQ(calls[0].context.requested_by.user_id, kAlice.id);
  EXPECT_THAT(calls[0].context.requested_by.user_name,
              testing::AnyOf(kAlice.name, kAlice.real_name));
  EXPECT_EQ(calls[0].context.requested_by.team_id, kTeam);
  EXPECT_EQ(calls[0].context.requested_by.channel_id, kChannel);

  // Once the name is cached, jobs are named by it and nobody asks again.
  know(kAlice);
  const auto second = slash("status dev");
  EXPECT_EQ(send(second), to_json(views::render_working(infra::Status{"dev"})));
  EXPECT_EQ(await_replies(url_of(second)).size(), 1u);
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), 1u);
  ASSERT_EQ(backend_.count("status"), 2u);
  EXPECT_EQ(backend_.calls("status")[1].context.requested_by.user_name, "Alice Liddell");

  settle();
  EXPECT_EQ(replies(url).size(), 1u);
  EXPECT_EQ(replies(url_of(second)).size(), 1u);
  for (const auto& call : web_.calls()) {
    EXPECT_THAT(call.body, Not(HasSubstr("replace_original"))) << call.method;
  }
}

TEST_F(AppTest, UsersInfoFailureFallsBackToTheSlackUserName) {
  web_.fail(RecordingWebApi::kUserInfo,
            core::make_error(core::ErrorCode::config,
                             "Slack rejected the bot's credentials (missing_scope).",
                             "users.info: missing_scope"));
  const auto envelope = slash("stop dev");
  send(envelope);
  const auto sent = await_replies(url_of(envelope));
  ASSERT_EQ(sent.size(), 1u);
  const auto calls = backend_.calls("stop");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].context.requested_by.user_name, "alice");
  EXPECT_EQ(sent[0].body, to_json(views::for_channel(views::render_action_result(reference_run(
                                                         infra::LifecycleAction::stop, "dev")),
                                                     "alice")));
  await_audit(1);
  ASSERT_EQ(audit().size(), 1u);
  EXPECT_EQ(audit()[0]["user_name"], "alice");

  // The failure is remembered: the next command does not ask again.
  ASSERT_TRUE(web_.wait_for(
      [](const std::vector<Call>& all) {
        for (const auto& call : all) {
          if (call.method == RecordingWebApi::kUserInfo && call.failed) return true;
        }
        return false;
      },
      kWait));
  const auto second = slash("status dev");
  send(second);
  await_replies(url_of(second));
  settle();
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), 1u);
  EXPECT_EQ(backend_.calls("status").at(0).context.requested_by.user_name, "alice");
}

TEST_F(AppTest, UserNamesAreLookedUpAgainAfterTheirTtl) {
  slack_front::AppSettings settings;
  settings.user_name_ttl = 60min;
  start(settings);
  know(kAlice);
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), 1u);
  clock_.advance(59min);
  const auto second = slash("status dev");
  send(second);
  await_replies(url_of(second));
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), 1u);
  EXPECT_EQ(backend_.calls("status").at(0).context.requested_by.user_name, "Alice Liddell");

  // Past the TTL the next job asks again (and is named from the cache
  // meanwhile); jobs after the answer get the new name.
  clock_.advance(2min);
  const User renamed{kAlice.id, kAlice.name, "Alice P. Liddell"};
  web_.set_user(member(renamed));
  const auto third = slash("status dev");
  send(third);
  await_replies(url_of(third));
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kUserInfo, 2));
  EXPECT_THAT(backend_.calls("status").at(1).context.requested_by.user_name,
              testing::AnyOf("Alice Liddell", "Alice P. Liddell"));
  know(renamed);
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), 2u);
}

TEST_F(AppTest, ASlowUsersInfoDelaysNeitherTheJobNorItsReply) {
  start();
  web_.set_user(member(kAlice));
  // users.info answers after a second (a plain sleep on the lookup lane; the
  // App's destruction waits for it, so it stays short).
  web_.delay(RecordingWebApi::kUserInfo, 1s);
  const auto envelope = slash("stop dev");
  send(envelope);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kUserInfo, 1));
  // The job ran and answered while users.info was still on its way: it was
  // named by the slash command's user name, not the real name the lookup
  // brings a second later.
  const auto sent = await_replies(url_of(envelope));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(backend_.count("stop"), 1u);
  EXPECT_EQ(backend_.calls("stop")[0].context.requested_by.user_name, "alice");
  EXPECT_THAT(sent[0].body, HasSubstr("Requested by alice"));
  const auto report = app().drain(std::chrono::milliseconds(kWait));
  EXPECT_EQ(report.interrupted, 0u);
  await_audit(1);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["outcome"], "ok");
  EXPECT_EQ(lines[0]["user_name"], "alice");
}

TEST_F(AppTest, MutatingSuccessIsPostedInChannelNamingTheRequester) {
  know(kAlice);
  auto envelope = fixture("slash_command_stop.json");
  const auto ack = send(envelope);
  EXPECT_EQ(ack, to_json(views::render_working(infra::Stop{"dev"})));
  const auto sent = await_replies(url_of(envelope));
  ASSERT_EQ(sent.size(), 1u);
  const auto expected = views::for_channel(
      views::render_action_result(reference_run(infra::LifecycleAction::stop, "dev")),
      "Alice Liddell");
  EXPECT_EQ(sent[0].body, to_json(expected));
  EXPECT_EQ(string_field(sent[0].body, "response_type"), "in_channel");
  EXPECT_THAT(sent[0].body, HasSubstr("Requested by Alice Liddell"));
  EXPECT_THAT(sent[0].body, Not(HasSubstr("replace_original")));
  const auto calls = backend_.calls("stop");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].environment, "dev");
  EXPECT_FALSE(calls[0].level);
}

TEST_F(AppTest, BackendFailureIsAnEphemeralFailureReply) {
  const auto error = core::make_error(core::ErrorCode::unavailable,
                                      "The orchestrator did not answer in time. Check `/infra "
                                      "status dev` in a few minutes.",
                                      "lambda: timeout after 900 s");
  backend_.fail("stop", error);
  const auto envelope = slash("stop dev");
  EXPECT_EQ(send(envelope), to_json(views::render_working(infra::Stop{"dev"})));
  const auto sent = await_replies(url_of(envelope));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body, to_json(views::render_failure(infra::Stop{"dev"}, error)));
  EXPECT_EQ(string_field(sent[0].body, "response_type"), "ephemeral");
  EXPECT_THAT(sent[0].body, Not(HasSubstr("Requested by")));
  EXPECT_THAT(sent[0].body, Not(HasSubstr("900 s")));  // the detail stays in the log
  EXPECT_THAT(sent[0].body, Not(HasSubstr("replace_original")));
  await_audit(1);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["decision"], "allowed");
  EXPECT_EQ(lines[0]["outcome"], "failed");
  EXPECT_THAT(lines[0]["error"], HasSubstr("did not answer in time"));
  await_metric(R"(infra_jobs_total{action="stop",outcome="failed"} 1)");
}

TEST_F(AppTest, ProtectedEnvironmentIsRefusedInTheAckWithoutABackendCall) {
  const auto envelope = slash("stop prod");
  const auto ack = send(envelope);
  ASSERT_TRUE(ack);
  EXPECT_EQ(*ack, refusal_json(infra::Stop{"prod"}, kAlice));
  EXPECT_THAT(*ack, HasSubstr("`prod` is protected"));
  EXPECT_FALSE(acks().back().wants_written);
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.total(), 0u);  // no reply, not even users.info
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["decision"], "denied");
  EXPECT_EQ(lines[0]["reason"], "protected_environment");
  EXPECT_EQ(lines[0]["outcome"], "refused");
  EXPECT_EQ(lines[0]["action"], "stop");
  EXPECT_EQ(lines[0]["environment"], "prod");
  EXPECT_EQ(lines[0]["request_id"], "req-1") << "a refusal has a request id too";
}

TEST_F(AppTest, AllowListsRefuseInTheAck) {
  infra::PolicySettings policy = no_cooldown();
  policy.allowed_users = {kAlice.id, kBob.id};
  policy.allowed_channels = {kChannel};
  policy.admin_users = {kAlice.id};
  start({}, policy);

  struct Case {
    infra::Command command;
    std::string text;
    User user;
    std::string channel;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {infra::Status{"dev"}, "status dev", kCarol, kChannel, "user_not_allowed"},
      {infra::Status{"dev"}, "status dev", kBob, "C0ELSEWHERE", "channel_not_allowed"},
      {infra::Spinup{"dev"}, "spinup dev", kBob, kChannel, "admin_required"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.reason);
    const auto ack = send(slash(c.text, c.user, c.channel));
    EXPECT_EQ(ack, refusal_json(c.command, c.user, c.channel));
  }
  // The admin passes all three gates.
  const auto allowed = slash("spinup dev", kAlice);
  EXPECT_EQ(send(allowed), to_json(views::render_working(infra::Spinup{"dev"})));
  await_replies(url_of(allowed));
  settle();
  EXPECT_EQ(backend_.calls().size(), 1u);
  EXPECT_EQ(backend_.count("spinup"), 1u);

  await_audit(4);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 4u);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(lines[i]["decision"], "denied") << i;
    EXPECT_EQ(lines[i]["reason"], cases[i].reason) << i;
    EXPECT_EQ(lines[i]["user_id"], cases[i].user.id) << i;
    EXPECT_EQ(lines[i]["channel_id"], cases[i].channel) << i;
  }
  EXPECT_EQ(lines[3]["decision"], "allowed");
}

// Issue 15, each bypass tried over the App: refused in the ack, nothing sent
// to the backend, and audited with its reason.
TEST_F(AppTest, SafeByDefaultRefusalsAreAuditedWithTheirReason) {
  infra::PolicySettings policy = no_cooldown();
  policy.admin_users = {kAlice.id};
  start({}, policy);

  struct Case {
    std::string text;
    std::string decision;
    std::string reason;  // the DenyReason, or a phrase of the parser's message
  };
  const std::vector<Case> cases = {
      {"start prod", "denied", "admin_required"},
      {"spinup prod", "denied", "admin_required"},
      {"whitelist add 203.0.113.7 --env=prod", "denied", "admin_required"},
      {"whitelist remove 203.0.113.7 --env=prod", "denied", "admin_required"},
      {"whitelist refresh prod", "denied", "admin_required"},
      {"whitelist add 10.1.2.0/24", "denied", "admin_required"},
      {"whitelist add 169.254.169.254", "invalid", "cloud metadata service"},
      {"whitelist add 64:ff9b::/96", "invalid", "NAT64"},
      {"whitelist add ::1", "invalid", "loopback"},
      {"whitelist add 203.0.113.7 --description='a\xE2\x80\xAE"
       "b'",
       "invalid", "text-direction control (U+202E)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto ack = send(slash(c.text, kBob));
    ASSERT_TRUE(ack);
    if (c.decision == "denied") {
      EXPECT_EQ(*ack, refusal_json(parsed(c.text), kBob));
    } else {
      EXPECT_THAT(*ack, HasSubstr(c.reason));
    }
  }
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  await_audit(cases.size());
  auto lines = audit();
  ASSERT_EQ(lines.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].text);
    EXPECT_EQ(lines[i]["decision"], cases[i].decision);
    EXPECT_EQ(lines[i]["outcome"], "refused");
    EXPECT_THAT(lines[i]["reason"], HasSubstr(cases[i].reason));
  }
}

TEST_F(AppTest, ReadsAreRateLimitedPerUserInTheAck) {
  auto policy = no_cooldown();
  policy.reads_per_minute = 10;  // the default of INFRA_READ_RATE_LIMIT
  start({}, policy);
  const auto working_json = to_json(views::render_working(infra::Status{"dev"}));
  for (int i = 0; i < 10; ++i) {
    const std::string text = i % 2 == 0 ? "status dev" : "whitelist list prod";
    const auto read = slash(text, kCarol);
    EXPECT_EQ(send(read), to_json(views::render_working(parsed(text)))) << i;
    await_replies(url_of(read));
  }
  clock_.advance(20s);
  const auto ack = send(slash("status dev", kCarol));
  EXPECT_EQ(ack, refusal_json(infra::Status{"dev"}, kCarol));
  EXPECT_THAT(ack.value_or(""), HasSubstr("Try again in 40 s."));
  // Another user reads on.
  const auto bobs = slash("status dev", kBob);
  EXPECT_EQ(send(bobs), working_json);
  await_replies(url_of(bobs));
  settle();
  EXPECT_EQ(backend_.count("status") + backend_.count("whitelist list"), 11u);
  await_audit(12);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 12u);
  std::size_t limited = 0;
  for (const auto& line : lines) {
    if (line.at("reason") == "read_rate_limited") {
      ++limited;
      EXPECT_EQ(line.at("decision"), "denied");
      EXPECT_EQ(line.at("user_id"), kCarol.id);
    }
  }
  EXPECT_EQ(limited, 1u);
}

TEST_F(AppTest, CooldownRefusesInTheAck) {
  // The cooldown is per (user, action, target) (issue 14b): a repeat on the
  // same environment is refused, another environment is not.
  infra::PolicySettings policy;
  policy.cooldown = 30s;
  start({}, policy);
  const auto first = slash("stop dev");
  EXPECT_EQ(send(first), to_json(views::render_working(infra::Stop{"dev"})));
  await_replies(url_of(first));
  await_audit(1);

  clock_.advance(10s);
  const auto ack = send(slash("stop dev"));
  EXPECT_EQ(ack, refusal_json(infra::Stop{"dev"}, kAlice));
  EXPECT_THAT(ack.value_or(""), HasSubstr("20 s"));
  const auto other = slash("stop staging");
  EXPECT_EQ(send(other), to_json(views::render_working(infra::Stop{"staging"})));
  await_replies(url_of(other));
  settle();
  EXPECT_EQ(backend_.count("stop"), 2u);
  await_audit(3);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["decision"], "denied");
  EXPECT_EQ(lines[1]["reason"], "cooldown");
  EXPECT_EQ(lines[1]["environment"], "dev");
  EXPECT_EQ(lines[2]["decision"], "allowed");
  EXPECT_EQ(lines[2]["environment"], "staging");
}

TEST_F(AppTest, ParseErrorIsTheAckPayload) {
  const auto ack = send(slash("stop qa"));
  auto parsed = runner().parse("stop qa");
  ASSERT_TRUE(std::holds_alternative<infra::Reply>(parsed));
  const auto& reply = std::get<infra::Reply>(parsed);
  EXPECT_EQ(ack, to_json(reply.message));
  EXPECT_THAT(ack.value_or(""), HasSubstr("Unknown environment `qa`"));
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.total(), 0u);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["decision"], "invalid");
  EXPECT_EQ(lines[0]["reason"], reply.message.text);
  EXPECT_EQ(lines[0]["outcome"], "refused");
  EXPECT_EQ(lines[0]["command"], "stop qa");
  EXPECT_EQ(lines[0]["action"], "");
}

TEST_F(AppTest, HelpIsTheAckPayload) {
  const auto help = to_json(views::render_help(help_info()));
  EXPECT_EQ(send(slash("help")), help);
  EXPECT_EQ(send(slash("")), help);
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.total(), 0u);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["action"], "help");
  EXPECT_EQ(lines[0]["decision"], "allowed");
  EXPECT_EQ(lines[0]["outcome"], "answered");
}

TEST_F(AppTest, AReplyWaitsUntilItsAckIsWritten) {
  slack_front::AppSettings settings;
  settings.ack_wait = 2s;
  start(settings);
  withhold_acks();
  const auto first = slash("status dev");
  EXPECT_EQ(send(first), to_json(views::render_working(infra::Status{"dev"})));
  ASSERT_TRUE(acks().back().wants_written);
  // The job finished (its audit line is written after its answer is queued),
  // but the answer waits for the ack.
  await_audit(1);
  EXPECT_TRUE(replies(url_of(first)).empty());
  write_withheld_acks();
  EXPECT_EQ(await_replies(url_of(first)).size(), 1u);

  // An ack that is never written holds the answer back ack_wait at most.
  const auto second = slash("status dev");
  send(second);
  await_audit(2);
  scheduler_.advance(1999ms);
  EXPECT_TRUE(replies(url_of(second)).empty());
  scheduler_.advance(1ms);
  EXPECT_EQ(await_replies(url_of(second)).size(), 1u);
  write_withheld_acks();  // late: nothing more is posted
  settle();
  EXPECT_EQ(replies(url_of(second)).size(), 1u);
}

// ---------------------------------------------------------------------------
// One job at a time per environment and what it touches

TEST_F(AppTest, BusyEnvironmentRefusesASecondMutatingCommand) {
  start();
  backend_.hold("stop");
  const auto first = slash("stop dev", kAlice);
  EXPECT_EQ(send(first), to_json(views::render_working(infra::Stop{"dev"})));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  clock_.advance(40s);

  const auto busy = send(slash("stop dev", kBob));
  EXPECT_EQ(busy, to_json(views::render_busy("stop dev", "@alice", 40s)));
  EXPECT_EQ(string_field(busy.value_or("{}"), "text"),
            ":hourglass_flowing_sand: `stop dev` is already running (started by @alice 40 s "
            "ago).");
  // Any command on that environment's services; other environments are free.
  EXPECT_EQ(send(slash("teardown dev", kBob)),
            to_json(views::render_busy("stop dev", "@alice", 40s)));
  const auto other = slash("spinup staging", kBob);
  EXPECT_EQ(send(other), to_json(views::render_working(infra::Spinup{"staging"})));
  EXPECT_EQ(await_replies(url_of(other)).size(), 1u);

  // Read-only commands still run.
  const auto status = slash("status dev", kBob);
  EXPECT_EQ(send(status), to_json(views::render_working(infra::Status{"dev"})));
  const auto status_reply = await_replies(url_of(status));
  ASSERT_EQ(status_reply.size(), 1u);
  EXPECT_EQ(status_reply[0].body, to_json(views::render_status(fresh_status("dev"))));
  EXPECT_TRUE(replies(url_of(first)).empty());
  EXPECT_EQ(backend_.count("stop"), 1u);  // only the held one

  backend_.release("stop");
  EXPECT_EQ(await_replies(url_of(first)).size(), 1u);
  // The lock went before the answer: no waiting for the job to leave.
  const auto again = slash("stop dev", kBob);
  EXPECT_EQ(send(again), to_json(views::render_working(infra::Stop{"dev"})));
  EXPECT_EQ(await_replies(url_of(again)).size(), 1u);  // "Nothing to stop": a reply still
  EXPECT_EQ(backend_.count("stop"), 2u);

  await_audit(6);  // 2 busy, spinup, status, 2 stops
  std::size_t busy_lines = 0;
  for (const auto& line : audit()) {
    if (line.at("decision") != "busy") continue;
    ++busy_lines;
    EXPECT_EQ(line.at("user_id"), kBob.id);
    EXPECT_EQ(line.at("outcome"), "refused");
    EXPECT_EQ(line.at("environment"), "dev");
  }
  EXPECT_EQ(busy_lines, 2u);
}

TEST_F(AppTest, AWhitelistChangeIsNotBusyWhileAStopOfTheSameEnvironmentRuns) {
  start();
  backend_.hold("stop");
  backend_.hold("whitelist add");
  const auto stop = slash("stop dev", kAlice);
  EXPECT_EQ(send(stop), working("stop dev"));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));

  // The allow-list is not what a stop touches.
  const auto add = slash("whitelist add 203.0.113.7 --env=dev", kBob);
  EXPECT_EQ(send(add), working("whitelist add 203.0.113.7 --env=dev"));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "whitelist add"));
  // But a second change of the same allow-list is busy, while services
  // elsewhere and another environment's allow-list are free.
  const auto second_add = send(slash("whitelist remove 203.0.113.7 --env=dev", kCarol));
  EXPECT_THAT(string_field(second_add.value_or("{}"), "text"),
              HasSubstr("is already running (started by @bob"));
  const auto staging = slash("whitelist add 203.0.113.8 --env=staging", kCarol);
  EXPECT_EQ(send(staging), working("whitelist add 203.0.113.8 --env=staging"));
  ASSERT_TRUE(backend_.wait_for_waiting(2, "whitelist add"));

  backend_.release("whitelist add");
  EXPECT_EQ(await_replies(url_of(add)).size(), 1u);
  EXPECT_EQ(await_replies(url_of(staging)).size(), 1u);
  EXPECT_TRUE(replies(url_of(stop)).empty());
  backend_.release("stop");
  EXPECT_EQ(await_replies(url_of(stop)).size(), 1u);
  settle();
  EXPECT_EQ(backend_.count("whitelist add"), 2u);
  EXPECT_EQ(backend_.count("whitelist remove"), 0u);
}

TEST_F(AppTest, ACommandSentRightAfterTheReplyIsNeverBusy) {
  // The job's lock is released before its answer is queued: whoever types the
  // next command after seeing the answer finds the environment free.
  start();
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    const auto text = i % 2 == 0 ? "stop dev" : "start dev";
    const auto envelope = slash(text, i % 3 == 0 ? kAlice : kBob);
    ASSERT_EQ(send(envelope), working(text));
    ASSERT_EQ(await_replies(url_of(envelope)).size(), 1u);
  }
  settle();
  EXPECT_EQ(backend_.count("stop") + backend_.count("start"), 20u);
  await_audit(20);
  for (const auto& line : audit()) EXPECT_EQ(line.at("decision"), "allowed");
}

TEST_F(AppTest, ConcurrentCommandsForOneEnvironmentAdmitExactlyOne) {
  start();
  backend_.hold("stop");
  constexpr int kThreads = 8;
  std::vector<slack::Envelope> envelopes;
  for (int i = 0; i < kThreads; ++i) {
    envelopes.push_back(slash("stop dev", i % 3 == 0 ? kAlice : i % 3 == 1 ? kBob : kCarol));
  }
  std::latch go(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        go.arrive_and_wait();
        app().on_envelope(envelopes[static_cast<std::size_t>(i)], ack_function());
      });
    }
  }
  const auto working_json = to_json(views::render_working(infra::Stop{"dev"}));
  std::size_t admitted = 0, busy = 0;
  for (const auto& ack : acks()) {
    if (ack.payload == working_json) {
      ++admitted;
    } else if (string_field(ack.payload.value_or("{}"), "text").find("is already running") !=
               std::string::npos) {
      ++busy;
    }
  }
  EXPECT_EQ(admitted, 1u);
  EXPECT_EQ(busy, static_cast<std::size_t>(kThreads - 1));
  backend_.release("stop");
  ASSERT_TRUE(backend_.wait_for_completed(1));
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kRespond, 1));
  settle();
  EXPECT_EQ(backend_.count("stop"), 1u);
  EXPECT_EQ(web_.count(RecordingWebApi::kRespond), 1u);
}

TEST_F(AppTest, PolicyRefusalWinsOverBusy) {
  infra::PolicySettings policy;
  policy.cooldown = 30s;
  policy.admin_users = {kAlice.id, kBob.id};  // start on a protected environment needs an admin
  start({}, policy);
  backend_.hold("start");
  const auto first = slash("start prod", kAlice);  // allowed on a protected environment
  EXPECT_EQ(send(first), to_json(views::render_working(infra::Start{"prod"})));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "start"));

  // prod is busy, but stopping it is refused by policy whatever runs.
  EXPECT_EQ(send(slash("stop prod", kBob)), refusal_json(infra::Stop{"prod"}, kBob));
  // Alice's own repeat is in her cooldown: the cooldown answers, not "busy".
  clock_.advance(5s);
  const auto repeat = send(slash("start prod", kAlice));
  EXPECT_EQ(repeat, refusal_json(infra::Start{"prod"}, kAlice));
  EXPECT_THAT(repeat.value_or(""), Not(HasSubstr("already running")));
  // Bob is allowed: he gets "busy".
  EXPECT_EQ(send(slash("start prod", kBob)),
            to_json(views::render_busy("start prod", "@alice", 5s)));

  backend_.release("start");
  await_replies(url_of(first));
  await_audit(4);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["decision"], "denied");
  EXPECT_EQ(lines[0]["reason"], "protected_environment");
  EXPECT_EQ(lines[1]["decision"], "denied");
  EXPECT_EQ(lines[1]["reason"], "cooldown");
  EXPECT_EQ(lines[2]["decision"], "busy");
  EXPECT_EQ(lines[3]["decision"], "allowed");
  EXPECT_EQ(lines[3]["outcome"], "ok");
  EXPECT_EQ(backend_.count("start"), 1u);
  EXPECT_EQ(backend_.count("stop"), 0u);
}

// ---------------------------------------------------------------------------
// The teardown modal

TEST_F(AppTest, FullTeardownOpensTheModalAndAcksEmpty) {
  const auto envelope = fixture("slash_command_teardown_full.json");
  const auto& command = std::get<slack::SlashCommand>(envelope.payload);
  EXPECT_EQ(send(envelope), std::nullopt);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kOpenView, 1));
  const auto opened = web_.calls(RecordingWebApi::kOpenView);
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].target, command.trigger_id);
  EXPECT_EQ(opened[0].body,
            to_json(signed_modal(views::render_teardown_modal(
                {"dev", infra::TeardownLevel::full, kChannel, command.response_url}))));
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.total(), 1u);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["decision"], "confirm");
  EXPECT_EQ(lines[0]["outcome"], "modal_opened");
  EXPECT_EQ(lines[0]["action"], "teardown");
}

TEST_F(AppTest, ModalThatCannotOpenIsReportedToTheResponseUrl) {
  web_.fail(RecordingWebApi::kOpenView,
            core::make_error(core::ErrorCode::invalid_input,
                             "The dialog could not be opened in time. Please run the command "
                             "again.",
                             "views.open: expired_trigger_id"));
  const auto envelope = slash("teardown dev --level=full");
  EXPECT_EQ(send(envelope), std::nullopt);
  const auto sent = await_replies(url_of(envelope));
  ASSERT_EQ(sent.size(), 1u);
  const auto expected = views::render_failure(
      infra::Teardown{"dev", infra::TeardownLevel::full},
      core::make_error(core::ErrorCode::unavailable,
                       "Slack did not open the confirmation dialog in time. Run the command "
                       "again."));
  EXPECT_THAT(sent[0].body, Not(HasSubstr("expired_trigger_id"))) << "log detail stays in the log";
  EXPECT_EQ(sent[0].body, privately(expected));
  EXPECT_THAT(sent[0].body, Not(HasSubstr("replace_original")));
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["outcome"], "failed");
}

TEST_F(AppTest, WrongConfirmationTextIsAnErrorOnTheInput) {
  const auto ack = send(signed_fixture("view_submission_teardown_mismatch.json"));
  EXPECT_EQ(ack,
            R"({"response_action":"errors","errors":{"teardown_confirm":"Type `dev` exactly to )"
            R"(confirm the teardown."}})");
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.total(), 0u);
}

TEST_F(AppTest, TheRightTextAfterAWrongOneRunsTheTeardownOnce) {
  auto wrong = signed_fixture("view_submission_teardown_mismatch.json");
  auto right = signed_fixture("view_submission_teardown.json");
  ASSERT_EQ(wrong.payload.index(), right.payload.index());
  EXPECT_THAT(send(wrong).value_or(""), HasSubstr(R"("response_action":"errors")"));
  EXPECT_EQ(send(right), std::nullopt);  // the same view, now with "dev"
  ASSERT_TRUE(backend_.wait_for_completed(1));
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kRespond, kModalUrl, 2));  // started, result
  settle();
  ASSERT_EQ(backend_.count("teardown"), 1u);
  EXPECT_EQ(backend_.calls("teardown")[0].level, infra::TeardownLevel::full);
}

TEST_F(AppTest, ASubmittedViewIsCheckedAgainNotTrusted) {
  const auto errors = [](std::string_view text) {
    return R"({"response_action":"errors","errors":{"teardown_confirm":)" +
           core::json::quote(text) + "}}";
  };
  auto tampered = [this](const std::string& environment, const std::string& typed) {
    auto envelope = signed_fixture("view_submission_teardown.json");
    auto& interaction = std::get<slack::Interaction>(envelope.payload);
    interaction.view_private_metadata = signer().sign(views::teardown_metadata_json(
        {environment, infra::TeardownLevel::full, kChannel, kModalUrl}));
    for (auto& value : interaction.values) value.value = typed;
    return envelope;
  };
  // A protected environment: refused by policy, however well typed.
  EXPECT_EQ(send(tampered("prod", "prod")),
            errors(runner()
                       .refusal(infra::Teardown{"prod", infra::TeardownLevel::full},
                                {kAlice.id, kAlice.name, kTeam, kChannel})
                       .value_or(infra::Reply{})
                       .message.text));
  // An environment that does not exist.
  const auto unknown = send(tampered("qa", "qa")).value_or("");
  EXPECT_THAT(unknown, HasSubstr(R"("response_action":"errors")"));
  EXPECT_THAT(unknown, HasSubstr("Unknown environment `qa`"));
  // Metadata that is not ours.
  auto garbage = signed_fixture("view_submission_teardown.json");
  std::get<slack::Interaction>(garbage.payload).view_private_metadata = "{not json";
  EXPECT_EQ(send(garbage), errors("This confirmation is no longer valid (they last 15 minutes). "
                                  "Close it and run the command again."));

  // A busy environment: the modal stays open with the reason; once free, the
  // same view goes through.
  backend_.hold("stop");
  const auto stop = slash("stop dev", kBob);
  send(stop);
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  const auto submission = signed_fixture("view_submission_teardown.json");
  EXPECT_EQ(send(submission),
            errors(":hourglass_flowing_sand: `stop dev` is already running (started by @bob 0 s "
                   "ago)."));
  backend_.release("stop");
  await_replies(url_of(stop));
  await_audit(4);  // the stop's line, written as it finishes
  EXPECT_EQ(send(submission), std::nullopt);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kRespond, kModalUrl, 2));
  settle();
  EXPECT_EQ(backend_.count("teardown"), 1u);
  await_audit(6);
  std::vector<std::string> decisions;
  for (auto& line : audit()) decisions.push_back(line["decision"]);
  // The metadata that was not ours is audited too (ignored, metadata_invalid).
  EXPECT_THAT(decisions,
              testing::ElementsAre("denied", "invalid", "ignored", "busy", "allowed", "allowed"));
}

TEST_F(AppTest, ConfirmedTeardownRunsExactlyOnceEvenWhenSubmittedAgain) {
  know(kAlice);
  backend_.hold("teardown");
  auto submission = signed_fixture("view_submission_teardown.json");
  EXPECT_EQ(send(submission), std::nullopt);  // closes the modal
  EXPECT_TRUE(acks().back().wants_written);
  // Everyone in the channel learns at once that it started.
  const auto started = await_replies(kModalUrl);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].body, to_json(views::render_teardown_started(
                                 infra::Teardown{"dev", infra::TeardownLevel::full}, "@alice")));
  EXPECT_EQ(string_field(started[0].body, "response_type"), "in_channel");
  ASSERT_TRUE(backend_.wait_for_waiting(1, "teardown"));

  // A double click (new envelope, same view) while the teardown runs, and a
  // redelivery of the same envelope: both just close.
  auto double_click = submission;
  double_click.envelope_id = "9c1f2e3d-second-click";
  EXPECT_EQ(send(double_click), std::nullopt);
  EXPECT_EQ(send(submission), std::nullopt);

  backend_.release("teardown");
  const auto sent = await_replies(kModalUrl, 2);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].body, to_json(views::for_channel(views::render_action_result(reference_run(
                                                         infra::LifecycleAction::teardown, "dev",
                                                         infra::TeardownLevel::full)),
                                                     "Alice Liddell")));
  EXPECT_EQ(string_field(sent[1].body, "response_type"), "in_channel");
  await_audit(1);

  // And after it finished.
  EXPECT_EQ(send(submission), std::nullopt);
  settle();
  const auto calls = backend_.calls("teardown");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].environment, "dev");
  EXPECT_EQ(calls[0].level, infra::TeardownLevel::full);
  EXPECT_EQ(calls[0].context.requested_by.user_name, "Alice Liddell");
  EXPECT_EQ(replies(kModalUrl).size(), 2u);
  for (const auto& reply : replies(kModalUrl)) {
    EXPECT_THAT(reply.body, Not(HasSubstr("replace_original")));
  }
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["source"], "modal");
  EXPECT_EQ(lines[0]["decision"], "allowed");
  EXPECT_EQ(lines[0]["outcome"], "ok");
}

TEST_F(AppTest, ClosingTheModalCancels) {
  EXPECT_EQ(send(signed_fixture("view_closed_teardown.json")), std::nullopt);
  const auto sent = await_replies(kModalUrl);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body, privately(views::render_teardown_cancelled("dev")));
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["outcome"], "cancelled");
}

TEST_F(AppTest, ExpiredResponseUrlFallsBackToTheChannel) {
  // How a dead response_url may come back: HttpWebApi turns Slack's plain-text
  // 404 "expired_url" into internal ("Slack refused the reply."), an `ok:false`
  // expired_url into conflict; a fake may say not_found. None of them means
  // "maybe delivered", so each falls back to the channel.
  const std::vector<std::pair<core::ErrorCode, std::string>> failures = {
      {core::ErrorCode::internal, "response_url: HTTP 404 (expired_url)"},
      {core::ErrorCode::conflict, "response_url: expired_url"},
      {core::ErrorCode::not_found, "response_url: HTTP 404"},
  };
  for (const auto& [code, detail] : failures) {
    SCOPED_TRACE(core::to_string(code));
    web_.fail(RecordingWebApi::kRespond,
              core::make_error(code, "Slack refused the reply.", detail));
    start();  // a fresh App: the view id below is new to it
    const auto before = web_.total();
    const auto posts_before = web_.calls(RecordingWebApi::kPostMessage, kChannel).size();
    const auto ephemeral_before = web_.calls(RecordingWebApi::kPostEphemeral, kChannel).size();

    // "Started" and the result (both in_channel) → chat.postMessage in the
    // metadata's channel.
    EXPECT_EQ(send(signed_fixture("view_submission_teardown.json")), std::nullopt);
    ASSERT_TRUE(
        web_.wait_for_count(RecordingWebApi::kPostMessage, kChannel, posts_before + 2, kWait));
    const auto posted = web_.calls(RecordingWebApi::kPostMessage, kChannel);
    EXPECT_EQ(posted[posts_before].body,
              to_json(views::render_teardown_started(
                  infra::Teardown{"dev", infra::TeardownLevel::full}, "@alice")));
    EXPECT_EQ(posted.back().body,
              to_json(views::for_channel(
                  views::render_action_result(reference_run(infra::LifecycleAction::teardown, "dev",
                                                            infra::TeardownLevel::full)),
                  "alice")));
    EXPECT_EQ(posted.back().extra, "");  // not in a thread
    settle();

    // The cancellation (ephemeral) → chat.postEphemeral to the user.
    start();
    EXPECT_EQ(send(signed_fixture("view_closed_teardown.json")), std::nullopt);
    ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostEphemeral, kChannel, ephemeral_before + 1,
                                    kWait));
    const auto ephemeral = web_.calls(RecordingWebApi::kPostEphemeral, kChannel).back();
    EXPECT_EQ(ephemeral.extra, kAlice.id);
    EXPECT_EQ(ephemeral.body, privately(views::render_teardown_cancelled("dev")));
    settle();

    // Each answer tried the response_url once, then the channel once.
    std::vector<std::string> methods;
    for (const auto& call : web_.calls()) {
      if (call.seq > before && call.method != RecordingWebApi::kUserInfo) {
        methods.push_back(call.method);
      }
    }
    EXPECT_THAT(methods,
                testing::ElementsAre("response_url", "chat.postMessage", "response_url",
                                     "chat.postMessage", "response_url", "chat.postEphemeral"));
    // Bring dev back on both backends for the next round.
    EXPECT_TRUE(simulated_.run({infra::LifecycleAction::spinup, "dev", std::nullopt}, {}));
    reference_run(infra::LifecycleAction::spinup, "dev");
  }
}

TEST_F(AppTest, IndeterminateResponseUrlFailureIsNotRepeatedElsewhere) {
  web_.fail(RecordingWebApi::kRespond,
            core::make_error(core::ErrorCode::indeterminate,
                             "Slack did not confirm the request; it may or may not have gone "
                             "through.",
                             "response_url: HTTP 504"));
  const auto envelope = slash("stop dev");
  send(envelope);
  await_replies(url_of(envelope));
  settle();
  EXPECT_EQ(replies(url_of(envelope)).size(), 1u);
  EXPECT_EQ(web_.count(RecordingWebApi::kPostMessage), 0u);
  EXPECT_EQ(web_.count(RecordingWebApi::kPostEphemeral), 0u);
}

// The warning a reply lane logs (on its own thread) names the request it was
// sending for.
TEST_F(AppTest, AReplyLanesLogLinesCarryTheRequestId) {
  web_.fail(RecordingWebApi::kRespond,
            core::make_error(core::ErrorCode::indeterminate, "Slack did not confirm the request.",
                             "response_url: HTTP 504"));
  const auto envelope = slash("stop dev");
  send(envelope);
  await_replies(url_of(envelope));
  settle();
  std::string request_id;
  for (const auto& line : audit()) {
    if (line.count("outcome") != 0 && line.at("outcome") == "ok")
      request_id = line.at("request_id");
  }
  ASSERT_FALSE(request_id.empty());
  int warnings = 0;
  for (const auto& line : log_sink_->lines()) {
    if (line.find("response_url post failed") == std::string::npos) continue;
    ++warnings;
    EXPECT_THAT(line, HasSubstr(" request_id=" + request_id)) << line;
  }
  EXPECT_EQ(warnings, 1);
}

// ---------------------------------------------------------------------------
// Mentions

TEST_F(AppTest, MentionRepliesInTheThreadOfTheMention) {
  know(kAlice);
  const auto known_calls = web_.total();
  EXPECT_EQ(send(mention("<@U0BOT0001> status dev", kAlice, "1732530200.000100")), std::nullopt);
  // "Working…" in the thread at once, then the answer in its place.
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kUpdate, 1));
  const auto posted = web_.calls(RecordingWebApi::kPostMessage);
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].target, kChannel);
  EXPECT_EQ(posted[0].extra, "1732530200.000100");
  EXPECT_EQ(posted[0].body, to_json(views::render_working(infra::Status{"dev"})));
  const auto ts = "1732530000." + std::to_string(100000 + posted[0].seq);
  auto updates = web_.calls(RecordingWebApi::kUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].target, kChannel);
  EXPECT_EQ(updates[0].extra, ts);
  EXPECT_EQ(updates[0].body, to_json(views::render_status(fresh_status("dev"))));
  const auto calls = backend_.calls("status");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].context.requested_by.user_name, "Alice Liddell");

  // "@infra-bot /infra stop dev" inside a thread: answered in that thread,
  // naming who asked.
  EXPECT_EQ(send(mention("<@U0BOT0001> /infra stop dev", kAlice, "1732530300.000200",
                         "1732530000.000100")),
            std::nullopt);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kUpdate, 2));
  const auto second = web_.calls(RecordingWebApi::kPostMessage).at(1);
  EXPECT_EQ(second.target, kChannel);
  EXPECT_EQ(second.extra, "1732530000.000100");
  EXPECT_EQ(second.body, to_json(views::render_working(infra::Stop{"dev"})));
  updates = web_.calls(RecordingWebApi::kUpdate);
  EXPECT_EQ(updates.at(1).extra, "1732530000." + std::to_string(100000 + second.seq));
  EXPECT_EQ(updates.at(1).body,
            to_json(views::for_channel(
                views::render_action_result(reference_run(infra::LifecycleAction::stop, "dev")),
                "Alice Liddell")));
  settle();
  // Only the thread's messages: no response_url, nothing ephemeral. A name
  // lookup that know()'s warm-up started while the gate was still asking
  // (a loaded machine) may land late; users.info is not what this checks.
  std::vector<std::string> since_known;
  for (const auto& call : web_.calls()) {
    if (call.seq > known_calls && call.method != RecordingWebApi::kUserInfo)
      since_known.emplace_back(call.method);
  }
  EXPECT_THAT(since_known,
              testing::ElementsAre(RecordingWebApi::kPostMessage, RecordingWebApi::kUpdate,
                                   RecordingWebApi::kPostMessage, RecordingWebApi::kUpdate));
  await_audit(2);
  // Each job writes its audit line after it answers, so the two lines may
  // come in either order (a loaded machine wrote the stop's first).
  std::vector<std::pair<std::string, std::string>> lines;
  for (auto& line : audit()) lines.emplace_back(line["source"], line["command"]);
  EXPECT_THAT(lines, testing::UnorderedElementsAre(std::pair{"mention", "status dev"},
                                                   std::pair{"mention", "stop dev"}));
}

TEST_F(AppTest, AQuickAnswerInAThreadIsNeverOverwrittenByItsWorkingMessage) {
  // A job may finish before the socket thread has queued the thread's
  // "Working…" message: the thread must still end with the answer.
  start();
  constexpr int kMentions = 20;
  std::vector<std::string> threads;
  for (int i = 0; i < kMentions; ++i) {
    threads.push_back("1732531000." + std::to_string(100100 + i));
    send(mention("<@U0BOT0001> status dev", reader(static_cast<std::size_t>(i)), threads.back()));
  }
  ASSERT_TRUE(web_.wait_for(
      [&](const std::vector<Call>& all) {
        std::size_t seen = 0;
        for (const auto& call : all) {
          seen += call.method == RecordingWebApi::kPostMessage ? 1 : 0;
          seen += call.method == RecordingWebApi::kUpdate ? 1 : 0;
        }
        return seen >= 2 * kMentions;
      },
      kWait));
  settle();
  const auto working_json = to_json(views::render_working(infra::Status{"dev"}));
  const auto answer = to_json(views::render_status(fresh_status("dev")));
  for (const auto& thread : threads) {
    SCOPED_TRACE(thread);
    std::vector<std::string> bodies;  // what the thread showed, in order
    std::string ts;
    for (const auto& call : web_.calls()) {
      if (call.method == RecordingWebApi::kPostMessage && call.extra == thread) {
        ts = "1732530000." + std::to_string(100000 + call.seq);
        bodies.push_back(call.body);
      } else if (call.method == RecordingWebApi::kUpdate && !ts.empty() && call.extra == ts) {
        bodies.push_back(call.body);
      }
    }
    EXPECT_THAT(bodies, testing::ElementsAre(working_json, answer));
  }
}

TEST_F(AppTest, MentionFixtureInAThreadGetsItsParseErrorOnlyToItsAuthor) {
  const auto envelope = fixture("events_api_app_mention_thread.json");
  EXPECT_EQ(send(envelope), std::nullopt);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostEphemeral, 1));
  const auto posted = web_.calls(RecordingWebApi::kPostEphemeral);
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].target, kChannel);
  EXPECT_EQ(posted[0].extra, kAlice.id);
  auto parsed = runner().parse("status please &amp; thanks");
  ASSERT_TRUE(std::holds_alternative<infra::Reply>(parsed));
  EXPECT_EQ(posted[0].body, privately(std::get<infra::Reply>(parsed).message));
  settle();
  EXPECT_EQ(web_.count(RecordingWebApi::kPostMessage), 0u);  // not in the thread
  EXPECT_TRUE(backend_.calls().empty());
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["decision"], "invalid");
}

TEST_F(AppTest, MentionRefusalsAndBusyGoOnlyToTheAuthor) {
  start();
  EXPECT_EQ(send(mention("<@U0BOT0001> stop prod", kBob, "1732530250.000150")), std::nullopt);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostEphemeral, 1));
  auto ephemeral = web_.calls(RecordingWebApi::kPostEphemeral);
  EXPECT_EQ(ephemeral[0].extra, kBob.id);
  const auto refusal = runner().refusal(infra::Stop{"prod"}, {kBob.id, "", kTeam, kChannel});
  ASSERT_TRUE(refusal);
  EXPECT_EQ(ephemeral[0].body, privately(refusal->message));

  backend_.hold("stop");
  send(mention("<@U0BOT0001> stop dev", kAlice, "1732530260.000160"));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  send(mention("<@U0BOT0001> stop dev", kBob, "1732530270.000170"));
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostEphemeral, 2));
  ephemeral = web_.calls(RecordingWebApi::kPostEphemeral);
  EXPECT_EQ(ephemeral[1].extra, kBob.id);
  EXPECT_THAT(string_field(ephemeral[1].body, "text"), HasSubstr("`stop dev` is already running"));
  backend_.release("stop");
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kUpdate, 1));
  settle();
  // The one thread message is Alice's job; the refusals are in nobody's thread.
  const auto posts = web_.calls(RecordingWebApi::kPostMessage);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].extra, "1732530260.000160");
  EXPECT_EQ(web_.count(RecordingWebApi::kPostEphemeral), 2u);
}

TEST_F(AppTest, MentionOfAFullTeardownPostsAButtonThatOpensTheModal) {
  EXPECT_EQ(send(mention("<@U0BOT0001> teardown dev --level=full", kAlice, "1732530400.000300")),
            std::nullopt);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostEphemeral, 1));
  const auto prompt = web_.calls(RecordingWebApi::kPostEphemeral).at(0);
  EXPECT_EQ(prompt.target, kChannel);
  EXPECT_EQ(prompt.extra, kAlice.id);
  const views::TeardownConfirmation asked{"dev", infra::TeardownLevel::full, kChannel, ""};
  EXPECT_EQ(prompt.body, privately(signed_buttons(views::render_teardown_prompt(asked))));
  await_audit(1);
  auto lines = audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["decision"], "confirm");
  EXPECT_EQ(lines[0]["outcome"], "button_posted");
  EXPECT_EQ(lines[0]["source"], "mention");

  // The button as Slack sends it back: action_id and value from the message.
  const auto message = parse_json(prompt.body);
  const auto* blocks = core::json::get_array(message, "blocks");
  ASSERT_NE(blocks, nullptr);
  std::string action_id, value;
  for (const auto& block : blocks->GetArray()) {
    if (core::json::get_string(block, "type") != "actions") continue;
    const auto& button = block["elements"][0];
    action_id = std::string(core::json::get_string(button, "action_id").value_or(""));
    value = std::string(core::json::get_string(button, "value").value_or(""));
  }
  EXPECT_EQ(action_id, "infra_open_teardown");

  slack::Interaction click;
  click.type = "block_actions";
  click.user_id = kAlice.id;
  click.user_name = kAlice.name;
  click.team_id = kTeam;
  click.channel_id = kChannel;
  click.trigger_id = "20051234567.0123456789.button";
  click.response_url = "https://hooks.slack.com/actions/T0123ABCD/2005/secretbutton";
  click.actions = {{action_id, value}};
  slack::Envelope envelope;
  envelope.envelope_id = "env-click";
  envelope.type = "interactive";
  envelope.payload = click;
  EXPECT_EQ(send(envelope), std::nullopt);

  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kOpenView, 1));
  const auto opened = web_.calls(RecordingWebApi::kOpenView).at(0);
  EXPECT_EQ(opened.target, click.trigger_id);
  EXPECT_EQ(opened.body, to_json(signed_modal(views::render_teardown_modal(
                             {"dev", infra::TeardownLevel::full, kChannel, click.response_url}))));
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.count(RecordingWebApi::kPostMessage), 0u);
}

TEST_F(AppTest, OtherInteractionsAreAckedAndIgnored) {
  EXPECT_EQ(send(ours(fixture("block_actions.json"))), std::nullopt);  // some other button
  EXPECT_EQ(send(ours(fixture("shortcut.json"))), std::nullopt);
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.total(), 0u);
  EXPECT_TRUE(audit().empty());
}

TEST_F(AppTest, ABareMentionIsAnsweredWithHelpOnlyToItsAuthor) {
  EXPECT_EQ(send(ours(fixture("events_api_app_mention.json"))), std::nullopt);  // "<@U111>"
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostEphemeral, 1));
  settle();
  const auto posted = web_.calls(RecordingWebApi::kPostEphemeral);
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].target, "C111");
  EXPECT_EQ(posted[0].extra, "U222");
  EXPECT_EQ(posted[0].body, privately(views::render_help(help_info())));
  EXPECT_EQ(web_.total(), 1u);
  EXPECT_TRUE(backend_.calls().empty());
}

// ---------------------------------------------------------------------------
// Long jobs (progress runs on the manual scheduler: only when advanced)

TEST_F(AppTest, ProgressUpdatesAreBoundedAndPrecedeTheFinalReply) {
  slack_front::AppSettings settings;
  settings.lifecycle.progress_after = 20s;
  settings.lifecycle.max_progress_updates = 2;
  start(settings);
  backend_.hold("stop");
  const auto envelope = slash("stop dev");
  const auto& url = url_of(envelope);
  send(envelope);
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));

  // 20 s and 60 s (3× later); no third one, however long it runs.
  scheduler_.advance(19s);
  EXPECT_TRUE(replies(url).empty());
  scheduler_.advance(1s);
  EXPECT_EQ(await_replies(url, 1).size(), 1u);
  scheduler_.advance(40s);
  const auto progress = await_replies(url, 2);
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[0].body, privately(views::render_progress(infra::Stop{"dev"}, 20s)));
  EXPECT_EQ(progress[1].body, privately(views::render_progress(infra::Stop{"dev"}, 60s)));
  for (const auto& call : progress) {
    EXPECT_THAT(call.body, Not(HasSubstr("replace_original")));
    EXPECT_THAT(string_field(call.body, "text"),
                HasSubstr(":hourglass_flowing_sand: Still working on `stop dev`… ("));
    EXPECT_EQ(string_field(call.body, "response_type"), "ephemeral");
  }
  scheduler_.advance(10min);
  EXPECT_EQ(scheduler_.pending(), 0u) << "no progress timer left";
  EXPECT_EQ(replies(url).size(), 2u);

  backend_.release("stop");
  const auto all = await_replies(url, 3);
  settle();
  ASSERT_EQ(replies(url).size(), 3u);
  EXPECT_EQ(all[2].body, to_json(views::for_channel(views::render_action_result(reference_run(
                                                        infra::LifecycleAction::stop, "dev")),
                                                    "alice")));
  EXPECT_LT(all[0].seq, all[1].seq);
  EXPECT_LT(all[1].seq, all[2].seq);
}

TEST_F(AppTest, ProgressOfAMentionUpdatesOneMessageInTheThread) {
  slack_front::AppSettings settings;
  settings.lifecycle.progress_after = 20s;
  settings.lifecycle.max_progress_updates = 2;
  start(settings);
  backend_.hold("stop");
  send(mention("<@U0BOT0001> stop dev", kAlice, "1732530500.000500"));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostMessage, 1));
  scheduler_.advance(20s);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kUpdate, 1));
  backend_.release("stop");
  // The final answer replaces the "still working" message in place.
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kUpdate, 2));
  settle();
  std::vector<std::string> methods;
  for (const auto& call : web_.calls()) {
    if (call.method != RecordingWebApi::kUserInfo) methods.push_back(call.method);
  }
  EXPECT_THAT(methods, testing::ElementsAre("chat.postMessage", "chat.update", "chat.update"));
  const auto posts = web_.calls(RecordingWebApi::kPostMessage);
  const auto updates = web_.calls(RecordingWebApi::kUpdate);
  EXPECT_EQ(posts[0].body, to_json(views::render_working(infra::Stop{"dev"})));
  EXPECT_EQ(posts[0].extra, "1732530500.000500");
  const auto ts = "1732530000." + std::to_string(100000 + posts[0].seq);
  EXPECT_EQ(updates[0].target, kChannel);
  EXPECT_EQ(updates[0].extra, ts);
  EXPECT_THAT(updates[0].body, HasSubstr("Still working on `stop dev`"));
  EXPECT_EQ(updates[1].extra, ts);
  EXPECT_THAT(updates[1].body, HasSubstr("STOP - DEV"));
}

TEST_F(AppTest, ProgressNeverFollowsTheFinalReply) {
  // Progress timers fire on this thread while the jobs finish on theirs:
  // whichever wins, the final reply is the last post, and comes once.
  slack_front::AppSettings settings;
  settings.lifecycle.progress_after = 1ms;
  settings.lifecycle.max_progress_updates = 3;
  start(settings);
  std::vector<slack::Envelope> sent;
  for (int i = 0; i < 12; ++i) {
    sent.push_back(slash("status dev", reader(static_cast<std::size_t>(i))));
    send(sent.back());
    for (int step = 0; step < i; ++step) scheduler_.advance(1ms);
  }
  const auto final_body = to_json(views::render_status(fresh_status("dev")));
  for (const auto& envelope : sent) {
    ASSERT_TRUE(web_.wait_for(
        [&](const std::vector<Call>& all) {
          for (const auto& call : all) {
            if (call.target == url_of(envelope) && call.body == final_body) return true;
          }
          return false;
        },
        kWait));
    scheduler_.advance(3ms);
  }
  settle();  // every job answered: no progress can follow
  scheduler_.advance(1s);
  settle();
  for (const auto& envelope : sent) {
    const auto posts = replies(url_of(envelope));
    ASSERT_FALSE(posts.empty());
    EXPECT_EQ(posts.back().body, final_body);
    std::size_t finals = 0;
    for (const auto& post : posts) finals += post.body == final_body ? 1u : 0u;
    EXPECT_EQ(finals, 1u);
    EXPECT_LE(posts.size(), 4u);  // at most 3 updates and the final reply
  }
}

// ---------------------------------------------------------------------------
// Drain

TEST_F(AppTest, DrainInterruptsAHeldJobAndTurnsLaterCommandsAway) {
  slack_front::AppSettings settings;
  settings.audit_channel = kAuditChannel;
  start(settings);
  backend_.hold("stop");
  const auto envelope = slash("stop dev");
  send(envelope);
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));

  const auto report = app().drain(100ms);
  EXPECT_EQ(report.finished, 0u);
  EXPECT_EQ(report.interrupted, 1u);
  const auto sent = replies(url_of(envelope));  // delivered before drain() returned
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body, to_json(views::render_interrupted(infra::Stop{"dev"})));
  EXPECT_THAT(sent[0].body, HasSubstr("check `/infra status dev`"));

  // After the drain: a slash command is told, and not run.
  const auto late = slash("status dev", kBob);
  EXPECT_EQ(send(late), to_json(views::render_shutting_down()));
  EXPECT_EQ(app().drain(100ms).interrupted, 0u);  // idempotent

  // The held job's late completion posts nothing more (the App's destruction
  // joins its workers and lanes: all it would post is posted by then).
  const auto calls_before = web_.total();
  backend_.release("stop");
  ASSERT_TRUE(backend_.wait_for_completed(1));
  app_.reset();
  EXPECT_EQ(web_.total(), calls_before);
  EXPECT_EQ(replies(url_of(envelope)).size(), 1u);
  EXPECT_EQ(web_.calls(RecordingWebApi::kPostMessage, kAuditChannel).size(), 0u);
  EXPECT_EQ(backend_.count("status"), 0u);
  EXPECT_EQ(backend_.count("stop"), 1u);

  std::vector<std::string> stop_outcomes;
  for (auto& line : audit()) {
    if (line["command"] == "stop dev") stop_outcomes.push_back(line["outcome"]);
  }
  EXPECT_THAT(stop_outcomes, testing::ElementsAre("interrupted"));
  EXPECT_TRUE(has_metric_line(R"(infra_jobs_total{action="stop",outcome="interrupted"} 1)"))
      << metrics_text();
}

TEST_F(AppTest, BeginDrainTurnsSlashCommandsAwayAndLeavesTheRestUnacked) {
  start();
  app().begin_drain();
  EXPECT_EQ(send(slash("stop dev")), to_json(views::render_shutting_down()));
  const auto before = acks().size();
  app().on_envelope(mention("<@U0BOT0001> status dev", kAlice, "1732530600.000600"),
                    ack_function());
  app().on_envelope(signed_fixture("view_submission_teardown.json"), ack_function());
  EXPECT_EQ(acks().size(), before);
  const auto report = app().drain(100ms);
  EXPECT_EQ(report.finished, 0u);
  EXPECT_EQ(report.interrupted, 0u);
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.total(), 0u);
  EXPECT_TRUE(audit().empty());
}

TEST_F(AppTest, AQueuedJobToldItWasInterruptedNeverRuns) {
  slack_front::AppSettings settings;
  settings.lifecycle.workers = 1;
  start(settings);
  backend_.hold("status");
  const auto running = slash("status dev");
  send(running);
  ASSERT_TRUE(backend_.wait_for_waiting(1, "status"));  // the one worker is busy
  const auto queued = slash("stop dev");
  EXPECT_EQ(send(queued), to_json(views::render_working(infra::Stop{"dev"})));

  const auto report = app().drain(100ms);
  EXPECT_EQ(report.finished, 0u);
  EXPECT_EQ(report.interrupted, 2u);
  ASSERT_EQ(replies(url_of(queued)).size(), 1u);
  EXPECT_EQ(replies(url_of(queued))[0].body,
            to_json(views::render_interrupted(infra::Stop{"dev"})));

  // The held job returns; the queued one must not reach the backend now (the
  // App's destruction joins the worker after it has had its turn).
  backend_.release("status");
  ASSERT_TRUE(backend_.wait_for_completed(1));
  app_.reset();
  EXPECT_EQ(replies(url_of(queued)).size(), 1u);
  EXPECT_EQ(backend_.count("stop"), 0u);
}

TEST_F(AppTest, DrainWaitsForAJobThatFinishes) {
  start();
  backend_.hold("stop");
  const auto envelope = slash("stop dev");
  send(envelope);
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  infra::DrainReport report;
  std::jthread draining([&] { report = app().drain(std::chrono::milliseconds(kWait)); });
  await_drain_counting(1);
  backend_.release("stop");
  draining.join();
  EXPECT_EQ(report.finished, 1u);
  EXPECT_EQ(report.interrupted, 0u);
  // A job stays in flight until its answer is queued, and drain() lets the
  // queued posts out: the reply is there when drain() returns.
  const auto sent = replies(url_of(envelope));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body, to_json(views::for_channel(views::render_action_result(reference_run(
                                                         infra::LifecycleAction::stop, "dev")),
                                                     "alice")));
  EXPECT_EQ(app().jobs_in_flight(), 0u);
}

TEST_F(AppTest, EnvelopesOtherThanSlashCommandsAreLeftUnackedWhileDraining) {
  // While draining, anything but a slash command stays unacked so that Slack
  // delivers it again (to the next instance).
  start();
  app().drain(0ms);
  const auto before = acks().size();
  app().on_envelope(mention("<@U0BOT0001> status dev", kAlice, "1732530600.000600"),
                    ack_function());
  app().on_envelope(signed_fixture("view_submission_teardown.json"), ack_function());
  app().on_envelope(signed_fixture("view_closed_teardown.json"), ack_function());
  EXPECT_EQ(acks().size(), before);
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.total(), 0u);
}

TEST_F(AppTest, ACommandAdmittedWhileDrainStartsIsCountedByTheDrain) {
  start();
  // The job waits at the gate, so the drain finds it still running.
  backend_.hold("stop");
  // Stop the socket thread inside admission (the policy reads the clock),
  // after it has checked that the App is not draining.
  clock_.arm();
  std::optional<std::string> ack;
  const auto envelope = slash("stop dev");
  std::jthread socket([&] {
    app().on_envelope(envelope, [&](const std::string&, std::optional<std::string> payload,
                                    slack_front::AckWritten on_written) {
      ack = std::move(payload);
      if (on_written) on_written();
      return core::Status{};
    });
  });
  EXPECT_TRUE(clock_.wait_trapped());
  infra::DrainReport report;
  std::jthread stopping([&] { report = app().drain(1s); });
  // drain() waits for the admission in progress before it starts draining;
  // a negative check, so a short sleep gives it the chance to go wrong.
  std::this_thread::sleep_for(100ms);
  for (const auto& line : log_sink_->lines()) {
    EXPECT_EQ(line.find("draining:"), std::string::npos) << line;
  }
  clock_.release();
  socket.join();
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  await_drain_counting(1);
  backend_.release("stop");
  stopping.join();

  // The command was admitted before the drain began, so the drain waited for it.
  EXPECT_EQ(ack, to_json(views::render_working(infra::Stop{"dev"})));
  EXPECT_EQ(report.finished, 1u);
  EXPECT_EQ(report.interrupted, 0u);
  EXPECT_EQ(backend_.count("stop"), 1u);
}

// ---------------------------------------------------------------------------
// Audit

TEST_F(AppTest, AuditLineHasTheDocumentedFieldsAndTheAuditChannelOneLinePerAction) {
  slack_front::AppSettings settings;
  settings.audit_channel = kAuditChannel;
  start(settings);
  know(kAlice);
  backend_.hold("stop");
  const auto stop = slash("stop dev");
  send(stop);
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  clock_.advance(41s);
  backend_.release("stop");
  await_replies(url_of(stop));
  await_audit(1);

  const auto status = slash("status dev");
  send(status);
  await_replies(url_of(status));
  await_audit(2);
  send(slash("stop prod"));
  settle();

  auto lines = audit();
  ASSERT_EQ(lines.size(), 3u);
  auto line = lines[0];
  for (const auto& field : kAuditFields) EXPECT_EQ(line.count(field), 1u) << field;
  EXPECT_EQ(line["logger"], "audit");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["event"], "command");
  EXPECT_EQ(line["source"], "slash_command");
  EXPECT_EQ(line["request_id"], backend_.calls("stop").at(0).context.request_id);
  EXPECT_THAT(line["request_id"], testing::StartsWith("req-"));
  EXPECT_EQ(line["team_id"], kTeam);
  EXPECT_EQ(line["user_id"], kAlice.id);
  EXPECT_EQ(line["user_name"], "Alice Liddell");
  EXPECT_EQ(line["channel_id"], kChannel);
  EXPECT_EQ(line["command"], "stop dev");
  EXPECT_EQ(line["action"], "stop");
  EXPECT_EQ(line["environment"], "dev");
  EXPECT_EQ(line["decision"], "allowed");
  EXPECT_EQ(line["reason"], "");
  EXPECT_EQ(line["backend"], "simulated");
  EXPECT_EQ(line["outcome"], "ok");
  EXPECT_EQ(line["duration_ms"], "41000");
  EXPECT_EQ(line.count("error"), 0u);

  EXPECT_EQ(lines[1]["request_id"], backend_.calls("status").at(0).context.request_id);
  EXPECT_NE(lines[1]["request_id"], lines[0]["request_id"]);
  EXPECT_EQ(lines[1]["action"], "status");
  EXPECT_EQ(lines[1]["outcome"], "ok");
  for (const auto& field : kAuditFields) EXPECT_EQ(lines[2].count(field), 1u) << field;
  EXPECT_EQ(lines[2]["decision"], "denied");

  // The stop; not the status, not the refusal, not know()'s listings. (Its
  // own lane: not ordered with the user's reply.)
  const auto posted = web_.calls(RecordingWebApi::kPostMessage, kAuditChannel);
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].body,
            to_json(views::render_audit_line(infra::Stop{"dev"}, "@alice", "ok", 41s)));
  EXPECT_EQ(string_field(posted[0].body, "text"), "@alice stopped dev — ok in 41 s");
  EXPECT_EQ(posted[0].extra, "");
}

TEST_F(AppTest, AuditChannelRecordsFailures) {
  slack_front::AppSettings settings;
  settings.audit_channel = kAuditChannel;
  start(settings);
  backend_.fail("start", core::make_error(core::ErrorCode::conflict, "`dev` is torn down."));
  const auto envelope = slash("start dev");
  send(envelope);
  await_replies(url_of(envelope));
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostMessage, kAuditChannel, 1));
  settle();
  const auto posted = web_.calls(RecordingWebApi::kPostMessage, kAuditChannel);
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(string_field(posted[0].body, "text"), "@alice started dev — failed in 0 s");
}

TEST_F(AppTest, AJobStartedByAMentionNamesItsRequesterReadably) {
  slack_front::AppSettings settings;
  settings.audit_channel = kAuditChannel;
  start(settings);
  know(kAlice);  // a mention carries only the id: the handle comes from users.info
  backend_.hold("stop");
  send(mention("<@U0BOT0001> stop dev", kAlice, "1732530700.000700"));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  const auto busy = send(slash("stop dev", kBob)).value_or("");
  backend_.release("stop");
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostMessage, kAuditChannel, 1));
  const auto line =
      string_field(web_.calls(RecordingWebApi::kPostMessage, kAuditChannel)[0].body, "text");
  const auto busy_text = string_field(busy, "text");
  // Named by the users.info handle, not "@U0456EFGH" (neither a handle nor a
  // Slack mention, "<@U0456EFGH>").
  EXPECT_EQ(busy_text,
            ":hourglass_flowing_sand: `stop dev` is already running (started by @alice 0 s ago).");
  EXPECT_EQ(line, "@alice stopped dev — ok in 0 s");
  ASSERT_EQ(backend_.count("stop"), 1u);
  EXPECT_EQ(backend_.calls("stop")[0].context.requested_by.user_name, "Alice Liddell");
}

// ---------------------------------------------------------------------------
// Metrics

TEST_F(AppTest, MetricsCountEnvelopesJobsAndAckLatency) {
  start();
  const auto stop = slash("stop dev");
  send(stop);
  const auto status = slash("status dev");
  send(status);
  send(slash("stop prod"));
  send(mention("<@U0BOT0001> help", kAlice, "1732530800.000800"));
  await_replies(url_of(stop));
  await_replies(url_of(status));
  await_audit(4);
  settle();

  for (const std::string line : {
           R"(infra_envelopes_total{type="slash_commands"} 3)",
           R"(infra_envelopes_total{type="events_api"} 1)",
           R"(infra_jobs_total{action="stop",outcome="ok"} 1)",
           R"(infra_jobs_total{action="status",outcome="ok"} 1)",
           R"(infra_ack_latency_seconds_count 4)",
           R"(infra_ack_latency_seconds_bucket{le="+Inf"} 4)",
           R"(infra_jobs_running 0)",
           R"(infra_lambda_calls_total{function="orchestrator",outcome="ok"} 2)",
       }) {
    await_metric(line);
  }
  EXPECT_THAT(metrics_text(), Not(HasSubstr(R"(action="stop",outcome="refused")")));
  EXPECT_TRUE(has_metric_line("infra_metrics_undeclared_total 0")) << metrics_text();
}

// ---------------------------------------------------------------------------
// Load

TEST_F(AppTest, TwoHundredCommandsGetTwoHundredAcksAndExactlyOneReplyEach) {
  start();
  constexpr std::size_t kCommands = 200;
  std::vector<slack::Envelope> sent;
  sent.reserve(kCommands);
  const auto working_json = to_json(views::render_working(infra::Status{"dev"}));
  // 20 users with 10 reads each: as many as the read limit lets one user run.
  constexpr std::size_t kUsers = 20;
  for (std::size_t i = 0; i < kCommands; ++i) {
    sent.push_back(slash("status dev", reader(i % kUsers)));
    EXPECT_EQ(send(sent.back()), working_json) << i;
  }
  EXPECT_EQ(acks().size(), kCommands);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kRespond, kCommands, 20s));
  settle();
  const auto final_body = to_json(views::render_status(fresh_status("dev")));
  std::map<std::string, std::size_t> per_url;
  for (const auto& call : web_.calls(RecordingWebApi::kRespond)) {
    ++per_url[call.target];
    EXPECT_EQ(call.body, final_body);
  }
  EXPECT_EQ(per_url.size(), kCommands);
  for (const auto& envelope : sent) EXPECT_EQ(per_url[url_of(envelope)], 1u);
  EXPECT_EQ(backend_.count("status"), kCommands);
  await_audit(kCommands);
  EXPECT_EQ(audit().size(), kCommands);
  await_metric(R"(infra_jobs_total{action="status",outcome="ok"} 200)");
  // users.info once per user: a lookup in flight or remembered (even a
  // failed one) is not repeated.
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), kUsers);
}

TEST_F(AppTest, AFullJobQueueAnswersTooBusy) {
  slack_front::AppSettings settings;
  settings.lifecycle.workers = 1;
  settings.lifecycle.max_queued = 1;
  start(settings);
  backend_.hold("status");
  const auto running = slash("status dev");
  send(running);
  ASSERT_TRUE(backend_.wait_for_waiting(1, "status"));  // the worker has it
  const auto queued = slash("status dev");
  send(queued);
  // No room: the ack itself says so, and nothing is registered or left hanging.
  const auto refused = slash("status dev");
  EXPECT_EQ(send(refused),
            to_json(views::render_failure(
                infra::Status{"dev"},
                core::make_error(core::ErrorCode::unavailable,
                                 "infra-bot is too busy right now. Try again in a minute."))));
  backend_.release("status");
  await_replies(url_of(running));
  await_replies(url_of(queued));
  settle();
  EXPECT_TRUE(replies(url_of(refused)).empty());
  EXPECT_EQ(backend_.count("status"), 2u);
  await_metric(R"(infra_jobs_total{action="status",outcome="ok"} 2)");
}

// ---- issue 15: who reaches the core, and what comes back signed ----

class GateTest : public AppTest {
 protected:
  static constexpr const char* kOtherTeam = "T0OTHER01";

  void SetUp() override {
    slack_front::AppSettings settings;
    settings.workspace.team_id = kTeam;
    settings.workspace.bot_user_id = "U0BOT";
    start(std::move(settings));
  }

  /// Hands `envelope` to the App and drives the scheduler until it is acked
  /// (its author may need users.info first); returns the ack's payload.
  std::optional<std::string> deliver(const slack::Envelope& envelope) {
    const auto before = acks().size();
    app().on_envelope(envelope, ack_function());
    const bool acked = wait_until([&] {
      scheduler_.run_ready();
      return acks().size() > before;
    });
    EXPECT_TRUE(acked) << "envelope " << envelope.envelope_id << " never acked";
    if (!acked) return std::string("<not acked>");
    const auto after = acks();
    EXPECT_EQ(after.size(), before + 1);
    EXPECT_EQ(after.back().envelope_id, envelope.envelope_id);
    return after.back().payload;
  }

  static slack::UserInfo guest(const User& user) {
    auto info = member(user);
    info.is_restricted = true;
    return info;
  }

  std::string last_audit(const std::string& field) {
    const auto lines = audit();
    return lines.empty() ? "<no audit line>" : lines.back().at(field);
  }
};

TEST_F(GateTest, GuestsExternalUsersBotsAndOtherTeamsAreIgnoredAndAudited) {
  web_.set_user(guest(kBob));
  auto carol = member(kCarol);
  carol.team_id = kOtherTeam;  // a Slack Connect user from another company
  web_.set_user(carol);

  EXPECT_EQ(deliver(slash("teardown staging", kBob)), std::nullopt);
  await_audit(1);
  EXPECT_EQ(last_audit("decision"), "ignored");
  EXPECT_EQ(last_audit("reason"), "guest");
  EXPECT_EQ(last_audit("user_id"), kBob.id);

  EXPECT_EQ(deliver(slash("whitelist add 10.0.0.0/16 --env=prod --ttl=365d", kCarol)),
            std::nullopt);
  await_audit(2);
  EXPECT_EQ(last_audit("reason"), "external");

  // Another workspace's envelope: ignored from what it says, no users.info.
  auto foreign = slash("stop dev", kAlice);
  command_of(foreign).team_id = kOtherTeam;
  EXPECT_EQ(send(foreign), std::nullopt);
  await_audit(3);
  EXPECT_EQ(last_audit("reason"), "other_team");

  // A workflow's (or another app's) message mentioning the bot.
  auto workflow = mention("<@U0BOT> stop dev", kAlice, "1700000000.000100");
  std::get<slack::Event>(workflow.payload).bot_id = "B0WORKFLOW";
  std::get<slack::Event>(workflow.payload).subtype = "bot_message";
  EXPECT_EQ(send(workflow), std::nullopt);
  await_audit(4);
  EXPECT_EQ(last_audit("reason"), "bot");

  settle();
  EXPECT_TRUE(backend_.calls().empty()) << "nothing ran";
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), 2u) << "Bob and Carol only";
  EXPECT_EQ(web_.total(), 2u) << "nothing posted";
  await_metric(R"(infra_envelopes_ignored_total{reason="guest"} 1)");
  await_metric(R"(infra_envelopes_ignored_total{reason="other_team"} 1)");
}

TEST_F(GateTest, GuestsAreLetInWhenTheOperatorSaysSo) {
  slack_front::AppSettings settings;
  settings.workspace.team_id = kTeam;
  settings.workspace.allow_guests = true;
  start(std::move(settings));
  web_.set_user(guest(kBob));
  EXPECT_THAT(send(slash("status dev", kBob)).value_or(""), HasSubstr("Working"))
      << "acked at once: no users.info before it";
  // Another workspace stays out whatever the setting.
  auto foreign = slash("status dev", kBob);
  command_of(foreign).team_id = kOtherTeam;
  EXPECT_EQ(deliver(foreign), std::nullopt);
  settle();
  EXPECT_EQ(backend_.count("status"), 1u);
}

TEST_F(GateTest, AMembersVerdictIsKeptTenMinutes) {
  web_.set_user(member(kAlice));
  EXPECT_THAT(deliver(slash("status dev")).value_or(""), HasSubstr("Working"));
  EXPECT_THAT(send(slash("status staging")).value_or(""), HasSubstr("Working"))
      << "the second one is decided at once, from the cache";
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), 1u);
  clock_.advance(10min);
  EXPECT_THAT(deliver(slash("status prod")).value_or(""), HasSubstr("Working"));
  EXPECT_EQ(web_.count(RecordingWebApi::kUserInfo), 2u) << "asked again after 10 minutes";
}

TEST_F(GateTest, WhenSlackCannotSayChangesAreRefusedAndReadsGoOn) {
  web_.fail(RecordingWebApi::kUserInfo,
            core::make_error(core::ErrorCode::unavailable, "Slack is down.", "http 503"));
  const auto refused = deliver(slash("stop dev")).value_or("");
  EXPECT_THAT(refused, HasSubstr("Slack did not confirm your account in time"));
  await_audit(1);
  EXPECT_EQ(last_audit("decision"), "denied");
  EXPECT_EQ(last_audit("reason"), "unverified");
  const auto asked = web_.count(RecordingWebApi::kUserInfo);
  const auto read = slash("status dev");
  EXPECT_THAT(deliver(read).value_or(""), HasSubstr("Working")) << "a read goes on";
  await_replies(url_of(read));
  EXPECT_GT(web_.count(RecordingWebApi::kUserInfo), asked) << "a failure is not cached";
  // Slack answers again: the change goes through.
  web_.succeed(RecordingWebApi::kUserInfo);
  web_.set_user(member(kAlice));
  EXPECT_THAT(deliver(slash("stop dev")).value_or(""), HasSubstr("Working"));
  settle();
  EXPECT_EQ(backend_.count("stop"), 1u);
  EXPECT_EQ(backend_.count("status"), 1u);
}

TEST_F(GateTest, ALookupSlowerThanItsBoundGoesOnUnverified) {
  web_.set_user(member(kAlice));
  web_.delay(RecordingWebApi::kUserInfo, 300ms);
  const auto before = acks().size();
  app().on_envelope(slash("stop dev"), ack_function());
  EXPECT_EQ(acks().size(), before) << "waits for users.info";
  scheduler_.advance(1999ms);
  EXPECT_EQ(acks().size(), before) << "still within its 2 s";
  scheduler_.advance(1ms);  // the bound: acked now, unverified
  ASSERT_EQ(acks().size(), before + 1);
  EXPECT_THAT(acks().back().payload.value_or(""), HasSubstr("Slack did not confirm your account"));
  // The answer that came late is kept for the next command.
  ASSERT_TRUE(wait_until([&] {
    scheduler_.run_ready();
    return web_.count(RecordingWebApi::kUserInfo) == 1u;
  }));
  std::this_thread::sleep_for(400ms);  // the delayed users.info returns and is cached
  scheduler_.run_ready();
  EXPECT_THAT(send(slash("stop staging")).value_or(""), HasSubstr("Working"));
  settle();
  EXPECT_EQ(backend_.count("stop"), 1u);
}

// A drain waits for envelopes still waiting for users.info: a slash command
// is answered "restarting" before the sockets close; a mention is left
// unacked, for Slack to deliver to the next instance.
TEST_F(GateTest, EnvelopesWaitingForTheGateAreAnsweredBeforeADrainEnds) {
  web_.set_user(member(kAlice));
  web_.delay(RecordingWebApi::kUserInfo, 200ms);
  const auto before = acks().size();
  const auto command = slash("stop dev");
  app().on_envelope(command, ack_function());
  app().on_envelope(mention("<@U0BOT> stop staging", kBob, "1700000000.000200"), ack_function());
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    app().drain(std::chrono::milliseconds(kWait));
    drained = true;
  });
  EXPECT_TRUE(wait_until([&] {
    scheduler_.run_ready();
    return drained.load();
  }));
  drainer.join();
  const auto after = acks();
  ASSERT_EQ(after.size(), before + 1) << "the slash command only";
  EXPECT_EQ(after.back().envelope_id, command.envelope_id);
  EXPECT_THAT(after.back().payload.value_or(""), HasSubstr("restarting"));
  EXPECT_TRUE(backend_.calls().empty());
}

TEST_F(GateTest, AResponseUrlThatIsNotSlacksIsRefused) {
  web_.set_user(member(kAlice));
  for (const char* url : {"https://evil.example/commands/1", "http://hooks.slack.com/commands/1",
                          "https://hooks.slack.com.evil.example/x"}) {
    auto forged = slash("status dev");
    command_of(forged).response_url = url;
    EXPECT_THAT(deliver(forged).value_or(""),
                HasSubstr("reply address that is not Slack's, so it was refused"))
        << url;
    await_audit(1);
    EXPECT_EQ(last_audit("reason"), "response_url_not_slack");
    audit_skip_ += 1;
  }
  settle();
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(web_.count(RecordingWebApi::kRespond), 0u);
}

TEST_F(GateTest, AModalsMetadataIsSignedAndTamperingOrAgeIsRefused) {
  web_.set_user(member(kAlice));
  const auto command = slash("teardown dev --level=full");
  EXPECT_EQ(deliver(command), std::nullopt);
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kOpenView, 1));
  const auto view = parse_json(web_.calls(RecordingWebApi::kOpenView).at(0).body);
  const std::string metadata(core::json::get_string(view, "private_metadata").value_or(""));
  ASSERT_THAT(metadata, testing::StartsWith("v1."));
  await_audit(1);
  audit_skip_ += 1;

  const auto submit = [&](const std::string& private_metadata) {
    auto envelope = signed_fixture("view_submission_teardown.json");
    auto& interaction = std::get<slack::Interaction>(envelope.payload);
    interaction.user_id = kAlice.id;
    interaction.view_private_metadata = private_metadata;
    for (auto& value : interaction.values) value.value = "dev";
    return deliver(envelope).value_or("");
  };
  // The environment changed on the way back: refused before anything is read.
  auto tampered = metadata;
  tampered.replace(tampered.find("\"dev\""), 5, "\"stg\"");
  EXPECT_THAT(submit(tampered), HasSubstr("no longer valid (they last 15 minutes)"));
  await_audit(1);
  EXPECT_EQ(last_audit("reason"), "metadata_invalid");
  // The same metadata, 15 minutes and a second later.
  clock_.advance(15min + 1s);
  EXPECT_THAT(submit(metadata), HasSubstr("no longer valid"));
  settle();
  EXPECT_TRUE(backend_.calls().empty());
}

}  // namespace

namespace {

// Issue 15: a Lambda's error text held an AWS secret key and a bot token, and
// the reply showed them. Every text to Slack passes the redactor: the ack, the
// replies, the audit channel's lines.
TEST_F(AppTest, SecretsNeverReachSlack) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
  slack_front::AppSettings settings;
  settings.audit_channel = kAuditChannel;
  settings.redactor.add_secret(secret);
  start(std::move(settings));
  const std::string leak = "AccessDenied for " + secret + " with xoxb-1234_5678/abcDEF";
  backend_.fail("stop", core::make_error(core::ErrorCode::unavailable, leak, leak));
  const auto envelope = slash("stop dev");
  send(envelope);
  const auto sent = await_replies(url_of(envelope));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_THAT(sent[0].body, HasSubstr("AccessDenied for [REDACTED]"));
  ASSERT_TRUE(web_.wait_for_count(RecordingWebApi::kPostMessage, kAuditChannel, 1, kWait));
  // A token typed into the command comes back in the parse error of the ack.
  const auto ack = send(slash("stop xoxp-99887766-secretvalue")).value_or("");
  EXPECT_THAT(ack, HasSubstr("[REDACTED]"));
  settle();
  for (const auto& call : web_.calls()) {
    EXPECT_THAT(call.body, Not(HasSubstr(secret))) << call.method;
    EXPECT_THAT(call.body, Not(HasSubstr("xoxb-1234"))) << call.method;
  }
  for (const auto& sent_ack : acks()) {
    EXPECT_THAT(sent_ack.payload.value_or(""), Not(HasSubstr("secretvalue")));
  }
}

}  // namespace
