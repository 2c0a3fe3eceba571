// The JSON written without RapidJSON's Writer (core::json::append_quoted,
// slack::blockkit::to_json, infra::AuditRecord::to_json) against the Writer-based
// implementations they replaced, kept here as references: byte for byte the same
// on random texts (control characters, quotes, backslashes, &<>, UTF-8 and bytes
// that are not UTF-8, NUL) and on messages inside and past Slack's limits.
#include <gtest/gtest.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "audit_record.hpp"
#include "core/json.hpp"
#include "core/json_escape.hpp"
#include "core/overloaded.hpp"
#include "core/strings.hpp"
#include "slack/blockkit.hpp"

namespace {

namespace bk = slack::blockkit;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// ---- the references: the Writer-based code as it was ----

void write_string(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_key(JsonWriter& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void write_plain_text(JsonWriter& w, std::string_view text) {
  w.StartObject();
  write_key(w, "type");
  write_string(w, "plain_text");
  write_key(w, "text");
  write_string(w, text);
  write_key(w, "emoji");
  w.Bool(true);
  w.EndObject();
}

void write_mrkdwn(JsonWriter& w, std::string_view escaped) {
  w.StartObject();
  write_key(w, "type");
  write_string(w, "mrkdwn");
  write_key(w, "text");
  write_string(w, escaped);
  w.EndObject();
}

std::string section_mrkdwn(const bk::Section& section) {
  std::string out;
  bool first = true;
  if (!section.title.empty()) {
    out += '*';
    out += bk::escape_mrkdwn(section.title);
    out += '*';
    first = false;
  }
  for (const auto& line : section.lines) {
    if (!first) out += '\n';
    out += bk::escape_mrkdwn(line);
    first = false;
  }
  return out;
}

void write_block(JsonWriter& w, const bk::Block& block) {
  w.StartObject();
  std::visit(core::Overloaded{
                 [&](const bk::Header& h) {
                   write_key(w, "type");
                   write_string(w, "header");
                   write_key(w, "text");
                   write_plain_text(w, h.text);
                 },
                 [&](const bk::Divider&) {
                   write_key(w, "type");
                   write_string(w, "divider");
                 },
                 [&](const bk::Section& s) {
                   write_key(w, "type");
                   write_string(w, "section");
                   write_key(w, "text");
                   write_mrkdwn(w, section_mrkdwn(s));
                 },
                 [&](const bk::Context& c) {
                   write_key(w, "type");
                   write_string(w, "context");
                   write_key(w, "elements");
                   w.StartArray();
                   write_mrkdwn(w, bk::escape_mrkdwn(c.text));
                   w.EndArray();
                 },
                 [&](const bk::Actions& a) {
                   write_key(w, "type");
                   write_string(w, "actions");
                   write_key(w, "elements");
                   w.StartArray();
                   for (const auto& button : a.buttons) {
                     w.StartObject();
                     write_key(w, "type");
                     write_string(w, "button");
                     write_key(w, "text");
                     write_plain_text(w, button.text);
                     write_key(w, "action_id");
                     write_string(w, button.action_id);
                     write_key(w, "value");
                     write_string(w, button.value);
                     if (button.danger) {
                       write_key(w, "style");
                       write_string(w, "danger");
                     }
                     w.EndObject();
                   }
                   w.EndArray();
                 },
             },
             block);
  w.EndObject();
}

std::string reference_to_json(const bk::Message& message) {
  const bk::Message fitted = bk::fit_to_limits(message);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "response_type");
  write_string(w, fitted.visibility == bk::Visibility::in_channel ? "in_channel" : "ephemeral");
  write_key(w, "text");
  write_string(w, bk::escape_mrkdwn(fitted.text));
  write_key(w, "blocks");
  w.StartArray();
  for (const auto& block : fitted.blocks) write_block(w, block);
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// The modal's fitting is private: the reference takes a modal already within its limits.
std::string reference_to_json(const bk::Modal& fitted) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "type");
  write_string(w, "modal");
  write_key(w, "callback_id");
  write_string(w, fitted.callback_id);
  write_key(w, "title");
  write_plain_text(w, fitted.title);
  write_key(w, "submit");
  write_plain_text(w, fitted.submit);
  write_key(w, "close");
  write_plain_text(w, fitted.close);
  write_key(w, "private_metadata");
  write_string(w, fitted.private_metadata);
  write_key(w, "notify_on_close");
  w.Bool(true);
  write_key(w, "blocks");
  w.StartArray();
  for (const auto& block : fitted.blocks) write_block(w, block);
  w.StartObject();
  write_key(w, "type");
  write_string(w, "input");
  write_key(w, "block_id");
  write_string(w, fitted.input.block_id);
  write_key(w, "label");
  write_plain_text(w, fitted.input.label);
  write_key(w, "element");
  w.StartObject();
  write_key(w, "type");
  write_string(w, "plain_text_input");
  write_key(w, "action_id");
  write_string(w, fitted.input.action_id);
  if (!fitted.input.placeholder.empty()) {
    write_key(w, "placeholder");
    write_plain_text(w, fitted.input.placeholder);
  }
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string reference_to_json(const infra::AuditRecord& r) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  auto field = [&w](std::string_view key, std::string_view value) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  field("event", "command");
  field("source", r.source);
  field("request_id", r.request_id);
  field("team_id", r.who.team_id);
  field("user_id", r.who.user_id);
  field("user_name", r.who.user_name);
  field("channel_id", r.who.channel_id);
  field("command", r.command);
  field("action", r.action);
  field("environment", r.environment);
  field("decision", r.decision);
  field("reason", r.reason);
  field("backend", r.backend);
  field("outcome", r.outcome);
  if (!r.error.empty()) field("error", r.error);
  w.Key("duration_ms");
  w.Int64(r.duration_ms);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// ---- random inputs ----

class Texts {
 public:
  explicit Texts(std::uint32_t seed) : random_(seed) {}

  std::uint32_t next() { return static_cast<std::uint32_t>(random_()); }
  bool one_in(std::uint32_t n) { return next() % n == 0; }

  // Mostly short texts; now and then long enough to pass a limit.
  std::string text(std::size_t typical) {
    static const std::vector<std::string> pieces = {"a",
                                                    "b",
                                                    "Z",
                                                    " ",
                                                    "0",
                                                    "`",
                                                    "*",
                                                    "_",
                                                    ":no_entry:",
                                                    "&",
                                                    "<",
                                                    ">",
                                                    "&amp;",
                                                    "\"",
                                                    "\\",
                                                    "\n",
                                                    "\t",
                                                    "\r",
                                                    "\b",
                                                    "\f",
                                                    "\x01",
                                                    "\x1f",
                                                    "\x7f",
                                                    std::string(1, '\0'),
                                                    "/",
                                                    "\xC3\xA9",
                                                    "\xE2\x94\x80",
                                                    "\xF0\x9F\x98\x80",
                                                    "\xFF",
                                                    "\x80",
                                                    "\xC3",
                                                    "…",
                                                    "abcdefghijklmnopqrstuvwxyz"};
    std::size_t size = next() % (typical + 1);
    if (one_in(20)) size = typical * 4 + next() % (typical * 8 + 1);
    std::string out;
    while (out.size() < size) out += pieces[next() % pieces.size()];
    return out;
  }

  bk::Block block(std::size_t scale) {
    switch (next() % 5) {
      case 0:
        return bk::Header{text(60)};
      case 1:
        return bk::Divider{};
      case 2: {
        bk::Section section{one_in(2) ? text(40) : "", {}};
        const auto lines = next() % (one_in(10) ? 40 : 5);
        for (std::uint32_t i = 0; i < lines; ++i) section.lines.push_back(text(scale));
        return section;
      }
      case 3:
        return bk::Context{text(scale)};
      default: {
        bk::Actions actions;
        const auto buttons = next() % (one_in(10) ? 30 : 4);
        for (std::uint32_t i = 0; i < buttons; ++i) {
          actions.buttons.push_back(bk::Button{text(20), text(40), text(100), one_in(2)});
        }
        return actions;
      }
    }
  }

  std::vector<bk::Block> blocks(std::size_t max_count, std::size_t scale) {
    std::vector<bk::Block> out;
    const auto count = next() % (max_count + 1);
    for (std::uint32_t i = 0; i < count; ++i) out.push_back(block(scale));
    return out;
  }

 private:
  std::mt19937 random_;
};

// RapidJSON's Writer::String, the reference append_quoted (and quote(), built
// on it) copies its escaping from.
std::string writer_string(std::string_view text) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

TEST(JsonWriters, AppendQuotedIsTheWritersString) {
  EXPECT_EQ(core::json::quote(std::string("a\"b\\c\n\x01\x1f\x7f\xff/", 11)),
            "\"a\\\"b\\\\c\\n\\u0001\\u001F\x7f\xff/\"");
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  std::string out;
  core::json::append_quoted(out, every_byte);
  EXPECT_EQ(out, writer_string(every_byte));
  EXPECT_EQ(core::json::quote(every_byte), writer_string(every_byte));
  Texts texts(7);
  for (int round = 0; round < 20000; ++round) {
    const auto text = texts.text(50);
    out = "x";
    core::json::append_quoted(out, text);
    ASSERT_EQ(out, "x" + writer_string(text)) << text;
  }
}

TEST(JsonWriters, BlockKitMessageSameAsWriter) {
  Texts texts(11);
  int as_is = 0;
  int fitted = 0;
  for (int round = 0; round < 4000; ++round) {
    bk::Message message;
    message.text = texts.text(80);
    message.visibility = texts.one_in(2) ? bk::Visibility::in_channel : bk::Visibility::ephemeral;
    message.blocks = texts.blocks(texts.one_in(10) ? 70 : 8, texts.one_in(4) ? 900 : 60);
    const auto want = reference_to_json(message);
    ASSERT_EQ(bk::to_json(message), want) << "round " << round;
    ++(bk::fit_to_limits(message).blocks == message.blocks ? as_is : fitted);
  }
  // Both of to_json's paths ran: messages within the limits and messages cut to them.
  EXPECT_GT(as_is, 1000);
  EXPECT_GT(fitted, 1000);
}

TEST(JsonWriters, BlockKitMessageAtTheLimits) {
  // A section just within and just past 3000 escaped characters, with entities at the cut.
  for (std::size_t n = 2990; n <= 3002; ++n) {
    for (const std::string fill : {"a", "&", "\xC3\xA9"}) {
      std::string line;
      for (std::size_t i = 0; i + 1 < n; ++i) line += i % 7 == 0 ? fill : "b";
      bk::Message message{"t", {bk::Section{"", {line}}, bk::Section{"T", {line}}}, {}};
      ASSERT_EQ(bk::to_json(message), reference_to_json(message)) << n;
      message.blocks = {bk::Context{line}, bk::Header{line.substr(0, n % 160)}};
      ASSERT_EQ(bk::to_json(message), reference_to_json(message)) << n;
    }
  }
  // 49 to 52 blocks: the summary block.
  for (std::size_t count = 49; count <= 52; ++count) {
    bk::Message message{"t", {}, {}};
    for (std::size_t i = 0; i < count; ++i) message.blocks.push_back(bk::Section{"", {"line"}});
    ASSERT_EQ(bk::to_json(message), reference_to_json(message)) << count;
    message.blocks.back() = bk::Divider{};
    ASSERT_EQ(bk::to_json(message), reference_to_json(message)) << count;
  }
  // Blocks fitting leaves out.
  const bk::Message empties{"",
                            {bk::Header{""}, bk::Section{"", {"", ""}}, bk::Context{""},
                             bk::Actions{{bk::Button{"", "a", "v", false}}}, bk::Actions{}},
                            {}};
  EXPECT_EQ(bk::to_json(empties), R"({"response_type":"ephemeral","text":"","blocks":[]})");
  EXPECT_EQ(bk::to_json(empties), reference_to_json(empties));
}

TEST(JsonWriters, BlockKitModalSameAsWriter) {
  Texts texts(13);
  for (int round = 0; round < 2000; ++round) {
    bk::Modal modal;
    modal.callback_id = texts.text(20);
    modal.title = core::utf8_truncate(texts.text(10), bk::kMaxModalTitleChars);
    modal.submit = core::utf8_truncate(texts.text(10), bk::kMaxModalTitleChars);
    modal.close = core::utf8_truncate(texts.text(10), bk::kMaxModalTitleChars);
    modal.private_metadata = texts.text(200).substr(0, 2000);
    // Blocks as fitting leaves them, few enough that the modal's own budget keeps them all.
    modal.blocks = bk::fit_to_limits(bk::Message{"", texts.blocks(6, 60), {}}).blocks;
    modal.input =
        bk::TextInput{texts.text(10), texts.text(10), core::utf8_truncate(texts.text(50), 2000),
                      texts.one_in(3) ? "" : core::utf8_truncate(texts.text(30), 150)};
    ASSERT_LT(modal.blocks.size(), 99u);
    ASSERT_EQ(bk::to_json(modal), reference_to_json(modal)) << "round " << round;
  }
}

TEST(JsonWriters, AuditRecordSameAsWriter) {
  infra::AuditRecord refused;
  refused.source = "slash_command";
  refused.request_id = "81896ca5-0f63-43e3-bc17-7ae9761d96a4";
  refused.who.team_id = "T0123ABCD";
  refused.who.user_id = "U0456EFGH";
  refused.who.user_name = "alice";
  refused.who.channel_id = "C0123ABCD";
  refused.command = "stop prod";
  refused.action = "stop";
  refused.environment = "prod";
  refused.decision = "denied";
  refused.reason = "protected_environment";
  refused.backend = "simulated";
  refused.outcome = "refused";
  EXPECT_EQ(refused.to_json(),
            R"({"event":"command","source":"slash_command",)"
            R"("request_id":"81896ca5-0f63-43e3-bc17-7ae9761d96a4","team_id":"T0123ABCD",)"
            R"("user_id":"U0456EFGH","user_name":"alice","channel_id":"C0123ABCD",)"
            R"("command":"stop prod","action":"stop","environment":"prod","decision":"denied",)"
            R"("reason":"protected_environment","backend":"simulated","outcome":"refused",)"
            R"("duration_ms":0})");

  Texts texts(17);
  const std::vector<long long> durations = {0,         1,        -1, 9, 10, 999, 123456789012LL,
                                            LLONG_MAX, LLONG_MIN};
  for (int round = 0; round < 5000; ++round) {
    infra::AuditRecord r;
    for (std::string* field : {&r.source, &r.request_id, &r.who.team_id, &r.who.user_id,
                               &r.who.user_name, &r.who.channel_id, &r.command, &r.action,
                               &r.environment, &r.decision, &r.reason, &r.backend, &r.outcome}) {
      *field = texts.text(20);
    }
    r.error = texts.one_in(2) ? "" : texts.text(60);
    r.duration_ms = durations[static_cast<std::size_t>(round) % durations.size()];
    ASSERT_EQ(r.to_json(), reference_to_json(r)) << "round " << round;
  }
}

}  // namespace
