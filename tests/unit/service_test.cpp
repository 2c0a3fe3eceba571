// `infra-bot run` end to end (issue 6): the built binary against the fake Slack (HTTPS + WSS) and
// the fake Lambda (SigV4 checked by botocore), configured only through its environment. Every
// test asserts on what the fakes recorded: acks and their payloads, Web API calls,
// response_url posts and Lambda invocations. This file: the commands and the modal;
// service_faults_test.cpp: busy, Lambda faults, progress; service_lifecycle_test.cpp: bursts,
// reconnects, SIGTERM, health, configuration. Each test's infra-bot output is scanned for
// secrets in TearDown().
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "service_fixture.hpp"

namespace {

using namespace test::service;
using namespace std::chrono_literals;
using test::FakeLambda;
using test::FakeSlack;
using testing::HasSubstr;

class ServiceTest : public ServiceFixture {
 protected:
  /// The audit line of `command_text` has every field of design §6/issue 6 and these values
  /// (`outcome` empty: not checked).
  void expect_audit(std::string_view command_text, std::string_view action,
                    std::string_view environment, bool allowed, std::string_view outcome,
                    std::string_view request_id = {}) {
    ASSERT_TRUE(wait_audit(command_text));
    const auto lines = audit_lines(command_text);
    ASSERT_FALSE(lines.empty());
    const auto& line = lines.front();
    SCOPED_TRACE("audit line: " + core::json::to_string(line));
    for (const char* field :
         {"request_id", "team_id", "user_id", "user_name", "channel_id", "command", "action",
          "environment", "decision", "reason", "backend", "outcome", "duration_ms"}) {
      EXPECT_TRUE(line.HasMember(field)) << "audit line without " << field;
    }
    EXPECT_FALSE(str(line, "request_id").empty());
    if (!request_id.empty()) {
      EXPECT_EQ(str(line, "request_id"), request_id);
    }
    EXPECT_EQ(str(line, "team_id"), kTeam);
    EXPECT_EQ(str(line, "user_id"), kUser);
    EXPECT_THAT(str(line, "user_name"), testing::AnyOf(kUserName, kRealName));
    EXPECT_EQ(str(line, "channel_id"), kChannel);
    EXPECT_EQ(str(line, "action"), action);
    EXPECT_EQ(str(line, "environment"), environment);
    if (allowed) {
      EXPECT_THAT(str(line, "decision"), testing::AnyOf("allow", "allowed"));
    } else {
      EXPECT_THAT(str(line, "decision"), testing::AnyOf("deny", "denied"));
      EXPECT_FALSE(str(line, "reason").empty());
    }
    EXPECT_EQ(str(line, "backend"), "lambda");
    if (!outcome.empty()) {
      EXPECT_EQ(str(line, "outcome"), outcome);
    }
    if (line.HasMember("duration_ms")) {
      EXPECT_TRUE(line["duration_ms"].IsNumber());
    }
  }
};

// ------------------------------------------------------------------------ status

TEST_F(ServiceTest, StatusDevAcksAtOnceCallsTheOrchestratorOnceAndListsTheServices) {
  start();
  const auto cmd = slash("status dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  const auto ack = wait_ack(cmd.envelope_id);
  ASSERT_TRUE(ack.IsObject());
  EXPECT_LE(latency_ms(ack), 200.0) << "ack latency as the fake measured it";
  EXPECT_EQ(canonical(member_json(ack, "payload")), canonical(working_json("status dev")));

  const auto reply = final_reply(cmd.response_id);
  EXPECT_EQ(canonical(reply),
            canonical(slack::blockkit::to_json(infra::views::render_status(dev_status()))));

  const auto seen = calls(kOrchestrator);
  ASSERT_EQ(seen.size(), 1u) << lambda().describe_last(5);
  EXPECT_EQ(payload_without_request_id(seen[0]),
            canonical(R"({"action": "status", "environment": "dev", "request_id": "<id>",
                          "requested_by": )" +
                      requested_by_json() + R"(, "source": "slack"})"));
  EXPECT_EQ(str(seen[0], "invocation_type"), "RequestResponse");
  EXPECT_EQ(str(seen[0], "access_key"), "AKIDTEST");
  EXPECT_EQ(str(seen[0], "region"), "eu-west-1");
  EXPECT_EQ(lambda().count(), 1u) << "nothing but the one status call";

  // requested_by.user_name is users.info's real name.
  EXPECT_TRUE(slack().wait_for_api("users.info"));
  expect_audit("status dev", "status", "dev", true, "ok",
               str(FakeLambda::payload(seen[0]), "request_id"));
}

// ------------------------------------------------------- mutating commands

TEST_F(ServiceTest, StopDevRepliesInChannelNamingWhoRanItAndWritesTheAuditChannel) {
  start(Settings().env("INFRA_AUDIT_CHANNEL", "C0AUDIT01"));
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  const auto ack = wait_ack(cmd.envelope_id);
  EXPECT_EQ(canonical(member_json(ack, "payload")), canonical(working_json("stop dev")));

  const auto reply = final_reply(cmd.response_id);
  const infra::ActionResult result{infra::LifecycleAction::stop,
                                   "dev",
                                   "Operation completed successfully.",
                                   {{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}};
  EXPECT_EQ(canonical(reply),
            canonical(in_channel_json(infra::views::render_action_result(result))));

  const auto seen = calls(kOrchestrator, "stop");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(payload_without_request_id(seen[0]),
            canonical(R"({"action": "stop", "environment": "dev", "request_id": "<id>",
                          "requested_by": )" +
                      requested_by_json() + R"(, "source": "slack"})"));
  EXPECT_EQ(lambda().count(), 1u);

  // One line in the audit channel.
  ASSERT_TRUE(slack().wait_for(
      "chat.postMessage to the audit channel",
      [](const FakeSlack::Event& e) {
        const auto* body =
            FakeSlack::is(e, "api") && FakeSlack::str(e, "method") == "chat.postMessage"
                ? core::json::get_object(e, "body")
                : nullptr;
        return body != nullptr && str(*body, "channel") == "C0AUDIT01";
      },
      1, 5s));
  settle();
  std::vector<std::string> audit_texts;
  for (const auto& event : slack().events("api")) {
    const auto* body = core::json::get_object(event, "body");
    if (str(event, "method") == "chat.postMessage" && body != nullptr &&
        str(*body, "channel") == "C0AUDIT01") {
      audit_texts.push_back(str(*body, "text"));
      EXPECT_EQ(FakeSlack::num(event, "status"), 200);
    }
  }
  ASSERT_EQ(audit_texts.size(), 1u) << "one audit message per mutating action";
  EXPECT_TRUE(std::regex_match(audit_texts[0], std::regex("@alice stopped dev — ok in \\d+ s")))
      << audit_texts[0];
  expect_audit("stop dev", "stop", "dev", true, "ok",
               str(FakeLambda::payload(seen[0]), "request_id"));
}

TEST_F(ServiceTest, StartSpinupAndConfirmedServicesTeardownCallTheOrchestratorAndReplyInChannel) {
  start();
  struct Case {
    std::string text;
    std::string request;  // without request_id / requested_by / source
    infra::ActionResult result;
  };
  const std::vector<Case> cases = {
      {"start staging",
       R"("action": "start", "environment": "staging")",
       {infra::LifecycleAction::start,
        "staging",
        "Operation completed successfully.",
        {{"ecs_services_started", 3}, {"rds_instances_started", 1}}}},
      {"spinup dev",
       R"("action": "spinup", "environment": "dev")",
       {infra::LifecycleAction::spinup,
        "dev",
        "Environment is coming up.",
        {{"ecs_services_created", 2}, {"rds_instances_created", 1}}}},
      {"teardown dev",
       R"("action": "teardown", "environment": "dev", "level": "services")",
       {infra::LifecycleAction::teardown,
        "dev",
        "ECS services deleted.",
        {{"ecs_services_deleted", 2}}}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    SCOPED_TRACE(c.text);
    const auto cmd = slash(c.text);
    ASSERT_GT(slack().push(cmd.frame), 0);
    const auto ack = wait_ack(cmd.envelope_id);
    if (c.text.starts_with("teardown")) {
      // Issue 15: a services teardown asks for the same typed confirmation as a full one.
      EXPECT_EQ(member_json(ack, "payload"), "null") << "a teardown acks empty";
      const auto view = opened_view(1);
      ASSERT_TRUE(view.IsObject());
      const infra::views::TeardownConfirmation confirmation{"dev", infra::TeardownLevel::services,
                                                            kChannel, cmd.response_url};
      EXPECT_EQ(
          unsigned_json(view),
          canonical(slack::blockkit::to_json(infra::views::render_teardown_modal(confirmation))));
      EXPECT_EQ(calls(kOrchestrator).size(), i) << "nothing runs before the confirmation";
      std::string submitted;
      ASSERT_GT(slack().push(view_submission(view, "V1", "dev", &submitted)), 0);
      EXPECT_EQ(member_json(wait_ack(submitted), "payload"), "null");
    } else {
      EXPECT_EQ(canonical(member_json(ack, "payload")), canonical(working_json(c.text)));
    }
    const auto reply = final_reply(cmd.response_id);
    EXPECT_EQ(canonical(reply),
              canonical(in_channel_json(infra::views::render_action_result(c.result))));
    const auto seen = calls(kOrchestrator);
    ASSERT_EQ(seen.size(), i + 1);
    EXPECT_EQ(payload_without_request_id(seen[i]),
              canonical("{" + c.request + R"(, "request_id": "<id>", "requested_by": )" +
                        requested_by_json() + R"(, "source": "slack"})"));
  }
  EXPECT_EQ(slack().api_calls("views.open"), 1u) << "only the teardown asks for a confirmation";
}

TEST_F(ServiceTest, ProtectedEnvironmentIsRefusedWithoutLambdaCallOrModal) {
  start();
  for (const std::string text : {"stop prod", "teardown prod --level=full"}) {
    SCOPED_TRACE(text);
    const auto cmd = slash(text);
    ASSERT_GT(slack().push(cmd.frame), 0);
    const auto ack = wait_ack(cmd.envelope_id);
    EXPECT_EQ(canonical(member_json(ack, "payload")),
              canonical(denied_json(text, infra::PolicySettings{})));
    EXPECT_THAT(member_json(ack, "payload"), HasSubstr("`prod` is protected"));
  }
  expect_audit("stop prod", "stop", "prod", false, "");
  settle(500ms);
  EXPECT_EQ(lambda().count(), 0u) << lambda().describe_last(5);
  EXPECT_EQ(slack().api_calls("views.open"), 0u);
  EXPECT_EQ(slack().count("response_url"), 0u) << "a refusal is the ack itself";
}

TEST_F(ServiceTest, RedeliveredSlashCommandRunsOnce) {
  start();
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  ASSERT_GT(slack().push(cmd.frame), 0);  // Slack delivers the same envelope again
  ASSERT_TRUE(slack().wait_for_ack(cmd.envelope_id, 2)) << bot().describe_last(10);
  EXPECT_EQ(canonical(final_reply(cmd.response_id)),
            canonical(in_channel_json(infra::views::render_action_result(
                {infra::LifecycleAction::stop,
                 "dev",
                 "Operation completed successfully.",
                 {{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}}))));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u) << "a redelivery starts no second job";
  EXPECT_EQ(posts(cmd.response_id).size(), 1u);
}

// ---------------------------------------------------------- the teardown modal

TEST_F(ServiceTest, FullTeardownOpensTheModalChecksTheTextAndRunsExactlyOnce) {
  start();
  const auto cmd = slash("teardown dev --level=full");
  ASSERT_GT(slack().push(cmd.frame), 0);
  const auto ack = wait_ack(cmd.envelope_id);
  EXPECT_EQ(member_json(ack, "payload"), "null") << "a full teardown acks empty";
  EXPECT_LE(latency_ms(ack), 200.0);

  std::string trigger_id;
  const auto view = opened_view(1, &trigger_id);
  ASSERT_TRUE(view.IsObject());
  EXPECT_EQ(trigger_id, cmd.trigger_id);
  const auto opens = api_events("views.open");
  ASSERT_EQ(opens.size(), 1u);
  ASSERT_TRUE(opens[0].HasMember("trigger_age_ms") && opens[0]["trigger_age_ms"].IsNumber())
      << "the trigger_id is not the one the fake pushed: " << core::json::to_string(opens[0]);
  EXPECT_LT(opens[0]["trigger_age_ms"].GetDouble(), 3000.0) << "a trigger_id is valid for 3 s";
  const infra::views::TeardownConfirmation confirmation{"dev", infra::TeardownLevel::full, kChannel,
                                                        cmd.response_url};
  // What comes back through Slack is signed (issue 15): compared with what was signed.
  EXPECT_EQ(unsigned_json(view),
            canonical(slack::blockkit::to_json(infra::views::render_teardown_modal(confirmation))));
  auto metadata = core::json::parse(signed_payload(str(view, "private_metadata")).value_or(""));
  ASSERT_TRUE(metadata);
  EXPECT_EQ(canonical(*metadata),
            canonical(R"({"channel": ")" + std::string(kChannel) +
                      R"(", "env": "dev", "level": "full", "response_url": )" +
                      core::json::quote(cmd.response_url) + "}"));
  EXPECT_EQ(lambda().count(), 0u) << "nothing runs before the confirmation";

  // fake_slack numbers the views it opens from V1 (its answer to views.open carries the id);
  // the submissions carry it back.
  const std::string view_id = "V1";

  // Wrong text: errors on the input, nothing runs.
  std::string wrong_id;
  ASSERT_GT(slack().push(view_submission(view, view_id, "prod", &wrong_id)), 0);
  const auto wrong_ack = wait_ack(wrong_id);
  EXPECT_EQ(canonical(member_json(wrong_ack, "payload")),
            canonical(R"({"response_action": "errors", "errors": {"teardown_confirm":
                           "Type `dev` exactly to confirm the teardown."}})"));
  settle();
  EXPECT_EQ(lambda().count(), 0u);

  // The right text: the modal closes (ack without payload), one teardown with level full.
  std::string right_id;
  const auto submission = view_submission(view, view_id, "dev", &right_id);
  ASSERT_GT(slack().push(submission), 0);
  ASSERT_GT(slack().push(submission), 0);  // the same envelope delivered twice
  const auto right_ack = wait_ack(right_id);
  EXPECT_EQ(member_json(right_ack, "payload"), "null");
  const auto reply = final_reply(cmd.response_id);
  const infra::ActionResult result{infra::LifecycleAction::teardown,
                                   "dev",
                                   "Environment torn down; VPC, S3, Secrets and IAM preserved.",
                                   {{"ecs_services_deleted", 2},
                                    {"rds_instances_deleted", 1},
                                    {"nat_gateways_deleted", 1},
                                    {"elastic_ips_released", 1}}};
  EXPECT_EQ(canonical(reply),
            canonical(in_channel_json(infra::views::render_action_result(result))));

  // A double submit (a second envelope of the same view) after the job finished.
  std::string again_id;
  ASSERT_GT(slack().push(view_submission(view, view_id, "dev", &again_id)), 0);
  const auto again_ack = wait_ack(again_id);
  EXPECT_THAT(member_json(again_ack, "payload"), testing::Not(HasSubstr("\"errors\"")));
  settle(500ms);

  const auto seen = calls(kOrchestrator, "teardown");
  ASSERT_EQ(seen.size(), 1u) << "exactly one teardown, however often it is submitted; "
                             << lambda().describe_last(5);
  EXPECT_EQ(payload_without_request_id(seen[0]),
            canonical(R"({"action": "teardown", "environment": "dev", "level": "full",
                          "request_id": "<id>", "requested_by": )" +
                      requested_by_json() + R"(, "source": "slack"})"));
  EXPECT_EQ(lambda().count(), 1u);
  EXPECT_EQ(final_replies(cmd.response_id).size(), 1u);
  EXPECT_EQ(slack().api_calls("views.open"), 1u);
}

TEST_F(ServiceTest, ClosingTheModalRepliesCancelled) {
  start();
  const auto cmd = slash("teardown dev --level=full");
  ASSERT_GT(slack().push(cmd.frame), 0);
  const auto view = opened_view();
  ASSERT_TRUE(view.IsObject());
  std::string closed_id;
  ASSERT_GT(slack().push(view_closed(view, "V1", &closed_id)), 0);
  const auto ack = wait_ack(closed_id);
  EXPECT_EQ(member_json(ack, "payload"), "null");
  ASSERT_TRUE(wait_final_replies(cmd.response_id));
  settle();
  const auto replies = final_replies(cmd.response_id);
  ASSERT_EQ(replies.size(), 1u);
  Document body;
  body.CopyFrom(replies[0]["body"], body.GetAllocator());
  EXPECT_FALSE(body.HasMember("replace_original"));
  EXPECT_EQ(canonical(body),
            canonical(slack::blockkit::to_json(infra::views::render_teardown_cancelled("dev"))));
  EXPECT_EQ(lambda().count(), 0u);
}

TEST_F(ServiceTest, ModalSubmissionIsCheckedAgainstThePolicyAgain) {
  // Alice (an admin) opens the modal; bob, who is not, submits it.
  start(Settings().env("INFRA_ADMIN_USERS", kUser));
  const auto cmd = slash("teardown dev --level=full");
  ASSERT_GT(slack().push(cmd.frame), 0);
  const auto view = opened_view();
  ASSERT_TRUE(view.IsObject());
  auto forged = core::json::parse(view_submission(view, "V1", "dev"));
  ASSERT_TRUE(forged);
  auto& alloc = forged->GetAllocator();
  const std::string envelope_id = str(*forged, "envelope_id");
  set_string((*forged)["payload"]["user"], "id", "U0777BOBBY", alloc);
  set_string((*forged)["payload"]["user"], "username", "bob", alloc);
  set_string((*forged)["payload"]["user"], "name", "bob", alloc);
  ASSERT_GT(slack().push(core::json::to_string(*forged)), 0);
  const auto ack = wait_ack(envelope_id);
  auto payload = core::json::parse(member_json(ack, "payload"));
  ASSERT_TRUE(payload && payload->IsObject()) << member_json(ack, "payload");
  EXPECT_EQ(str(*payload, "response_action"), "errors");
  infra::PolicySettings policy;
  policy.admin_users = {kUser};
  const auto denied = core::json::parse(
      denied_json("teardown dev --level=full", policy, SlashUser{"U0777BOBBY", "bob", kChannel}));
  ASSERT_TRUE(denied);
  const auto* errors = core::json::get_object(*payload, "errors");
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ(str(*errors, "teardown_confirm"), str(*denied, "text"));
  settle(500ms);
  EXPECT_EQ(lambda().count(), 0u) << "a submitted view is re-checked, never trusted";
  EXPECT_TRUE(final_replies(cmd.response_id).empty());
}

TEST_F(ServiceTest, MentionedFullTeardownAnswersWithAButtonThatOpensTheModal) {
  start();
  const auto asked = mention("teardown dev --level=full");
  ASSERT_GT(slack().push(asked.frame), 0);
  EXPECT_EQ(member_json(wait_ack(asked.envelope_id), "payload"), "null");
  // The prompt is for its author only (chat.postEphemeral), not the whole thread.
  ASSERT_TRUE(slack().wait_for_api("chat.postEphemeral", 1, 8s)) << bot().describe_last(10);
  const auto prompts = api_events("chat.postEphemeral");
  ASSERT_EQ(prompts.size(), 1u);
  EXPECT_EQ(slack().api_calls("chat.postMessage"), 0u);
  const auto* prompt = core::json::get_object(prompts[0], "body");
  ASSERT_NE(prompt, nullptr);
  EXPECT_EQ(str(*prompt, "channel"), kChannel);
  EXPECT_EQ(str(*prompt, "user"), kUser);
  const auto expected = core::json::parse(slack::blockkit::to_json(
      infra::views::render_teardown_prompt({"dev", infra::TeardownLevel::full, kChannel, ""})));
  ASSERT_TRUE(expected);
  ASSERT_TRUE((*prompt)["blocks"].IsArray());
  EXPECT_EQ(unsigned_json((*prompt)["blocks"]), canonical(member_json(*expected, "blocks")));
  EXPECT_EQ(slack().api_calls("views.open"), 0u) << "a mention has no trigger_id";

  // The button's value carries the confirmation; clicking it opens the modal.
  std::string value;
  if (const auto* blocks = core::json::get_array(*prompt, "blocks")) {
    for (const auto& block : blocks->GetArray()) {
      if (const auto* elements = core::json::get_array(block, "elements")) {
        for (const auto& element : elements->GetArray()) {
          if (str(element, "action_id") == infra::views::kOpenTeardownActionId) {
            value = str(element, "value");
          }
        }
      }
    }
  }
  ASSERT_FALSE(value.empty()) << "no button " << infra::views::kOpenTeardownActionId;
  const auto click = block_action(infra::views::kOpenTeardownActionId, value);
  ASSERT_GT(slack().push(click.frame), 0);
  EXPECT_EQ(member_json(wait_ack(click.envelope_id), "payload"), "null");
  std::string trigger_id;
  const auto view = opened_view(1, &trigger_id);
  ASSERT_TRUE(view.IsObject());
  EXPECT_EQ(trigger_id, click.trigger_id);
  EXPECT_EQ(unsigned_json(view),
            canonical(slack::blockkit::to_json(infra::views::render_teardown_modal(
                {"dev", infra::TeardownLevel::full, kChannel, click.response_url}))));
  EXPECT_EQ(lambda().count(), 0u);

  // Confirmed: the channel learns at once that the teardown started, then one full teardown
  // and its result, both new in-channel messages where the button was.
  std::string submitted;
  ASSERT_GT(slack().push(view_submission(view, "V1", "dev", &submitted)), 0);
  EXPECT_EQ(member_json(wait_ack(submitted), "payload"), "null");
  const auto reply = final_reply(click.response_id);
  const auto all = posts(click.response_id);
  ASSERT_GE(all.size(), 2u);
  const auto* started = core::json::get_object(all[0], "body");
  ASSERT_NE(started, nullptr);
  EXPECT_EQ(str(*started, "response_type"), "in_channel");
  EXPECT_THAT(str(*started, "text"), HasSubstr("Teardown of dev (full) started by @"));
  EXPECT_FALSE(started->HasMember("replace_original"));
  EXPECT_EQ(str(reply, "response_type"), "in_channel");
  EXPECT_THAT(core::json::to_string(reply), HasSubstr(":white_check_mark: TEARDOWN - DEV"));
  EXPECT_THAT(core::json::to_string(reply), HasSubstr("Requested by Alice Example"));
  const auto seen = calls(kOrchestrator, "teardown");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(payload_without_request_id(seen[0]),
            canonical(R"({"action": "teardown", "environment": "dev", "level": "full",
                          "request_id": "<id>", "requested_by": )" +
                      requested_by_json() + R"(, "source": "slack"})"));
}

// ---------------------------------------------------------------- whitelist

TEST_F(ServiceTest, WhitelistCommandsSendExactPayloadsToTheWhitelistFunction) {
  start(Settings().answer(answer(kWhitelist, R"({"action": "add", "cidr": "198.51.100.0/24"})",
                                 R"("json": {"ok": true, "environment": "dev",
                                            "cidr": "198.51.100.0/24",
                                            "description": "CI runners <eu-west>",
                                            "added_by": "Alice Example",
                                            "expires_at": ")" +
                                     rfc3339_from_now(12h) + R"(", "replaced": false})")));
  struct Case {
    std::string text;
    std::string request;  // without request_id / requested_by
  };
  const std::vector<Case> cases = {
      // curly single quotes and &amp;, as Slack sends them (slash_command_whitelist_add.json)
      {"whitelist add 203.0.113.7 --ttl=7d --description=\u2018Home office &amp; VPN\u2019 "
       "--env=staging",
       R"("action": "add", "cidr": "203.0.113.7/32", "ttl_seconds": 604800,
          "description": "Home office & VPN", "environment": "staging")"},
      // curly double quotes and &lt;…&gt;
      {"whitelist add 198.51.100.0/24 --ttl=12h --description=\u201cCI runners "
       "&lt;eu-west&gt;\u201d",
       R"("action": "add", "cidr": "198.51.100.0/24", "ttl_seconds": 43200,
          "description": "CI runners <eu-west>", "environment": "dev")"},
      {"whitelist remove 203.0.113.7", R"("action": "remove", "cidr": "203.0.113.7/32",
                                          "environment": "dev")"},
      {"whitelist list dev", R"("action": "list", "environment": "dev")"},
      {"whitelist refresh dev", R"("action": "refresh", "environment": "dev")"},
  };
  std::vector<Document> replies;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    SCOPED_TRACE(c.text);
    const auto cmd = slash(c.text);
    ASSERT_GT(slack().push(cmd.frame), 0);
    const auto ack = wait_ack(cmd.envelope_id);
    EXPECT_EQ(canonical(member_json(ack, "payload")), canonical(working_json(c.text)));
    replies.push_back(final_reply(cmd.response_id));
    const auto seen = calls(kWhitelist);
    ASSERT_EQ(seen.size(), i + 1) << lambda().describe_last(3);
    EXPECT_EQ(payload_without_request_id(seen[i]),
              canonical("{" + c.request + R"(, "request_id": "<id>", "requested_by": )" +
                        requested_by_json() + "}"));
  }
  EXPECT_EQ(calls(kOrchestrator).size(), 0u);

  // add: in the channel, with the entry and who asked.
  const auto& added = replies[0];
  EXPECT_EQ(str(added, "response_type"), "in_channel");
  EXPECT_FALSE(added.HasMember("replace_original")) << "a new message, seen by everyone";
  EXPECT_EQ(str(added, "text"), "Whitelisted 203.0.113.7/32 in staging.");
  const auto added_json = core::json::to_string(added);
  EXPECT_THAT(added_json, HasSubstr(":white_check_mark: WHITELIST ADD - STAGING"));
  EXPECT_THAT(added_json, HasSubstr("Home office &amp; VPN"));
  EXPECT_THAT(added_json, HasSubstr("Requested by Alice Example"));
  // remove and refresh: exact.
  EXPECT_EQ(canonical(replies[2]), canonical(in_channel_json(infra::views::render_whitelist_removed(
                                       infra::WhitelistRemoved{"dev", "203.0.113.7/32"}))));
  EXPECT_EQ(
      canonical(replies[4]),
      canonical(in_channel_json(infra::views::render_whitelist_refreshed(infra::WhitelistRefreshed{
          "dev", {"sg-0123456789abcdef0", "sg-0fedcba9876543210"}, 1, 0}))));
  // list: ephemeral, each entry with its time left.
  const auto& listed = replies[3];
  EXPECT_EQ(str(listed, "response_type"), "ephemeral");
  EXPECT_FALSE(listed.HasMember("replace_original"));
  const auto listed_json = core::json::to_string(listed);
  EXPECT_THAT(listed_json, HasSubstr("IP Whitelist: DEV"));
  EXPECT_THAT(listed_json, HasSubstr("`203.0.113.7/32` — Home office (added by Alice Example, 6d"));
  EXPECT_THAT(listed_json, HasSubstr("left)"));
  EXPECT_THAT(listed_json, testing::Not(HasSubstr("Requested by")));
}

// ------------------------------------------------------------------ mentions

TEST_F(ServiceTest, MentionRepliesInTheThreadAndARedeliveryRunsNoSecondJob) {
  start();
  // A top-level mention: the reply starts a thread under it.
  const auto top = mention("status dev");
  ASSERT_GT(slack().push(top.frame), 0);
  const auto ack = wait_ack(top.envelope_id);
  EXPECT_EQ(member_json(ack, "payload"), "null") << "events_api acks carry no payload";
  ASSERT_TRUE(slack().wait_for_api("chat.update", 1, 8s)) << bot().describe_last(10);

  // Slack redelivers it (same event_id, retry_attempt 1, new envelope id).
  const auto again = redelivery(top);
  ASSERT_GT(slack().push(again.frame), 0);
  ASSERT_TRUE(slack().wait_for_ack(again.envelope_id));

  // A mention inside a thread: the reply goes to that thread.
  const auto threaded = mention("status dev", "1732530000.000100");
  ASSERT_GT(slack().push(threaded.frame), 0);
  ASSERT_TRUE(slack().wait_for_ack(threaded.envelope_id));
  ASSERT_TRUE(slack().wait_for_api("chat.update", 2, 8s)) << bot().describe_last(10);
  settle(500ms);

  // Each mention: "Working…" in its thread at once (chat.postMessage), then that message
  // updated in place with the result (chat.update of the ts Slack returned).
  std::vector<Document> posts, updates;
  for (auto& event : slack().events("api")) {
    if (str(event, "method") == "chat.postMessage") posts.push_back(std::move(event));
    if (str(event, "method") == "chat.update") updates.push_back(std::move(event));
  }
  ASSERT_EQ(posts.size(), 2u) << "one message per mention, none for the redelivery; "
                              << slack().describe_last(10);
  ASSERT_EQ(updates.size(), 2u) << slack().describe_last(10);
  const auto working = core::json::parse(
      slack::blockkit::to_json(infra::views::render_working(command("status dev"))));
  ASSERT_TRUE(working);
  const auto status_json = slack::blockkit::to_json(infra::views::render_status(dev_status()));
  const auto expected_status = core::json::parse(status_json);
  ASSERT_TRUE(expected_status);
  for (std::size_t i = 0; i < posts.size(); ++i) {
    SCOPED_TRACE("mention #" + std::to_string(i + 1));
    const auto* body = core::json::get_object(posts[i], "body");
    ASSERT_NE(body, nullptr);
    EXPECT_EQ(FakeSlack::num(posts[i], "status"), 200);
    EXPECT_EQ(str(posts[i], "error"), "");
    EXPECT_EQ(str(*body, "channel"), kChannel);
    EXPECT_EQ(str(*body, "thread_ts"), i == 0 ? top.ts : std::string("1732530000.000100"));
    EXPECT_EQ(str(*body, "text"), str(*working, "text"));
    const auto* update = core::json::get_object(updates[i], "body");
    ASSERT_NE(update, nullptr);
    EXPECT_EQ(str(updates[i], "error"), "") << "chat.update names the posted message";
    EXPECT_EQ(str(*update, "channel"), kChannel);
    EXPECT_EQ(str(*update, "ts"), str(posts[i], "answer_ts"));
    EXPECT_EQ(str(*update, "text"), str(*expected_status, "text"));
    EXPECT_EQ(member_json(*update, "blocks") == "null" ? "missing blocks"
                                                       : canonical(member_json(*update, "blocks")),
              canonical(member_json(*expected_status, "blocks")));
  }
  const auto seen = calls(kOrchestrator, "status");
  ASSERT_EQ(seen.size(), 2u) << lambda().describe_last(5);
  EXPECT_EQ(payload_without_request_id(seen[0]),
            canonical(R"({"action": "status", "environment": "dev", "request_id": "<id>",
                          "requested_by": )" +
                      requested_by_json() + R"(, "source": "slack"})"));
  EXPECT_EQ(slack().count("response_url"), 0u);
}

// ------------------------------------------------------- help and refusals

TEST_F(ServiceTest, HelpAndParseErrorsAreTheAckItself) {
  start();
  const auto help = slash("help");
  ASSERT_GT(slack().push(help.frame), 0);
  const auto help_ack = wait_ack(help.envelope_id);
  EXPECT_EQ(canonical(member_json(help_ack, "payload")),
            canonical(slack::blockkit::to_json(infra::views::render_help(
                infra::views::HelpInfo{{"dev", "staging", "prod"}, {"prod"}, "dev"}))));

  const auto bad = slash("stop qa");
  ASSERT_GT(slack().push(bad.frame), 0);
  const auto bad_ack = wait_ack(bad.envelope_id);
  const auto error = infra::parse_command("stop qa", infra::ParserSettings{});
  ASSERT_FALSE(error);
  EXPECT_EQ(canonical(member_json(bad_ack, "payload")),
            canonical(slack::blockkit::to_json(infra::views::render_parse_error(error.error()))));
  settle(500ms);
  EXPECT_EQ(lambda().count(), 0u);
  EXPECT_EQ(slack().count("response_url"), 0u);
}

TEST_F(ServiceTest, AllowListsRefuseOthersWithoutLambdaCall) {
  start(Settings().env("INFRA_ALLOWED_USERS", kUser).env("INFRA_ALLOWED_CHANNELS", kChannel));
  infra::PolicySettings policy;
  policy.allowed_users = {kUser};
  policy.allowed_channels = {kChannel};

  const SlashUser bob{"U0777BOBBY", "bob", kChannel};
  const auto by_bob = slash("stop dev", bob);
  ASSERT_GT(slack().push(by_bob.frame), 0);
  EXPECT_EQ(canonical(member_json(wait_ack(by_bob.envelope_id), "payload")),
            canonical(denied_json("stop dev", policy, bob)));

  const SlashUser elsewhere{kUser, kUserName, "C0999OTHER"};
  const auto in_other_channel = slash("status dev", elsewhere);
  ASSERT_GT(slack().push(in_other_channel.frame), 0);
  EXPECT_EQ(canonical(member_json(wait_ack(in_other_channel.envelope_id), "payload")),
            canonical(denied_json("status dev", policy, elsewhere)));
  settle(300ms);
  EXPECT_EQ(lambda().count(), 0u);

  // Alice in #infra-ops is on both lists.
  const auto allowed = slash("status dev");
  ASSERT_GT(slack().push(allowed.frame), 0);
  EXPECT_EQ(canonical(member_json(wait_ack(allowed.envelope_id), "payload")),
            canonical(working_json("status dev")));
  final_reply(allowed.response_id);
  EXPECT_EQ(lambda().count(), 1u);
  EXPECT_EQ(slack().count("response_url"), 1u);
}

TEST_F(ServiceTest, CooldownRefusesTheSameMutatingCommandButNotStatus) {
  start(Settings().env("INFRA_COOLDOWN_SECONDS", "60"));
  const auto first = slash("stop dev");
  ASSERT_GT(slack().push(first.frame), 0);
  final_reply(first.response_id);

  const auto second = slash("stop dev");
  ASSERT_GT(slack().push(second.frame), 0);
  const auto ack = wait_ack(second.envelope_id);
  const auto payload = core::json::parse(member_json(ack, "payload"));
  ASSERT_TRUE(payload && payload->IsObject()) << member_json(ack, "payload");
  EXPECT_EQ(str(*payload, "response_type"), "ephemeral");
  EXPECT_TRUE(std::regex_match(
      str(*payload, "text"),
      std::regex(":no_entry: You ran `stop` \\d+ s ago\\. Wait (59|60) s before running it "
                 "again\\.")))
      << str(*payload, "text");

  for (int i = 0; i < 2; ++i) {
    const auto status = slash("status dev");
    ASSERT_GT(slack().push(status.frame), 0);
    EXPECT_EQ(canonical(member_json(wait_ack(status.envelope_id), "payload")),
              canonical(working_json("status dev")));
    final_reply(status.response_id);
  }
  settle();
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u);
  EXPECT_EQ(calls(kOrchestrator, "status").size(), 2u);
  EXPECT_TRUE(posts(second.response_id).empty());
}

}  // namespace
