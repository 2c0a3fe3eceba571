// slack::parse_frame against every frame in proto-fixtures/slack (one test per
// file, so `ctest -R slash_command_teardown_full` runs one), malformed and
// unexpected frames, and a seeded robustness loop over mutated fixtures.

#include "slack/envelope.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "core/overloaded.hpp"
#include "infra/views.hpp"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const fs::path kFixtures = fs::path(FIXTURES_DIR) / "slack";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Frame fixtures: the top-level *.json files (web_api/ holds Web API responses).
std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// ---- a readable rendering of a parsed frame, so a mismatch shows the field ----

std::string describe(const slack::SlashCommand& c) {
  return fmt::format(
      "SlashCommand{{command={:?} text={:?} user_id={:?} user_name={:?} team_id={:?} "
      "channel_id={:?} channel_name={:?} response_url={:?} trigger_id={:?}}}",
      c.command, c.text, c.user_id, c.user_name, c.team_id, c.channel_id, c.channel_name,
      c.response_url, c.trigger_id);
}

std::string describe(const slack::Interaction& i) {
  std::string values;
  for (const auto& v : i.values) {
    values += fmt::format("({:?},{:?},{:?})", v.block_id, v.action_id, v.value);
  }
  std::string actions;
  for (const auto& a : i.actions) {
    actions += fmt::format("({:?},{:?})", a.action_id, a.value);
  }
  return fmt::format(
      "Interaction{{type={:?} user_id={:?} user_name={:?} team_id={:?} channel_id={:?} "
      "trigger_id={:?} response_url={:?} view_id={:?} view_callback_id={:?} "
      "view_private_metadata={:?} values=[{}] actions=[{}]}}",
      i.type, i.user_id, i.user_name, i.team_id, i.channel_id, i.trigger_id, i.response_url,
      i.view_id, i.view_callback_id, i.view_private_metadata, values, actions);
}

std::string describe(const slack::Event& e) {
  return fmt::format(
      "Event{{event_id={:?} type={:?} user={:?} text={:?} channel={:?} ts={:?} thread_ts={:?} "
      "team_id={:?}}}",
      e.event_id, e.type, e.user, e.text, e.channel, e.ts, e.thread_ts, e.team_id);
}

std::string describe(const slack::Frame& frame) {
  return std::visit(
      core::Overloaded{
          [](const slack::Hello& h) {
            return fmt::format(
                "Hello{{num_connections={} approximate_connection_time={} "
                "app_id={:?}}}",
                h.num_connections, h.approximate_connection_time, h.app_id);
          },
          [](const slack::Disconnect& d) { return fmt::format("Disconnect{{{:?}}}", d.reason); },
          [](const slack::Envelope& e) {
            std::string payload = std::visit(
                core::Overloaded{[](const std::monostate&) { return std::string("none"); },
                                 [](const auto& typed) { return describe(typed); }},
                e.payload);
            return fmt::format(
                "Envelope{{envelope_id={:?} type={:?} accepts_response_payload={} "
                "retry_attempt={} retry_reason={:?} natural_key={:?} payload={}}}",
                e.envelope_id, e.type, e.accepts_response_payload, e.retry_attempt, e.retry_reason,
                e.natural_key(), payload);
          },
      },
      frame);
}

// ---- expected values, one per fixture file ----

slack::Envelope envelope(std::string id, std::string type, bool accepts) {
  slack::Envelope e;
  e.envelope_id = std::move(id);
  e.type = std::move(type);
  e.accepts_response_payload = accepts;
  return e;
}

slack::SlashCommand infra_command(std::string text, std::string n) {
  slack::SlashCommand c;
  c.command = "/infra";
  c.text = std::move(text);
  c.user_id = "U0456EFGH";
  c.user_name = "alice";
  c.team_id = "T0123ABCD";
  c.channel_id = "C0123ABCD";
  c.channel_name = "infra-ops";
  c.response_url = "https://hooks.slack.com/commands/T0123ABCD/" + n + "4567890/abcdefABCDEF" + n;
  c.trigger_id = n + "1234567.0123456789.0a1b2c3d4e5f6a7b8c9d0e1f2a3b" + n;
  return c;
}

slack::Envelope infra_envelope(std::string id_suffix, std::string text, std::string n) {
  auto e = envelope("5a0e4c1d-2f7b-4d3e-9b61-0c8f1a2b3c" + id_suffix, "slash_commands", true);
  e.payload = infra_command(std::move(text), std::move(n));
  return e;
}

const std::string kTeardownMetadata =
    R"({"channel":"C0123ABCD","env":"dev","level":"full","response_url":"https://hooks.slack.com/commands/T0123ABCD/10074567890/abcdefABCDEF1007"})";

slack::Interaction teardown_interaction(std::string type, std::string trigger_id) {
  slack::Interaction i;
  i.type = std::move(type);
  i.user_id = "U0456EFGH";
  i.user_name = "alice";
  i.team_id = "T0123ABCD";
  i.trigger_id = std::move(trigger_id);
  i.view_id = "V0TEARDOWN1";
  i.view_callback_id = "infra_teardown_confirm";
  i.view_private_metadata = kTeardownMetadata;
  return i;
}

slack::Envelope teardown_submission(std::string id_suffix, std::string trigger_id,
                                    std::string typed) {
  auto e = envelope("9c1f2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e" + id_suffix, "interactive", true);
  auto i = teardown_interaction("view_submission", std::move(trigger_id));
  i.values.push_back({"teardown_confirm", "confirm_text", std::move(typed)});
  e.payload = std::move(i);
  return e;
}

slack::Event sdk_mention() {
  slack::Event ev;
  ev.event_id = "Ev111";
  ev.type = "app_mention";
  ev.user = "U222";
  ev.text = "<@U111>";
  ev.channel = "C111";
  ev.ts = "1610241741.000200";
  ev.team_id = "T111";
  return ev;
}

std::map<std::string, slack::Frame> expectations() {
  std::map<std::string, slack::Frame> x;
  x["hello"] = slack::Hello{1, 18060, "A08NKKBFGBD"};
  x["hello_sdk_mock"] = slack::Hello{2, 18060, "A111"};
  x["disconnect_refresh_requested"] = slack::Disconnect{"refresh_requested"};
  x["disconnect_warning"] = slack::Disconnect{"warning"};
  x["disconnect_too_many_websockets"] = slack::Disconnect{"too_many_websockets"};
  x["disconnect_link_disabled"] = slack::Disconnect{"link_disabled"};

  {
    auto e = envelope("1d3c79ab-0ffb-41f3-a080-d19e85f53649", "slash_commands", true);
    slack::SlashCommand c;
    c.command = "/hello-socket-mode";
    c.user_id = "U111";
    c.user_name = "testxyz";
    c.team_id = "T111";
    c.channel_id = "C111";
    c.channel_name = "random";
    c.response_url = "https://hooks.slack.com/commands/T111/111/xxx";
    c.trigger_id = "111.222.xxx";
    e.payload = c;
    x["slash_command_sdk_mock"] = e;
  }
  x["slash_command_help"] = infra_envelope("01", "help", "1001");
  x["slash_command_status"] = infra_envelope("02", "status", "1002");
  x["slash_command_status_env"] = infra_envelope("03", "status staging", "1003");
  x["slash_command_stop"] = infra_envelope("04", "stop dev", "1004");
  x["slash_command_start"] = infra_envelope("05", "start dev", "1005");
  x["slash_command_teardown"] = infra_envelope("06", "teardown dev", "1006");
  x["slash_command_teardown_full"] = infra_envelope("07", "teardown dev --level=full", "1007");
  x["slash_command_spinup"] = infra_envelope("08", "spinup staging", "1008");
  // Curly quotes arrive as UTF-8 (here raw in the file), & as &amp;: still escaped.
  x["slash_command_whitelist_add"] = infra_envelope(
      "09",
      "whitelist add 203.0.113.7 --ttl=7d --description=\xE2\x80\x98Home office &amp; "
      "VPN\xE2\x80\x99 --env=staging",
      "1009");
  x["slash_command_whitelist_remove"] =
      infra_envelope("0a", "whitelist remove 203.0.113.7/32 --env=staging", "1010");
  x["slash_command_whitelist_list"] = infra_envelope("0b", "whitelist list", "1011");
  x["slash_command_whitelist_refresh"] = infra_envelope("0c", "whitelist refresh dev", "1012");
  // The same with “…” written as \u201c/\u201d escapes in the JSON, and &lt; &gt;.
  x["slash_command_whitelist_add_double_quotes"] =
      infra_envelope("0d",
                     "whitelist add 198.51.100.0/24 --ttl=12h --description=\xE2\x80\x9C"
                     "CI runners &lt;eu-west&gt;\xE2\x80\x9D",
                     "1013");

  x["view_submission_teardown"] =
      teardown_submission("01", "20011234567.0123456789.5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c", "dev");
  x["view_submission_teardown_mismatch"] =
      teardown_submission("02", "20021234567.0123456789.6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d", "prod");
  // An input left empty comes as "value": null and is kept with an empty value.
  x["view_submission_teardown_empty"] =
      teardown_submission("03", "20031234567.0123456789.7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e", "");
  {
    auto e = envelope("0f1e2d3c-4b5a-4968-8776-655443322110", "interactive", true);
    slack::Interaction i;
    i.type = "view_submission";
    i.user_id = "U123";
    i.user_name = "test-test";
    i.team_id = "T123";
    i.trigger_id = "123.123.07ecad50d3e077e08742bafff5f7ab0c";
    i.view_id = "V123";
    i.view_callback_id = "request-modal";
    i.view_private_metadata =
        "https://hooks.slack.com/commands/T123/977578904577/NfI6RdDqrYDC8Pjzo01xgLQ3";
    i.values.push_back({"request-block", "request-action", "test test test"});
    e.payload = i;
    x["view_submission_sdk_sample"] = e;
  }
  {
    // view_closed has no trigger_id: no natural key.
    auto e = envelope("9c1f2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e04", "interactive", false);
    e.payload = teardown_interaction("view_closed", "");
    x["view_closed_teardown"] = e;
  }
  {
    auto e = envelope("xxx-11-222-yyy-zzz", "interactive", false);
    slack::Interaction i;
    i.type = "block_actions";
    i.user_id = "U111";
    i.user_name = "test-test-test";
    i.team_id = "T111";
    i.channel_id = "C111";
    i.trigger_id = "111.222.xxx";
    i.response_url = "https://hooks.slack.com/actions/T111/111/xxx";
    i.actions.push_back({"a", "underlying"});
    e.payload = i;
    x["block_actions"] = e;
  }
  {
    auto e = envelope("57d6a792-4d35-4d0b-b6aa-3361493e1caf", "interactive", false);
    slack::Interaction i;
    i.type = "shortcut";
    i.user_id = "U111";
    i.user_name = "testxyz";
    i.team_id = "T111";
    i.trigger_id = "111.222.xxx";
    e.payload = i;
    x["shortcut"] = e;
  }
  {
    auto e = envelope("cda4159a-72a5-4744-aba3-4d66eb52682b", "events_api", false);
    e.payload = sdk_mention();
    x["events_api_app_mention"] = e;
  }
  {
    auto e = envelope("e3b0c442-98fc-4c14-9afb-f4c8996fb924", "events_api", false);
    e.retry_attempt = 1;
    e.retry_reason = "timeout";
    e.payload = sdk_mention();
    x["events_api_retry"] = e;
  }
  {
    auto e = envelope("7d1c3a52-0e9b-4f6a-b8d2-3c4e5f607182", "events_api", false);
    slack::Event ev;
    ev.event_id = "Ev0THREAD01";
    ev.type = "app_mention";
    ev.user = "U0456EFGH";
    ev.text = "<@U0BOT0001> status please &amp; thanks";
    ev.channel = "C0123ABCD";
    ev.ts = "1732530123.000300";
    ev.thread_ts = "1732530000.000100";
    ev.team_id = "T0123ABCD";
    e.payload = ev;
    x["events_api_app_mention_thread"] = e;
  }
  return x;
}

// ---- every fixture parses to exactly its expected value ----

class SlackFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(SlackFixture, ParsesToExpectedValues) {
  const std::string name = GetParam();
  const std::string text = read_file(kFixtures / (name + ".json"));
  ASSERT_FALSE(text.empty()) << name;

  const auto all = expectations();
  auto expected = all.find(name);
  ASSERT_NE(expected, all.end()) << "proto-fixtures/slack/" << name
                                 << ".json has no expected value in envelope_test.cpp";

  auto parsed = slack::parse_frame(text);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(describe(*parsed), describe(expected->second));

  // payload_json is the fixture's payload object, re-serialised.
  if (const auto* envelope = std::get_if<slack::Envelope>(&*parsed)) {
    auto document = core::json::parse(text);
    ASSERT_TRUE(document);
    const auto* payload = core::json::get_object(*document, "payload");
    ASSERT_NE(payload, nullptr);
    auto round_trip = core::json::canonicalize(envelope->payload_json);
    ASSERT_TRUE(round_trip) << envelope->payload_json;
    EXPECT_EQ(*round_trip, core::json::canonical(*payload));
  }
}

INSTANTIATE_TEST_SUITE_P(ProtoFixtures, SlackFixture, ::testing::ValuesIn(fixture_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(SlackFixtures, EveryExpectationHasAFile) {
  const auto names = fixture_names();
  for (const auto& [name, frame] : expectations()) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), name) != names.end())
        << "expected value for missing fixture " << name;
  }
}

TEST(SlackFixtures, CoverEachDisconnectReasonAndInfraForm) {
  const auto names = fixture_names();
  for (const char* required : {"hello",
                               "disconnect_refresh_requested",
                               "disconnect_warning",
                               "disconnect_too_many_websockets",
                               "disconnect_link_disabled",
                               "slash_command_help",
                               "slash_command_status",
                               "slash_command_stop",
                               "slash_command_start",
                               "slash_command_teardown",
                               "slash_command_teardown_full",
                               "slash_command_spinup",
                               "slash_command_whitelist_add",
                               "slash_command_whitelist_remove",
                               "slash_command_whitelist_list",
                               "slash_command_whitelist_refresh",
                               "view_submission_teardown",
                               "view_closed_teardown",
                               "block_actions",
                               "events_api_app_mention",
                               "events_api_retry"}) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), required) != names.end()) << required;
  }
}

TEST(SlackFixtures, TeardownModalFixturesUseTheAppsIds) {
  auto parsed = slack::parse_frame(read_file(kFixtures / "view_submission_teardown.json"));
  ASSERT_TRUE(parsed);
  const auto& interaction =
      std::get<slack::Interaction>(std::get<slack::Envelope>(*parsed).payload);
  EXPECT_EQ(interaction.view_callback_id, infra::views::kTeardownCallbackId);
  ASSERT_EQ(interaction.values.size(), 1u);
  EXPECT_EQ(interaction.values[0].block_id, infra::views::kTeardownBlockId);
  EXPECT_EQ(interaction.values[0].action_id, infra::views::kTeardownActionId);
  auto metadata = infra::views::parse_teardown_metadata(interaction.view_private_metadata);
  ASSERT_TRUE(metadata) << metadata.error().detail;
  EXPECT_EQ(metadata->environment, "dev");
  EXPECT_EQ(metadata->level, infra::TeardownLevel::full);
  EXPECT_EQ(metadata->channel_id, "C0123ABCD");
}

TEST(SlackFixtures, RetryKeepsTheNaturalKeyUnderANewEnvelopeId) {
  auto first = slack::parse_frame(read_file(kFixtures / "events_api_app_mention.json"));
  auto retry = slack::parse_frame(read_file(kFixtures / "events_api_retry.json"));
  ASSERT_TRUE(first && retry);
  const auto& a = std::get<slack::Envelope>(*first);
  const auto& b = std::get<slack::Envelope>(*retry);
  EXPECT_NE(a.envelope_id, b.envelope_id);
  EXPECT_EQ(a.natural_key(), "Ev111");
  EXPECT_EQ(a.natural_key(), b.natural_key());
}

// ---- errors ----

void expect_frame_error(std::string_view text, std::string_view detail_part) {
  auto parsed = slack::parse_frame(text);
  ASSERT_FALSE(parsed) << "parsed: " << describe(*parsed);
  EXPECT_EQ(parsed.error().code, core::ErrorCode::invalid_input);
  EXPECT_EQ(parsed.error().user_message, "malformed Socket Mode frame");
  EXPECT_THAT(parsed.error().detail, StartsWith("socket mode frame: "));
  EXPECT_THAT(parsed.error().detail, HasSubstr(std::string(detail_part)));
}

TEST(ParseFrame, EmptyTextIsAnError) { expect_frame_error("", "empty text frame"); }

TEST(ParseFrame, NonJsonIsAnError) {
  expect_frame_error(" ", "JSON parse error");
  expect_frame_error("Ping from applink-2", "JSON parse error");
  expect_frame_error("{", "JSON parse error");
  expect_frame_error(R"({"type":"hello")", "JSON parse error");
  expect_frame_error(R"({"type":"hello"} trailing)", "JSON parse error");
  expect_frame_error(std::string_view("{\"type\":\"hello\"}\0", 17), "contains a NUL byte");
  expect_frame_error(std::string_view("{\"type\":\"hello\"}\0{]", 19), "contains a NUL byte");
}

TEST(ParseFrame, InvalidUtf8IsAnError) {
  expect_frame_error("{\"type\":\"disconnect\",\"reason\":\"\xC3\x28\"}", "JSON parse error");
}

TEST(ParseFrame, NonObjectsAreErrors) {
  for (const char* text : {"[]", "42", "\"hello\"", "null", "true", "[{\"type\":\"hello\"}]"}) {
    expect_frame_error(text, "not a JSON object");
  }
}

TEST(ParseFrame, UnknownTypeWithoutEnvelopeIdIsAnError) {
  expect_frame_error("{}", "'untyped' frame without an envelope_id");
  expect_frame_error(R"({"type":"goodbye"})", "'goodbye' frame without an envelope_id");
  expect_frame_error(R"({"type":42,"reason":"warning"})", "without an envelope_id");
}

TEST(ParseFrame, EnvelopeWithoutUsableIdIsAnError) {
  expect_frame_error(R"({"type":"events_api","payload":{"event_id":"Ev1"}})",
                     "'events_api' frame without an envelope_id");
  expect_frame_error(R"({"type":"slash_commands","envelope_id":"","payload":{}})",
                     "without an envelope_id");
  expect_frame_error(R"({"type":"interactive","envelope_id":17,"payload":{}})",
                     "without an envelope_id");
}

TEST(ParseFrame, DeepNestingIsRefusedBeforeParsing) {
  expect_frame_error(std::string(1'000'000, '['), "nested deeper than");
  expect_frame_error("{\"a\":" + std::string(200'000, '{'), "nested deeper than");
  // Brackets inside strings do not count.
  const std::string quoted =
      R"({"type":"disconnect","reason":")" + std::string(10'000, '[') + R"(\"]"})";
  auto parsed = slack::parse_frame(quoted);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(std::get<slack::Disconnect>(*parsed).reason, std::string(10'000, '[') + "\"]");
}

// ---- leniency ----

TEST(ParseFrame, HelloWithMissingOrMistypedFieldsReadsZeroes) {
  auto parsed = slack::parse_frame(
      R"({"type":"hello","num_connections":"2","debug_info":[],"connection_info":{"app_id":7}})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(describe(*parsed), describe(slack::Hello{}));
  parsed = slack::parse_frame(R"({"type":"hello","num_connections":99999999999})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(std::get<slack::Hello>(*parsed).num_connections, 0);
}

TEST(ParseFrame, DisconnectWithoutReasonHasAnEmptyReason) {
  auto parsed = slack::parse_frame(R"({"type":"disconnect"})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(std::get<slack::Disconnect>(*parsed).reason, "");
}

TEST(ParseFrame, UnknownEnvelopeTypeKeepsPayloadJson) {
  auto parsed = slack::parse_frame(
      R"({"envelope_id":"e-9","type":"workflow_step","accepts_response_payload":true,"payload":{"b":[1,2],"a":"x"}})");
  ASSERT_TRUE(parsed) << parsed.error().detail;
  const auto& e = std::get<slack::Envelope>(*parsed);
  EXPECT_EQ(e.envelope_id, "e-9");
  EXPECT_EQ(e.type, "workflow_step");
  EXPECT_TRUE(e.accepts_response_payload);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(e.payload));
  EXPECT_EQ(e.payload_json, R"({"b":[1,2],"a":"x"})");
  EXPECT_EQ(e.natural_key(), "");
}

TEST(ParseFrame, PayloadJsonIsThePayloadsOwnBytes) {
  // Whitespace, escapes and number spellings stay as the frame had them; only the first
  // top-level "payload" counts (the member a look-up finds), never a nested one.
  auto parsed = slack::parse_frame(
      "{\"payload\" : { \"a\" : \"\\u00e9\\/\" ,\n \"n\":1.50e1, \"payload\":{}} , "
      "\"envelope_id\":\"e-7\",\"type\":\"slash_commands\",\"payload\":{\"other\":1}}");
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(std::get<slack::Envelope>(*parsed).payload_json,
            "{ \"a\" : \"\\u00e9\\/\" ,\n \"n\":1.50e1, \"payload\":{}}");
}

TEST(ParseFrame, PayloadJsonWithARepairedSurrogateIsReserialised) {
  // A lone surrogate is read as U+FFFD; the frame's bytes do not say that, so payload_json
  // is written afresh, as valid UTF-8.
  auto parsed = slack::parse_frame(
      R"({"envelope_id":"e-8","type":"slash_commands","payload":{"text":"a\udc00b"}})");
  ASSERT_TRUE(parsed) << parsed.error().detail;
  const auto& e = std::get<slack::Envelope>(*parsed);
  EXPECT_EQ(std::get<slack::SlashCommand>(e.payload).text,
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(e.payload_json,
            "{\"text\":\"a\xEF\xBF\xBD"
            "b\"}");
}

TEST(ParseFrame, ABigFrameThenASmallOneOnTheSameThread) {
  // The per-thread arena spills past its buffers for the big frame and is reset for the
  // next: nothing of the first frame shows in the second.
  std::string big =
      R"({"envelope_id":"e-big","type":"events_api","payload":{"event_id":"Ev1","blocks":[)";
  for (int i = 0; i < 20'000; ++i)
    big += fmt::format(R"({{"i":{},"s":"{}"}},)", i, std::string(i % 50, 'x'));
  big += R"(0],"event":{"type":"app_mention","text":"big"}}})";
  auto first = slack::parse_frame(big);
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(std::get<slack::Event>(std::get<slack::Envelope>(*first).payload).text, "big");
  auto second = slack::parse_frame(
      R"({"envelope_id":"e-small","type":"events_api","payload":{"event_id":"Ev2","event":{"text":"small"}}})");
  ASSERT_TRUE(second) << second.error().detail;
  const auto& e = std::get<slack::Envelope>(*second);
  EXPECT_EQ(e.envelope_id, "e-small");
  EXPECT_EQ(std::get<slack::Event>(e.payload).text, "small");
  EXPECT_EQ(e.payload_json, R"({"event_id":"Ev2","event":{"text":"small"}})");
}

TEST(ParseFrame, ThreadsParseAtTheSameTime) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < 2'000; ++i) {
        const std::string id = fmt::format("e-{}-{}", t, i);
        auto parsed = slack::parse_frame(fmt::format(
            R"({{"envelope_id":"{}","type":"slash_commands","payload":{{"text":"{}","trigger_id":"{}"}}}})",
            id, id, id));
        if (!parsed) {
          ++wrong;
          continue;
        }
        const auto& e = std::get<slack::Envelope>(*parsed);
        const auto& command = std::get<slack::SlashCommand>(e.payload);
        if (e.envelope_id != id || command.text != id || command.trigger_id != id) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ParseFrame, EnvelopeWithoutPayloadObjectIsStillAckable) {
  for (const char* text : {R"({"envelope_id":"e-1","type":"slash_commands"})",
                           R"({"envelope_id":"e-1","type":"slash_commands","payload":"text=hi"})",
                           R"({"envelope_id":"e-1","type":"events_api","payload":null})",
                           R"({"envelope_id":"e-1","payload":{"x":1}})"}) {
    auto parsed = slack::parse_frame(text);
    ASSERT_TRUE(parsed) << text;
    const auto& e = std::get<slack::Envelope>(*parsed);
    EXPECT_EQ(e.envelope_id, "e-1") << text;
    EXPECT_TRUE(std::holds_alternative<std::monostate>(e.payload)) << text;
  }
}

TEST(ParseFrame, MistypedEnvelopeFieldsFallBackToDefaults) {
  auto parsed = slack::parse_frame(
      R"({"envelope_id":"e-2","type":"events_api","accepts_response_payload":"yes","retry_attempt":1.5,"retry_reason":3,"payload":{"event_id":5,"event":"nope"}})");
  ASSERT_TRUE(parsed) << parsed.error().detail;
  const auto& e = std::get<slack::Envelope>(*parsed);
  EXPECT_FALSE(e.accepts_response_payload);
  EXPECT_EQ(e.retry_attempt, 0);
  EXPECT_EQ(e.retry_reason, "");
  EXPECT_EQ(describe(std::get<slack::Event>(e.payload)), describe(slack::Event{}));
}

TEST(ParseFrame, InteractionFallbacks) {
  // team from user.team_id, channel from container, response_url from
  // response_urls[0], select menus' value from selected_option, name when no username.
  auto parsed = slack::parse_frame(R"({
    "envelope_id":"e-3","type":"interactive","payload":{
      "type":"block_actions","trigger_id":"t-3",
      "user":{"id":"U1","name":"bob","team_id":"T9"},
      "container":{"type":"message","channel_id":"C7"},
      "response_urls":[{"block_id":"b","action_id":"a","channel_id":"C7","response_url":"https://hooks.slack.com/app/T9/1/x"}],
      "response_url":"https://hooks.slack.com/actions/ignored",
      "actions":[{"action_id":"pick","selected_option":{"value":"staging"}},"junk",{"value":"v"}]}})");
  ASSERT_TRUE(parsed) << parsed.error().detail;
  const auto& i = std::get<slack::Interaction>(std::get<slack::Envelope>(*parsed).payload);
  EXPECT_EQ(i.user_name, "bob");
  EXPECT_EQ(i.team_id, "T9");
  EXPECT_EQ(i.channel_id, "C7");
  EXPECT_EQ(i.response_url, "https://hooks.slack.com/app/T9/1/x");
  ASSERT_EQ(i.actions.size(), 2u);
  EXPECT_EQ(i.actions[0].action_id, "pick");
  EXPECT_EQ(i.actions[0].value, "staging");
  EXPECT_EQ(i.actions[1].action_id, "");
  EXPECT_EQ(i.actions[1].value, "v");
}

TEST(ParseFrame, ViewStateKeepsPlainTextInputsInOrderAndSkipsOthers) {
  auto parsed = slack::parse_frame(R"({
    "envelope_id":"e-4","type":"interactive","payload":{"type":"view_submission","trigger_id":"t-4",
      "view":{"id":"V1","callback_id":"cb","private_metadata":"m","state":{"values":{
        "b2":{"a2":{"type":"plain_text_input","value":"second block"}},
        "b1":{"sel":{"type":"static_select","selected_option":{"value":"x"}},
              "a1":{"type":"plain_text_input","value":"first"},
              "bad":"not an object"},
        "b3":[],
        "b4":{"a4":{"type":"plain_text_input"}}}}}}})");
  ASSERT_TRUE(parsed) << parsed.error().detail;
  const auto& i = std::get<slack::Interaction>(std::get<slack::Envelope>(*parsed).payload);
  ASSERT_EQ(i.values.size(), 3u);
  EXPECT_EQ(i.values[0].block_id, "b2");
  EXPECT_EQ(i.values[0].value, "second block");
  EXPECT_EQ(i.values[1].block_id, "b1");
  EXPECT_EQ(i.values[1].action_id, "a1");
  EXPECT_EQ(i.values[2].block_id, "b4");
  EXPECT_EQ(i.values[2].value, "");
}

TEST(NaturalKey, EventIdForEventsTriggerIdForCommandsAndInteractions) {
  slack::Envelope e;
  EXPECT_EQ(e.natural_key(), "");
  slack::Event ev;
  ev.event_id = "Ev42";
  e.payload = ev;
  EXPECT_EQ(e.natural_key(), "Ev42");
  slack::SlashCommand c;
  c.trigger_id = "1.2.a";
  e.payload = c;
  EXPECT_EQ(e.natural_key(), "1.2.a");
  slack::Interaction i;
  i.trigger_id = "3.4.b";
  e.payload = i;
  EXPECT_EQ(e.natural_key(), "3.4.b");
}

// ---- robustness: ~100k seeded mutations of the fixtures never crash ----

// Replaces one random value inside a parsed fixture with a value of another
// type, so the typed extraction meets every shape at every place.
void mutate_structure(rapidjson::Value& value, rapidjson::Document::AllocatorType& allocator,
                      std::mt19937& rng) {
  std::vector<rapidjson::Value*> nodes;
  std::vector<rapidjson::Value*> stack{&value};
  while (!stack.empty()) {
    rapidjson::Value* node = stack.back();
    stack.pop_back();
    nodes.push_back(node);
    if (node->IsObject()) {
      for (auto& member : node->GetObject()) stack.push_back(&member.value);
    } else if (node->IsArray()) {
      for (auto& item : node->GetArray()) stack.push_back(&item);
    }
  }
  rapidjson::Value& target = *nodes[rng() % nodes.size()];
  switch (rng() % 8) {
    case 0:
      target.SetNull();
      break;
    case 1:
      target.SetBool(rng() % 2 == 0);
      break;
    case 2:
      target.SetInt64(static_cast<std::int64_t>(rng()) - (1LL << 31));
      break;
    case 3:
      target.SetDouble(1.5);
      break;
    case 4:
      target.SetString("\xE2\x80\x98x&amp;", allocator);
      break;
    case 5:
      target.SetArray();
      break;
    case 6:
      target.SetObject();
      break;
    default:
      if (target.IsObject() && target.MemberCount() > 0) {
        target.RemoveMember(target.MemberBegin() + static_cast<long>(rng() % target.MemberCount()));
      } else {
        target.SetUint64(0xFFFFFFFFFFFFFFFFull);
      }
  }
}

std::string mutate_bytes(std::string text, const std::vector<std::string>& corpus,
                         std::mt19937& rng) {
  static constexpr std::string_view kJsonish = "{}[]\":,\\ 0-ent\x80\xff\n";
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int n = 0; n < edits; ++n) {
    const std::size_t at = text.empty() ? 0 : rng() % text.size();
    switch (rng() % 7) {
      case 0:
        if (!text.empty()) text[at] = static_cast<char>(rng() % 256);
        break;
      case 1:
        text.insert(at, 1, kJsonish[rng() % kJsonish.size()]);
        break;
      case 2:
        if (!text.empty()) text.erase(at, 1 + rng() % 16);
        break;
      case 3:
        text.resize(at);
        break;
      case 4:
        if (!text.empty()) text.insert(at, text.substr(rng() % text.size(), 1 + rng() % 32));
        break;
      case 5: {
        const std::string& other = corpus[rng() % corpus.size()];
        text = text.substr(0, at) + other.substr(rng() % other.size());
        break;
      }
      default:
        if (!text.empty()) text[at] = kJsonish[rng() % kJsonish.size()];
    }
  }
  return text;
}

TEST(ParseFrameRobustness, HundredThousandMutatedFixturesNeverCrash) {
  std::vector<std::string> corpus;
  for (const auto& name : fixture_names())
    corpus.push_back(read_file(kFixtures / (name + ".json")));
  ASSERT_FALSE(corpus.empty());

  std::mt19937 rng(20261125);  // fixed seed: a failure reproduces
  int parsed_ok = 0;
  std::size_t touched = 0;
  for (int round = 0; round < 100'000; ++round) {
    const std::string& seed = corpus[rng() % corpus.size()];
    std::string input;
    if (round % 2 == 0) {
      auto document = core::json::parse(seed);
      ASSERT_TRUE(document);
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int n = 0; n < edits; ++n) mutate_structure(*document, document->GetAllocator(), rng);
      input = core::json::to_string(*document);
    } else {
      input = mutate_bytes(seed, corpus, rng);
    }
    auto parsed = slack::parse_frame(input);
    if (parsed) {
      ++parsed_ok;
      // Touch every field so a bad string or variant state would show up.
      touched += describe(*parsed).size();
    } else {
      EXPECT_EQ(parsed.error().code, core::ErrorCode::invalid_input);
    }
  }
  // Both halves must have exercised both outcomes.
  EXPECT_GT(parsed_ok, 40'000);
  EXPECT_LT(parsed_ok, 100'000);
  EXPECT_GT(touched, 0u);
}

}  // namespace
