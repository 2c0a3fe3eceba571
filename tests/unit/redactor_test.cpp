// core::Redactor (issue 15, "no secret leaves the process"): the patterns it knows, the secrets
// it is told (in any case, URL-encoded), JSON that stays valid, the bound on rotating secrets,
// and learning while other threads redact.

#include "core/redactor.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/json.hpp"

namespace {

constexpr const char* kSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kSessionToken = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+ex=";

struct Case {
  const char* name;
  std::string text;
  std::string expected;
};

std::string case_name(const testing::TestParamInfo<Case>& case_info) {
  return case_info.param.name;
}

// ---------------------------------------------------------------- built-in patterns

class Patterns : public testing::TestWithParam<Case> {};

TEST_P(Patterns, Redact) {
  const core::Redactor redactor;  // nothing registered: the patterns alone
  EXPECT_EQ(redactor.redact(GetParam().text), GetParam().expected);
  EXPECT_EQ(redactor.contains_secret(GetParam().text), GetParam().text != GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    SlackTokens, Patterns,
    testing::Values(
        Case{"xoxa", "a xoxa-2-abc b", "a xoxa-[REDACTED] b"},
        Case{"xoxb", "a xoxb-123-456-AbC b", "a xoxb-[REDACTED] b"},
        Case{"xoxc", "a xoxc-1 b", "a xoxc-[REDACTED] b"},
        Case{"xoxd_cookie_url_encoded", "d=xoxd-aBc%2Fde%2BF%3D; path=/",
             "d=xoxd-[REDACTED]; path=/"},
        Case{"xoxd_cookie_raw", "d=xoxd-aBc/de+F==;", "d=xoxd-[REDACTED];"},
        Case{"xoxe_refresh", "refresh xoxe-1-My0xLTEyMzQ", "refresh xoxe-[REDACTED]"},
        Case{"xoxe_rotating_access_token", "xoxe.xoxp-1-Mi0yLTEy end", "xoxe[REDACTED] end"},
        Case{"xoxe_glued", "token xoxeABCDEFGH1234 rest", "token xoxe[REDACTED] rest"},
        Case{"xoxo", "xoxo-1234", "xoxo-[REDACTED]"},
        Case{"xoxp", "xoxp-1-2-3-abcdef", "xoxp-[REDACTED]"},
        Case{"xoxr", "xoxr-a", "xoxr-[REDACTED]"}, Case{"xoxs", "xoxs-a", "xoxs-[REDACTED]"},
        Case{"xapp", "xapp-1-A0123-456-abcdef", "xapp-[REDACTED]"},
        Case{"upper_case", "XOXB-ABC Xapp-1", "XOXB-[REDACTED] Xapp-[REDACTED]"},
        Case{"one_char_after_the_dash", "xoxb-1", "xoxb-[REDACTED]"},
        Case{"the_finding", "xoxb-1234_5678/abcd.efg failed", "xoxb-[REDACTED] failed"},
        Case{"ends_at_a_comma", "token=xoxb-123,next", "token=xoxb-[REDACTED],next"},
        Case{"ends_at_an_ampersand", "?token=xoxb-1&channel=C1",
             "?token=xoxb-[REDACTED]&channel=C1"},
        Case{"ends_at_a_quote", R"({"t":"xoxb-1","u":1})", R"({"t":"xoxb-[REDACTED]","u":1})"},
        Case{"ends_before_a_json_escape", R"("xoxb-1\"quoted\"")",
             R"("xoxb-[REDACTED]\"quoted\"")"},
        Case{"ends_at_mrkdwn_link_syntax", "<https://x.example|xoxb-9> `xoxp-8`",
             "<https://x.example|xoxb-[REDACTED]> `xoxp-[REDACTED]`"},
        Case{"glued_to_a_word", "Bearerxoxb-1", "Bearerxoxb-[REDACTED]"},
        Case{"a_prefix_alone", "xoxb- xoxb xapp xoxe. is fine", "xoxb- xoxb xapp xoxe. is fine"},
        Case{"other_families", "xoxz-123 xapi-1 xoxbx-1", "xoxz-123 xapi-1 xoxbx-1"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    AwsKeyIds, Patterns,
    testing::Values(
        Case{"akia", "key=AKIAIOSFODNN7EXAMPLE,", "key=AKIA[REDACTED],"},
        Case{"asia", "ASIAQEXAMPLE1234ABCD", "ASIA[REDACTED]"},
        Case{"lower_case", "akiaiosfodnn7example", "akia[REDACTED]"},
        Case{"unique_ids_21_chars", "AROADBQP57FF2AEXAMPLE AIDAJQABLZS4A3QDU576Q",
             "AROA[REDACTED] AIDA[REDACTED]"},
        Case{"other_prefixes",
             "AGPAAAAAAAAAAAAAAAAA ANPAAAAAAAAAAAAAAAAA ANVAAAAAAAAAAAAAAAAA APKAAAAAAAAAAAAAAAAA "
             "ABIAAAAAAAAAAAAAAAAA ACCAAAAAAAAAAAAAAAAA AIPAAAAAAAAAAAAAAAAA ASCAAAAAAAAAAAAAAAAA",
             "AGPA[REDACTED] ANPA[REDACTED] ANVA[REDACTED] APKA[REDACTED] ABIA[REDACTED] "
             "ACCA[REDACTED] AIPA[REDACTED] ASCA[REDACTED]"},
        Case{"followed_by_lower_case", "AKIAIOSFODNN7EXAMPLEsuffix", "AKIA[REDACTED]suffix"},
        Case{"too_short", "AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPL"},
        Case{"inside_a_longer_id", "XAKIAIOSFODNN7EXAMPLE", "XAKIAIOSFODNN7EXAMPLE"},
        Case{"mixed_case_words", "Asiapacificregionwide Akiaiosfodnn7example",
             "Asiapacificregionwide Akiaiosfodnn7example"},
        Case{"ordinary_words", "as an AKIA prefix, Asia, and aroas",
             "as an AKIA prefix, Asia, and aroas"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    LabelledAwsSecrets, Patterns,
    testing::Values(
        Case{"ini", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
             "aws_secret_access_key = [REDACTED]\n"},
        Case{"env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
             "AWS_SECRET_ACCESS_KEY=[REDACTED]"},
        Case{"json", R"({"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})",
             R"({"SecretAccessKey":"[REDACTED]"})"},
        Case{"json_in_a_json_string",
             R"("{\"secretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}")",
             R"("{\"secretAccessKey\": \"[REDACTED]\"}")"},
        Case{"prose", "Secret access key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.",
             "Secret access key: [REDACTED]."},
        Case{"session_token", "AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEa= next",
             "AWS_SESSION_TOKEN=[REDACTED] next"},
        Case{"presigned_url", "?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2FwEa&X-Amz-Date=1",
             "?X-Amz-Security-Token=[REDACTED]&X-Amz-Date=1"},
        Case{"not_40_chars", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX",
             "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX"},
        Case{"no_value", "aws_secret_access_key is not set; secret_access_key = short",
             "aws_secret_access_key is not set; secret_access_key = short"},
        Case{"aws_error_prose", "The security token included in the request is invalid.",
             "The security token included in the request is invalid."}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    OrdinaryText, Patterns,
    testing::Values(Case{"reply", "Stopped dev: 3 services, 1 database (as requested by <@U01>)",
                         "Stopped dev: 3 services, 1 database (as requested by <@U01>)"},
                    Case{"arn", "arn:aws:lambda:eu-west-1:123456789012:function:orchestrator",
                         "arn:aws:lambda:eu-west-1:123456789012:function:orchestrator"},
                    Case{"empty", "", ""}, Case{"one_byte", "x", "x"},
                    Case{"utf8", "Zürich — ✅ xox", "Zürich — ✅ xox"}),
    case_name);

// ---------------------------------------------------------------- registered secrets

class Registered : public testing::TestWithParam<Case> {};

TEST_P(Registered, Redact) {
  const core::Redactor redactor(
      {kSecretKey, kSessionToken, "abcdefgh", "abcdefgh-longer-secret", "n0secret", "short"});
  EXPECT_EQ(redactor.redact(GetParam().text), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, Registered,
    testing::Values(
        Case{"as_is", fmt::format("k={} t={}", kSecretKey, kSessionToken),
             "k=[REDACTED] t=[REDACTED]"},
        Case{"upper_case", "WJALRXUTNFEMI/K7MDENG/BPXRFICYEXAMPLEKEY", "[REDACTED]"},
        Case{"lower_case", "x wjalrxutnfemi/k7mdeng/bpxrficyexamplekey y", "x [REDACTED] y"},
        Case{"percent_encoded_upper_hex", "?k=wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY&x=1",
             "?k=[REDACTED]&x=1"},
        Case{"percent_encoded_lower_hex", "?k=wJalrXUtnFEMI%2fK7MDENG%2fbPxRfiCYEXAMPLEKEY",
             "?k=[REDACTED]"},
        Case{"partly_encoded", "wJalrXUtnFEMI%2FK7MDENG/bPxRfiCYEXAMPLEKEY", "[REDACTED]"},
        Case{"json_escaped_slash", R"("wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY")",
             R"("[REDACTED]")"},
        Case{"plus_and_equals_encoded",
             "t=IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaCXVzLWVhc3QtMSJHMEUCIQ%2Bex%3D",
             "t=[REDACTED]"},
        Case{"one_that_contains_another", "x abcdefgh-longer-secret y abcdefgh",
             "x [REDACTED] y [REDACTED]"},
        Case{"at_the_edges", "abcdefghabcdefgh", "[REDACTED][REDACTED]"},
        Case{"cut_short", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE",
             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE"},
        Case{"short_values_are_ignored", "a short word", "a short word"},
        // A secret that starts with 'n' right after "\" (a JSON "\n"): the backslash goes too,
        // or "\[REDACTED]" would be an invalid escape.
        Case{"after_an_escape", R"("line\n0secret")", R"("line[REDACTED]")"},
        Case{"after_an_escaped_backslash", R"("dir\\n0secret")", R"("dir\\[REDACTED]")"}),
    case_name);

TEST(Redactor, SecretsAreFoundWhenTheyStartInsideAToken) {
  // The token's charset stops at ',', the registered value goes on: hidden whole.
  const core::Redactor redactor({"1234,tail-of-the-secret"});
  EXPECT_EQ(redactor.redact("xoxb-1234,tail-of-the-secret, visible"), "xoxb-[REDACTED], visible");
}

TEST(Redactor, ARunOfTokensIsMaskedInOnePass) {
  // 250 KB of "xoxb-": one token. (Looking for tokens inside a token would make this quadratic,
  // minutes instead of a millisecond.)
  std::string text;
  for (int i = 0; i < 50'000; ++i) text += "xoxb-";
  const core::Redactor redactor({"unrelated-secret"});
  EXPECT_EQ(redactor.redact("<" + text + "1>"), "<xoxb-[REDACTED]>");
}

// ---------------------------------------------------------------- JSON stays valid

TEST(Redactor, RedactedJsonStaysValidAndHoldsNoSecret) {
  const core::Redactor redactor({kSecretKey, kSessionToken, "n0secret"});
  // Secrets inside strings, raw, escaped, URL-encoded and next to escapes; the quote() strings
  // are produced by core::json itself.
  const auto document = fmt::format(
      R"({{"text":{},"blocks":[{{"type":"section","text":{{"type":"mrkdwn","text":{}}}}}],)"
      R"("url":"https://x.example/?k=wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY",)"
      R"("escaped":"wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY\n0secret\\n0secret\"xoxb-1\"",)"
      R"("error":{},"ids":["AKIAIOSFODNN7EXAMPLE","xapp-1-A1-2-ff"]}})",
      core::json::quote(fmt::format("Lambda failed: key {} token {} bot xoxb-1234_5678/abc",
                                    kSecretKey, kSessionToken)),
      core::json::quote(
          "*Error:*\n`aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX`"),
      core::json::quote(R"({"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ"})"));
  ASSERT_TRUE(core::json::is_valid(document)) << document;
  ASSERT_TRUE(redactor.contains_secret(document));

  const auto redacted = redactor.redact(document);
  EXPECT_TRUE(core::json::is_valid(redacted)) << redacted;
  EXPECT_FALSE(redactor.contains_secret(redacted)) << redacted;
  auto parsed = core::json::parse(redacted);
  ASSERT_TRUE(parsed) << redacted;
  const auto text = core::json::to_string(*parsed);  // every string, unescaped and re-escaped
  for (const char* secret : {"wJalrXUtnFEMI", "EXAMPLEKE", "IQoJb3JpZ2lu", "n0secret", "1234_5678",
                             "IOSFODNN7", "A1-2-ff"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  EXPECT_EQ(core::json::get_string(*parsed, "escaped"),
            R"([REDACTED][REDACTED]\[REDACTED]"xoxb-[REDACTED]")");
}

// ---------------------------------------------------------------- learning

TEST(Redactor, CopiesShareWhatIsLearned) {
  core::Redactor redactor;
  const core::Redactor logger_copy = redactor;  // as make_logger keeps it
  redactor.add_secret("learned-after-the-copy");
  EXPECT_EQ(logger_copy.redact("x learned-after-the-copy"), "x [REDACTED]");
  core::Redactor moved = std::move(redactor);  // a move copies: the source stays usable
  EXPECT_EQ(redactor.redact("learned-after-the-copy"),
            "[REDACTED]");  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(moved.secret_count(), 1u);
}

TEST(Redactor, RotatingSecretsAreBoundedAndTheNewestKept) {
  core::Redactor redactor({"configured-bot-token"});
  const auto value = [](std::size_t i) { return fmt::format("rotating-secret-{:04}", i); };
  constexpr auto kMax = core::Redactor::kMaxRotatingSecrets;
  for (std::size_t i = 0; i < kMax + 10; ++i) {
    redactor.add_rotating_secret(value(i));
    if (i == kMax - 1) redactor.add_rotating_secret(value(0));  // seen again: newest now
  }
  EXPECT_EQ(redactor.secret_count(), kMax + 1);
  EXPECT_EQ(redactor.redact("configured-bot-token"), "[REDACTED]");  // never evicted
  EXPECT_EQ(redactor.redact(value(0)), "[REDACTED]");                // refreshed above
  EXPECT_EQ(redactor.redact(value(1)), value(1));                    // the oldest: dropped
  EXPECT_EQ(redactor.redact(value(10)), value(10));
  EXPECT_EQ(redactor.redact(value(11)), "[REDACTED]");  // the oldest kept
  EXPECT_EQ(redactor.redact(value(kMax + 9)), "[REDACTED]");
}

TEST(Redactor, DuplicatesAndShortValuesChangeNothing) {
  core::Redactor redactor({"AbCdEfGh1234"});
  redactor.add_secret("abcdefgh1234");           // the same, in another case
  redactor.add_rotating_secret("ABCDEFGH1234");  // already permanent
  redactor.add_rotating_secret("short");
  redactor.add_rotating_secret("");
  EXPECT_EQ(redactor.secret_count(), 1u);
  redactor.add_rotating_secret("rotating-then-permanent");
  redactor.add_secret("rotating-then-permanent");  // moves over: no longer evictable
  EXPECT_EQ(redactor.secret_count(), 2u);
  for (std::size_t i = 0; i <= core::Redactor::kMaxRotatingSecrets; ++i) {  // one evicted
    redactor.add_rotating_secret(fmt::format("filler-secret-{}", i));
  }
  EXPECT_EQ(redactor.redact("rotating-then-permanent"), "[REDACTED]");
}

// Readers redact while a writer learns: no torn state (TSan runs this), and a secret once hidden
// stays hidden for every later redact.
TEST(Redactor, LearningWhileOtherThreadsRedact) {
  core::Redactor redactor;
  constexpr int kSecrets = 40;  // under kMaxRotatingSecrets: none is evicted
  std::string text;
  for (int i = 0; i < kSecrets; ++i) text += fmt::format("secret-number-{:02} ", i);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      std::size_t hidden_before = 0;
      while (!done.load()) {
        const auto redacted = redactor.redact(text);
        std::size_t hidden = 0;
        for (auto at = redacted.find("[REDACTED]"); at != std::string::npos;
             at = redacted.find("[REDACTED]", at + 1)) {
          ++hidden;
        }
        if (hidden < hidden_before) failures.fetch_add(1);
        hidden_before = hidden;
      }
    });
  }
  for (int i = 0; i < kSecrets; ++i) {
    const auto secret = fmt::format("secret-number-{:02}", i);
    redactor.add_rotating_secret(secret);
    if (redactor.redact(secret) != "[REDACTED]") failures.fetch_add(1);  // at once, here too
  }
  done = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_FALSE(redactor.contains_secret(redactor.redact(text)));
  EXPECT_EQ(redactor.redact(text).find("secret-number"), std::string::npos);
}

}  // namespace
