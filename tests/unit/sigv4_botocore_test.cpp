// Cross-check of aws::sigv4::sign against an independent implementation:
// botocore's SigV4Auth (Debian python3-botocore 1.29, run by
// tests/fakes/botocore_sign.py with a fixed clock, shared/notes/aws.md §6).
//
// A seeded generator builds a few hundred requests: Lambda Invoke paths with
// ARNs encoded for the wire and random paths (reserved and non-ASCII
// characters, raw or percent-encoded in either hex case, dot segments, '//'),
// queries with reserved/unicode characters and repeated keys, header sets
// with odd whitespace, folded lines, duplicate names and mixed case, random
// bodies, with and without session tokens and sign_body, random regions,
// services and dates. Each case's canonical request, string to sign and
// signature must equal botocore's.
//
// Where botocore differs by design, the generator stays inside what both
// must agree on:
// - botocore signs a URL's query as is (no decode/re-encode). So each case
//   goes one of two ways: "url" sends the query already in canonical
//   encoding (botocore sorts it); "params" sends a non-canonical wire query
//   (raw UTF-8, lower-case hex, needless escapes) that the script decodes with
//   urllib's unquote and hands to botocore as params, which botocore encodes
//   and sorts itself.
// - botocore signs every header present except expect, user-agent and
//   x-amzn-trace-id, and rewrites Date: the generator uses none of those, and
//   passes exactly the headers we sign. X-Amz-Date and X-Amz-Security-Token
//   are added by botocore's own _modify_request_before_signing.
// - botocore always normalises the path: normalize_path stays on (the suite
//   covers it off).
// - botocore cannot leave the token unsigned: omit_session_token stays off
//   (the suite covers it, post-sts-header-after).

#include "aws/sigv4.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.hpp"

namespace {

namespace fs = std::filesystem;
namespace sigv4 = aws::sigv4;

constexpr std::uint64_t kSeed = 0x5167'7634'2015'0830ULL;
constexpr int kGeneratedCases = 300;
const std::string kPython = "/usr/bin/python3";
const std::string kScript = FAKES_DIR "/botocore_sign.py";
const std::string kInstallHint = "run ./dev.sh test (installs python3-botocore)";

using Rng = std::mt19937_64;

struct Case {
  int id = 0;
  std::string kind;  ///< what the generator built, for failure messages
  std::string method;
  std::string host;
  std::string path;
  std::string query;
  std::string query_mode = "url";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  aws::Credentials credentials;
  sigv4::Options options;
  std::int64_t epoch_seconds = 0;
  int millis = 0;
};

// --- random building blocks --------------------------------------------------

std::size_t below(Rng& rng, std::size_t n) {
  return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}
bool chance(Rng& rng, int percent) { return static_cast<int>(below(rng, 100)) < percent; }

template <class T>
const T& pick(Rng& rng, const std::vector<T>& items) {
  return items[below(rng, items.size())];
}

std::string random_from(Rng& rng, std::string_view alphabet, std::size_t min, std::size_t max) {
  std::string out;
  const std::size_t size = min + below(rng, max - min + 1);
  for (std::size_t i = 0; i < size; ++i) out.push_back(alphabet[below(rng, alphabet.size())]);
  return out;
}

constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kPrintable =
    "!\"#$%&'()*+,-./"
    "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

// Text as a user might pass it: letters, reserved characters, space, '%',
// and 2-, 3- and 4-byte UTF-8 characters.
std::string random_text(Rng& rng, std::size_t min, std::size_t max) {
  static const std::vector<std::string> pieces = {"a",
                                                  "Z",
                                                  "7",
                                                  "-",
                                                  ".",
                                                  "_",
                                                  "~",
                                                  ":",
                                                  "/",
                                                  "?",
                                                  "#",
                                                  "[",
                                                  "]",
                                                  "@",
                                                  "!",
                                                  "$",
                                                  "&",
                                                  "'",
                                                  "(",
                                                  ")",
                                                  "*",
                                                  "+",
                                                  ",",
                                                  ";",
                                                  "=",
                                                  " ",
                                                  "%",
                                                  "\"",
                                                  "<",
                                                  ">",
                                                  "\\",
                                                  "^",
                                                  "`",
                                                  "{",
                                                  "|",
                                                  "}",
                                                  "\xC3\xA9",      // é
                                                  "\xC3\x9F",      // ß
                                                  "\xE1\x88\xB4",  // ሴ (the suite's character)
                                                  "\xE4\xB8\xAD",  // 中
                                                  "\xE2\x82\xAC",  // €
                                                  "\xF0\x9F\x98\x80",  // 😀
                                                  "word",
                                                  "x"};
  std::string out;
  const std::size_t size = min + below(rng, max - min + 1);
  for (std::size_t i = 0; i < size; ++i) out += pick(rng, pieces);
  return out;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent(unsigned char byte, bool lower_hex) {
  const char* digits = lower_hex ? "0123456789abcdef" : "0123456789ABCDEF";
  return {'%', digits[byte >> 4], digits[byte & 0x0F]};
}

// An encoding a client might really put on the wire, not the canonical one:
// unreserved bytes sometimes escaped, bytes of `raw_ok` sometimes left raw,
// UTF-8 sometimes raw, hex digits in either case. Everything else escaped.
std::string wire_encode(Rng& rng, std::string_view text, std::string_view raw_ok) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const bool lower_hex = chance(rng, 30);
    if (byte >= 0x80) {
      // A whole UTF-8 sequence is raw or escaped, so the text stays valid UTF-8.
      const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2;
      const bool raw = chance(rng, 50);
      for (std::size_t k = 0; k < length && i < text.size(); ++k, ++i) {
        out +=
            raw ? std::string(1, text[i]) : percent(static_cast<unsigned char>(text[i]), lower_hex);
      }
      continue;
    }
    if (is_unreserved(byte)) {
      out += chance(rng, 10) ? percent(byte, lower_hex) : std::string(1, text[i]);
    } else if (raw_ok.find(text[i]) != std::string_view::npos) {
      out += chance(rng, 50) ? std::string(1, text[i]) : percent(byte, lower_hex);
    } else {
      out += percent(byte, lower_hex);
    }
    ++i;
  }
  return out;
}

// --- request parts -----------------------------------------------------------

const std::vector<std::string> kRegions = {"us-east-1",    "us-west-2",      "eu-west-1",
                                           "eu-central-1", "ap-southeast-2", "sa-east-1",
                                           "cn-north-1",   "us-gov-west-1",  "me-south-1"};

std::string function_name(Rng& rng, const std::string& region) {
  const std::string name = random_from(rng, "abcdefghijklmnopqrstuvwxyz0123456789-_", 1, 24);
  const std::string qualifier =
      pick(rng, std::vector<std::string>{"", ":live", ":$LATEST", ":7", ":blue-green_2"});
  const std::string account = random_from(rng, "0123456789", 12, 12);
  switch (below(rng, 4)) {
    case 0:
      return name + qualifier;
    case 1:
      return account + ":function:" + name + qualifier;
    default:
      return "arn:" + pick(rng, std::vector<std::string>{"aws", "aws-cn", "aws-us-gov"}) +
             ":lambda:" + region + ":" + account + ":function:" + name + qualifier;
  }
}

// The FunctionName label is encoded once for the wire with the full
// UriEncode (':' -> %3A), as LambdaClient does (aws.md §1.3).
std::string lambda_path(Rng& rng, const std::string& region) {
  return "/2015-03-31/functions/" + sigv4::uri_encode(function_name(rng, region), false) +
         "/invocations";
}

// Sub-delimiters, ':' and '@' are legal raw in a path (RFC 3986 §3.3).
std::string random_path(Rng& rng) {
  std::string path;
  const std::size_t segments = 1 + below(rng, 5);
  for (std::size_t i = 0; i < segments; ++i) {
    path += "/";
    switch (below(rng, 10)) {
      case 0:
        path += ".";
        break;
      case 1:
        path += "..";
        break;
      case 2:
        break;  // "//"
      default:
        path += wire_encode(rng, random_text(rng, 1, 6), ":@!$&'()*+,;=");
    }
  }
  if (chance(rng, 30)) path += "/";
  return path;
}

std::string qualifier_value(Rng& rng) {
  return pick(rng, std::vector<std::string>{"live", "$LATEST", "$LATEST.PUBLISHED", "7", "a-b_c"});
}

// Pairs of raw (decoded) text; some keys repeat, some values are empty.
std::vector<std::pair<std::string, std::string>> random_pairs(Rng& rng) {
  std::vector<std::pair<std::string, std::string>> pairs;
  const std::size_t count = below(rng, 7);
  for (std::size_t i = 0; i < count; ++i) {
    std::string key;
    if (!pairs.empty() && chance(rng, 25)) {
      key = pick(rng, pairs).first;  // repeated key
    } else if (chance(rng, 20)) {
      key = "Qualifier";
    } else {
      key = random_text(rng, chance(rng, 5) ? 0 : 1, 6);
    }
    std::string value = key == "Qualifier" && chance(rng, 70) ? qualifier_value(rng)
                        : chance(rng, 15)                     ? std::string()
                                                              : random_text(rng, 1, 8);
    pairs.emplace_back(std::move(key), std::move(value));
  }
  return pairs;
}

std::string join_query(Rng& rng, const std::vector<std::pair<std::string, std::string>>& pairs,
                       bool canonical) {
  std::string query;
  for (const auto& [key, value] : pairs) {
    if (!query.empty()) query += "&";
    // '&', '=', '+', '#' and '%' are always escaped: they are delimiters or
    // would read differently after decoding.
    query += canonical ? sigv4::uri_encode(key, false) : wire_encode(rng, key, ":@!$'()*,;/?");
    // An empty key keeps its '=' so no pair is empty ("a&&b"): botocore
    // signs an empty pair as "=", we skip it (it carries nothing).
    if (!value.empty() || key.empty() || chance(rng, 60)) {
      query += "=";
      query +=
          canonical ? sigv4::uri_encode(value, false) : wire_encode(rng, value, ":@!$'()*,;/?");
    }
  }
  return query;
}

std::string random_case(Rng& rng, std::string_view name) {
  std::string out(name);
  const std::size_t style = below(rng, 4);
  for (char& c : out) {
    const bool upper = style == 0   ? true
                       : style == 1 ? false
                       : style == 2 ? (&c == out.data())
                                    : chance(rng, 50);
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Printable words separated by runs of whitespace, with leading/trailing
// whitespace and folded lines (CRLF or LF followed by indentation).
std::string random_header_value(Rng& rng) {
  static const std::vector<std::string> gaps = {" ",    "  ",      "\t",   " \t ", "\r\n ",
                                                "\n\t", "\r\n   ", "\x0b", "\x0c", "   "};
  std::string value;
  if (chance(rng, 30)) value += pick(rng, gaps);
  const std::size_t words = below(rng, 5);
  for (std::size_t i = 0; i < words; ++i) {
    if (i > 0) value += pick(rng, gaps);
    value += random_from(rng, kPrintable, 1, 12);
  }
  if (chance(rng, 30)) value += pick(rng, gaps);
  return value;
}

std::vector<std::pair<std::string, std::string>> random_headers(Rng& rng, const std::string& host) {
  static const std::vector<std::string> names = {
      "X-Amz-Invocation-Type", "X-Amz-Log-Type",  "X-Amz-Client-Context",
      "Content-Type",          "My-Header1",      "Accept",
      "X-Request-Id",          "Content-Encoding"};
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back(random_case(rng, "Host"), host);
  const std::size_t count = below(rng, 7);
  for (std::size_t i = 0; i < count; ++i) {
    std::string name;
    if (headers.size() > 1 && chance(rng, 25)) {
      name = random_case(rng, headers[1 + below(rng, headers.size() - 1)].first);  // duplicate
    } else if (chance(rng, 25)) {
      name = "x-custom-" + random_from(rng, "abcdefghijklmnopqrstuvwxyz0123456789-", 1, 10);
    } else {
      name = pick(rng, names);
    }
    headers.emplace_back(random_case(rng, name), random_header_value(rng));
  }
  // Shuffle so Host is not always first.
  std::shuffle(headers.begin(), headers.end(), rng);
  return headers;
}

Case generate(Rng& rng, int id) {
  Case c;
  c.id = id;
  c.options.region = pick(rng, kRegions);
  c.options.service =
      chance(rng, 70)
          ? "lambda"
          : pick(rng, std::vector<std::string>{"execute-api", "sts", "s3-like", "service"});
  const bool lambda = chance(rng, 45);
  c.kind = lambda ? "lambda-invoke" : "random-path";
  c.method =
      lambda ? "POST"
             : pick(rng, std::vector<std::string>{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"});
  c.host =
      chance(rng, 85)
          ? "lambda." + c.options.region + ".amazonaws.com"
          : pick(rng, std::vector<std::string>{"localhost:4566", "127.0.0.1:8443", "Example.COM"});
  c.path = lambda ? lambda_path(rng, c.options.region) : random_path(rng);

  auto pairs = random_pairs(rng);
  if (lambda && chance(rng, 60)) pairs.insert(pairs.begin(), {"Qualifier", qualifier_value(rng)});
  std::shuffle(pairs.begin(), pairs.end(), rng);
  c.query_mode = chance(rng, 50) ? "url" : "params";
  c.query = join_query(rng, pairs, c.query_mode == "url");
  c.kind += "/query-" + c.query_mode;

  c.headers = random_headers(rng, c.host);
  const std::size_t body_size = chance(rng, 25) ? 0 : below(rng, 400);
  for (std::size_t i = 0; i < body_size; ++i) c.body.push_back(static_cast<char>(below(rng, 256)));

  c.credentials.access_key_id =
      "AKIA" + random_from(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16);
  c.credentials.secret_access_key = random_from(rng, std::string(kAlnum) + "+/", 40, 40);
  if (chance(rng, 50))
    c.credentials.session_token = random_from(rng, std::string(kAlnum) + "+/=", 16, 300);
  c.options.sign_body = chance(rng, 20);
  // 2000-01-01 .. 2099-12-31, plus a sub-second part the signer must drop.
  c.epoch_seconds = 946684800 + static_cast<std::int64_t>(below(rng, 3155760000ULL));
  c.millis = static_cast<int>(below(rng, 1000));
  return c;
}

// The request of aws.md §0, whose signature three implementations agree on.
Case golden_case() {
  Case c;
  c.kind = "golden-lambda-vector";
  c.method = "POST";
  c.host = "lambda.us-east-1.amazonaws.com";
  c.path =
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
      "invocations";
  c.query = "Qualifier=live";
  c.headers = {{"Host", c.host}, {"X-Amz-Invocation-Type", "RequestResponse"}};
  c.body = R"({"a":1})";
  c.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN123",
                   std::nullopt};
  c.options.region = "us-east-1";
  c.epoch_seconds = 1440938160;  // 2015-08-30T12:36:00Z
  return c;
}

std::string hex_of(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0F]);
  }
  return out;
}

std::string to_json_line(const Case& c) {
  using core::json::quote;
  std::string headers = "[";
  for (const auto& [name, value] : c.headers) {
    if (headers.size() > 1) headers += ",";
    headers += "[" + quote(name) + "," + quote(value) + "]";
  }
  headers += "]";
  return "{\"id\":" + std::to_string(c.id) + ",\"method\":" + quote(c.method) +
         ",\"host\":" + quote(c.host) + ",\"path\":" + quote(c.path) +
         ",\"query\":" + quote(c.query) + ",\"query_mode\":" + quote(c.query_mode) +
         ",\"headers\":" + headers + ",\"body_hex\":" + quote(hex_of(c.body)) +
         ",\"access_key\":" + quote(c.credentials.access_key_id) +
         ",\"secret_key\":" + quote(c.credentials.secret_access_key) +
         ",\"token\":" + quote(c.credentials.session_token) +
         ",\"region\":" + quote(c.options.region) + ",\"service\":" + quote(c.options.service) +
         ",\"epoch_seconds\":" + std::to_string(c.epoch_seconds) +
         ",\"sign_body\":" + (c.options.sign_body ? "true" : "false") + "}";
}

sigv4::Signed sign_ours(const Case& c) {
  sigv4::Request request;
  request.method = c.method;
  request.path = c.path;
  request.query = c.query;
  request.headers = c.headers;
  request.body = c.body;
  const core::TimePoint at = core::TimePoint{} + std::chrono::seconds{c.epoch_seconds} +
                             std::chrono::milliseconds{c.millis};
  return sigv4::sign(request, c.credentials, c.options, at);
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

struct BotocoreRun {
  std::string version;
  std::map<int, rapidjson::Document> results;  // by case id
};

/// Runs the script over `cases`; a failure says what went wrong and how to fix it.
testing::AssertionResult run_botocore(const std::vector<Case>& cases, BotocoreRun& run) {
  if (::access(kPython.c_str(), X_OK) != 0) {
    return testing::AssertionFailure() << kPython << " not found: " << kInstallHint;
  }
  const fs::path dir = fs::temp_directory_path() / ("sigv4_botocore_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path input = dir / "cases.jsonl";
  const fs::path output = dir / "signed.jsonl";
  const fs::path errors = dir / "stderr.txt";
  {
    std::ofstream out(input, std::ios::binary);
    for (const auto& c : cases) out << to_json_line(c) << "\n";
  }
  const std::string command = kPython + " '" + kScript + "' '" + input.string() + "' > '" +
                              output.string() + "' 2> '" + errors.string() + "'";
  const int status = std::system(command.c_str());
  const std::string stdout_text = read_all(output);
  const std::string stderr_text = read_all(errors);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  if (status == -1 || !WIFEXITED(status)) {
    return testing::AssertionFailure() << "could not run: " << command;
  }
  if (WEXITSTATUS(status) == 3) {
    return testing::AssertionFailure()
           << "python3-botocore is not installed for " << kPython << ": " << kInstallHint << "\n"
           << stderr_text;
  }
  if (WEXITSTATUS(status) != 0) {
    return testing::AssertionFailure() << command << " exited " << WEXITSTATUS(status) << ":\n"
                                       << stderr_text;
  }
  std::istringstream lines(stdout_text);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    auto document = core::json::parse(line);
    if (!document) return testing::AssertionFailure() << "unparsable output line: " << line;
    if (first) {
      run.version = std::string(core::json::get_string(*document, "botocore").value_or(""));
      first = false;
      continue;
    }
    const auto id = core::json::get_int(*document, "id");
    if (!id) return testing::AssertionFailure() << "output line without id: " << line;
    run.results.emplace(static_cast<int>(*id), std::move(*document));
  }
  return testing::AssertionSuccess();
}

std::string field(const rapidjson::Value& result, std::string_view key) {
  return std::string(core::json::get_string(result, key).value_or("<missing>"));
}

std::string header_value(const sigv4::Signed& ours, std::string_view name) {
  for (const auto& [header, value] : ours.headers) {
    if (header == name) return value;
  }
  return "<absent>";
}

TEST(SigV4Botocore, GeneratedRequestsMatchBotocore) {
  Rng rng(kSeed);
  std::vector<Case> cases;
  cases.push_back(golden_case());
  for (int id = 1; id <= kGeneratedCases; ++id) cases.push_back(generate(rng, id));

  BotocoreRun run;
  ASSERT_TRUE(run_botocore(cases, run));
  EXPECT_EQ(run.version.rfind("1.", 0), 0U)
      << "unexpected botocore version '" << run.version << "'";

  int compared = 0;
  int mismatches = 0;
  std::map<std::string, int> kinds;
  for (const auto& c : cases) {
    const auto found = run.results.find(c.id);
    if (found == run.results.end()) {
      ADD_FAILURE() << "botocore printed nothing for case " << c.id << ": " << to_json_line(c);
      ++mismatches;
      continue;
    }
    const rapidjson::Value& theirs = found->second;
    const sigv4::Signed ours = sign_ours(c);
    ++compared;
    ++kinds[c.kind];
    const std::string their_canonical = field(theirs, "canonical_request");
    const std::string their_signature = field(theirs, "signature");
    // SignedHeaders is the second-to-last line of the canonical request.
    const std::size_t last = their_canonical.rfind('\n');
    const std::size_t before = their_canonical.rfind('\n', last - 1);
    const std::string their_signed_headers = their_canonical.substr(before + 1, last - before - 1);
    const std::string expected_authorization =
        "AWS4-HMAC-SHA256 Credential=" + c.credentials.access_key_id + "/" +
        field(theirs, "timestamp").substr(0, 8) + "/" + c.options.region + "/" + c.options.service +
        "/aws4_request, SignedHeaders=" + their_signed_headers + ", Signature=" + their_signature;
    const bool same = ours.canonical_request == their_canonical &&
                      ours.string_to_sign == field(theirs, "string_to_sign") &&
                      ours.signature == their_signature &&
                      header_value(ours, "X-Amz-Date") == field(theirs, "timestamp") &&
                      header_value(ours, "Authorization") == expected_authorization;
    if (!same) {
      ++mismatches;
      ADD_FAILURE() << "case " << c.id << " (" << c.kind << ", seed " << kSeed
                    << ") differs from botocore " << run.version << "\n  input: " << to_json_line(c)
                    << "\n  ours canonical request:\n"
                    << ours.canonical_request << "\n  botocore canonical request:\n"
                    << their_canonical << "\n  ours string to sign:\n"
                    << ours.string_to_sign << "\n  botocore string to sign:\n"
                    << field(theirs, "string_to_sign") << "\n  signature ours " << ours.signature
                    << " botocore " << their_signature
                    << "\n  ours Authorization: " << header_value(ours, "Authorization")
                    << "\n  expected:           " << expected_authorization;
      if (mismatches >= 10) {
        ADD_FAILURE() << "stopping after 10 mismatches";
        break;
      }
    }
  }
  EXPECT_GE(compared, 200);
  std::cout << "[ BOTOCORE ] botocore " << run.version << ": " << compared << " cases compared, "
            << mismatches << " mismatches (seed " << kSeed << ")";
  for (const auto& [kind, count] : kinds) std::cout << "; " << kind << " " << count;
  std::cout << "\n";
}

// The generator must actually produce what the check claims to cover.
TEST(SigV4Botocore, GeneratorCoversTheAdvertisedShapes) {
  Rng rng(kSeed);
  int arns = 0, tokens = 0, sign_body = 0, duplicates = 0, folded = 0, non_ascii_query = 0,
      repeated_keys = 0, lower_hex = 0, dot_segments = 0, params_mode = 0;
  for (int id = 1; id <= kGeneratedCases; ++id) {
    const Case c = generate(rng, id);
    arns += c.path.find("arn%3Aaws") != std::string::npos;
    tokens += !c.credentials.session_token.empty();
    sign_body += c.options.sign_body;
    params_mode += c.query_mode == "params";
    std::map<std::string, int> names;
    for (const auto& [name, value] : c.headers) {
      std::string lower = name;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      ++names[lower];
      folded += value.find('\n') != std::string::npos;
    }
    for (const auto& [name, count] : names) duplicates += count > 1;
    non_ascii_query += c.query.find("%E1%88%B4") != std::string::npos ||
                       c.query.find("\xE1\x88\xB4") != std::string::npos;
    lower_hex += c.query.find("%e") != std::string::npos || c.path.find("%e") != std::string::npos;
    dot_segments +=
        c.path.find("/../") != std::string::npos || c.path.find("/./") != std::string::npos;
    std::map<std::string, int> keys;
    std::istringstream pairs(c.query);
    std::string pair;
    while (std::getline(pairs, pair, '&')) ++keys[pair.substr(0, pair.find('='))];
    for (const auto& [key, count] : keys) repeated_keys += count > 1;
  }
  EXPECT_GE(arns, 30);
  EXPECT_GE(tokens, 100);
  EXPECT_GE(sign_body, 30);
  EXPECT_GE(params_mode, 100);
  EXPECT_GE(duplicates, 30);
  EXPECT_GE(folded, 30);
  EXPECT_GE(non_ascii_query, 10);
  EXPECT_GE(repeated_keys, 10);
  EXPECT_GE(lower_hex, 10);
  EXPECT_GE(dot_segments, 10);
}

}  // namespace
