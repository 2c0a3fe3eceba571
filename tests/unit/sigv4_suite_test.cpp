// The AWS Signature Version 4 test suite (aws-c-auth's v4 folder, copied into
// shared/testdata/sigv4, see its README): one test per case folder, each
// checking every stage byte for byte — canonical request, string to sign,
// signature — and then the whole signed request (header-signed-request.txt),
// so a failure names the step that is wrong. The ctest names end in the
// folder name (…/get-vanilla), so `ctest -R get-vanilla` selects a case.
//
// Also here: the Lambda golden vector of shared/notes/aws.md §0 (an ARN in the
// path, a Qualifier, a session token) and edge cases of the signer.

#include "aws/sigv4.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/json.hpp"

namespace {

namespace fs = std::filesystem;
namespace sigv4 = aws::sigv4;

const fs::path kSuiteDir = SHARED_TESTDATA_DIR "/sigv4";
constexpr std::size_t kUpstreamCaseCount = 38;  // aws-c-auth v4/, README
constexpr const char* kMissingCase = "sigv4-testdata-missing";

// Cases not run, with the reason. Every case of the suite can be expressed
// through Options (normalize_path=false for the S3-style *-unnormalized
// cases, sign_body for post-x-www-form-urlencoded*, omit_session_token for
// post-sts-header-after), so none is left out. The presigned-URL (query-*)
// files were not copied into the testdata (README), so there is nothing of
// them to skip here.
const std::map<std::string, std::string> kExcluded = {};

const char* const kCaseFiles[] = {"context.json",
                                  "request.txt",
                                  "header-canonical-request.txt",
                                  "header-string-to-sign.txt",
                                  "header-signature.txt",
                                  "header-signed-request.txt"};

/// The parameter of one suite test. PrintTo prints the bare folder name, which
/// gtest_discover_tests puts in the ctest name (gtest's own parameter names
/// cannot hold '-').
struct SuiteCase {
  std::string name;
};

void PrintTo(const SuiteCase& suite_case, std::ostream* out) { *out << suite_case.name; }

std::vector<std::string> case_folders() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(kSuiteDir, error)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Never empty: a missing folder becomes one case that fails and says so.
std::vector<SuiteCase> suite_cases() {
  if (!fs::is_directory(kSuiteDir)) return {SuiteCase{kMissingCase}};
  std::vector<SuiteCase> cases;
  for (const auto& name : case_folders()) {
    if (kExcluded.count(name) == 0) cases.push_back(SuiteCase{name});
  }
  if (cases.empty()) return {SuiteCase{kMissingCase}};
  return cases;
}

std::string missing_message() {
  return "the SigV4 test suite is missing or empty at " + kSuiteDir.string() +
         " (expected the 38 aws-c-auth v4 case folders of shared/testdata/sigv4, see its "
         "README.md); this test fails rather than skips";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

/// request.txt as aws-c-auth's harness reads it: the request-line target taken
/// verbatim (the path is "on the wire" already), `Name:value` header lines
/// split at the first ':' with the rest as the raw value, a line starting with
/// whitespace continuing the previous value (newline included), then a blank
/// line and the body.
struct SuiteRequest {
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string head;  ///< request line and header lines, each ending in '\n'
  std::string body;
};

SuiteRequest parse_request(const std::string& text) {
  SuiteRequest out;
  const std::size_t blank = text.find("\n\n");
  if (blank == std::string::npos) {
    out.head = text;
  } else {
    out.head = text.substr(0, blank + 1);
    out.body = text.substr(blank + 2);
  }
  if (!out.head.empty() && out.head.back() != '\n') out.head.push_back('\n');

  std::istringstream lines(out.head);
  std::string line;
  std::getline(lines, line);
  const std::size_t method_end = line.find(' ');
  const std::size_t version = line.rfind(" HTTP/");
  out.method = line.substr(0, method_end);
  const std::string target = line.substr(method_end + 1, version - method_end - 1);
  const std::size_t question = target.find('?');
  out.path = target.substr(0, question);
  if (question != std::string::npos) out.query = target.substr(question + 1);

  while (std::getline(lines, line)) {
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !out.headers.empty()) {
      out.headers.back().second += "\n" + line;
      continue;
    }
    const std::size_t colon = line.find(':');
    out.headers.emplace_back(line.substr(0, colon),
                             colon == std::string::npos ? "" : line.substr(colon + 1));
  }
  return out;
}

struct SuiteContext {
  aws::Credentials credentials;
  sigv4::Options options;
  core::TimePoint at;
};

testing::AssertionResult parse_context(const std::string& text, SuiteContext& out) {
  auto document = core::json::parse(text);
  if (!document) return testing::AssertionFailure() << "context.json: " << document.error().detail;
  const rapidjson::Value& root = *document;
  const rapidjson::Value* credentials = core::json::get_object(root, "credentials");
  if (credentials == nullptr) return testing::AssertionFailure() << "context.json: no credentials";
  out.credentials.access_key_id =
      std::string(core::json::get_string(*credentials, "access_key_id").value_or(""));
  out.credentials.secret_access_key =
      std::string(core::json::get_string(*credentials, "secret_access_key").value_or(""));
  out.credentials.session_token =
      std::string(core::json::get_string(*credentials, "token").value_or(""));
  out.options.region = std::string(core::json::get_string(root, "region").value_or(""));
  out.options.service = std::string(core::json::get_string(root, "service").value_or(""));
  out.options.normalize_path = core::json::get_bool(root, "normalize").value_or(true);
  out.options.sign_body = core::json::get_bool(root, "sign_body").value_or(false);
  out.options.omit_session_token = core::json::get_bool(root, "omit_session_token").value_or(false);
  const auto timestamp = core::json::get_string(root, "timestamp");
  const auto at = timestamp ? core::parse_rfc3339(*timestamp) : std::nullopt;
  if (!at) return testing::AssertionFailure() << "context.json: bad or missing timestamp";
  out.at = *at;
  return testing::AssertionSuccess();
}

class SigV4SuiteCase : public testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4SuiteCase, MatchesEveryStage) {
  const std::string& name = GetParam().name;
  ASSERT_NE(name, kMissingCase) << missing_message();
  SCOPED_TRACE("suite case " + name);
  const fs::path dir = kSuiteDir / name;
  for (const char* file : kCaseFiles)
    ASSERT_TRUE(fs::exists(dir / file)) << dir / file << " is missing";

  SuiteContext context;
  ASSERT_TRUE(parse_context(read_file(dir / "context.json"), context));
  const SuiteRequest parsed = parse_request(read_file(dir / "request.txt"));

  sigv4::Request request;
  request.method = parsed.method;
  request.path = parsed.path;
  request.query = parsed.query;
  request.headers = parsed.headers;
  request.body = parsed.body;
  const sigv4::Signed result =
      sigv4::sign(request, context.credentials, context.options, context.at);

  EXPECT_EQ(result.canonical_request, read_file(dir / "header-canonical-request.txt"))
      << "stage 1: canonical request";
  EXPECT_EQ(result.string_to_sign, read_file(dir / "header-string-to-sign.txt"))
      << "stage 2: string to sign";
  EXPECT_EQ(result.signature, read_file(dir / "header-signature.txt")) << "stage 3: signature";

  // Stage 4: the request as sent — the original head, the added headers as
  // `Name:value` lines in our order, a blank line, the body.
  std::string signed_request = parsed.head;
  for (const auto& [header, value] : result.headers) signed_request += header + ":" + value + "\n";
  signed_request += "\n" + parsed.body;
  EXPECT_EQ(signed_request, read_file(dir / "header-signed-request.txt"))
      << "stage 4: signed request (added headers)";
}

INSTANTIATE_TEST_SUITE_P(Aws, SigV4SuiteCase, testing::ValuesIn(suite_cases()));

// Every folder is either run above or listed in kExcluded with a reason, and
// the folder holds the whole upstream suite.
TEST(SigV4SuiteInventory, EveryUpstreamCaseRunsOrIsListed) {
  ASSERT_TRUE(fs::is_directory(kSuiteDir)) << missing_message();
  const std::vector<std::string> folders = case_folders();
  EXPECT_EQ(folders.size(), kUpstreamCaseCount) << "case folders in " << kSuiteDir;
  std::set<std::string> run;
  for (const auto& suite_case : suite_cases()) run.insert(suite_case.name);
  for (const auto& folder : folders) {
    EXPECT_TRUE(run.count(folder) == 1 || kExcluded.count(folder) == 1)
        << folder << " is neither run nor listed in kExcluded";
  }
  for (const auto& [folder, reason] : kExcluded) {
    EXPECT_FALSE(reason.empty()) << folder << " is excluded without a reason";
    std::cout << "[ EXCLUDED ] " << folder << ": " << reason << "\n";
  }
  EXPECT_EQ(run.size() + kExcluded.size(), folders.size());
}

// ---------------------------------------------------------------------------
// The call we make: Lambda Invoke by function ARN (shared/notes/aws.md §0;
// botocore 1.29.27, botocore 1.43.11 and npm aws4 1.13.2 all produce it).

core::TimePoint at_20150830T123600Z() {
  using namespace std::chrono;
  return sys_days{year{2015} / August / 30} + hours{12} + minutes{36};
}

TEST(SigV4GoldenLambda, InvokeByArnWithQualifierAndSessionToken) {
  const std::string body = R"({"a":1})";
  sigv4::Request request;
  request.method = "POST";
  request.path =
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
      "invocations";
  request.query = "Qualifier=live";
  request.headers = {{"Host", "lambda.us-east-1.amazonaws.com"},
                     {"X-Amz-Invocation-Type", "RequestResponse"}};
  request.body = body;
  const aws::Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                     "TOKEN123", std::nullopt};
  sigv4::Options options;
  options.region = "us-east-1";

  const sigv4::Signed result = sigv4::sign(request, credentials, options, at_20150830T123600Z());

  EXPECT_EQ(result.canonical_request,
            "POST\n"
            "/2015-03-31/functions/"
            "arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Amy-fn/"
            "invocations\n"
            "Qualifier=live\n"
            "host:lambda.us-east-1.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n"
            "x-amz-invocation-type:RequestResponse\n"
            "x-amz-security-token:TOKEN123\n"
            "\n"
            "host;x-amz-date;x-amz-invocation-type;x-amz-security-token\n"
            "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862");
  EXPECT_EQ(result.string_to_sign,
            "AWS4-HMAC-SHA256\n"
            "20150830T123600Z\n"
            "20150830/us-east-1/lambda/aws4_request\n"
            "c5fb114e984cb1146e7e0abcd6eac6e0917e67e85e167562172106faecb0f08b");
  EXPECT_EQ(result.signature, "fc3d62d5241b3c6ecf35e9b28e751b04189dcfb530b7319e8f6663a28ebd7b5f");
  const std::vector<std::pair<std::string, std::string>> expected_headers = {
      {"X-Amz-Security-Token", "TOKEN123"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"Authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request, "
       "SignedHeaders=host;x-amz-date;x-amz-invocation-type;x-amz-security-token, "
       "Signature=fc3d62d5241b3c6ecf35e9b28e751b04189dcfb530b7319e8f6663a28ebd7b5f"}};
  EXPECT_EQ(result.headers, expected_headers);
}

// ---------------------------------------------------------------------------
// Edge cases the suite does not cover.

sigv4::Request vanilla_get() {
  sigv4::Request request;
  request.method = "GET";
  request.path = "/";
  request.headers = {{"Host", "example.amazonaws.com"}};
  return request;
}

const aws::Credentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                         "", std::nullopt};

sigv4::Options suite_options() {
  sigv4::Options options;
  options.region = "us-east-1";
  options.service = "service";
  return options;
}

std::string line_of(const std::string& canonical_request, int index) {
  std::istringstream lines(canonical_request);
  std::string line;
  for (int i = 0; i <= index; ++i) std::getline(lines, line);
  return line;
}

TEST(SigV4UriEncode, EncodesEverythingButUnreservedWithUpperCaseHex) {
  EXPECT_EQ(sigv4::uri_encode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(sigv4::uri_encode("a b+c/d:e%f", false), "a%20b%2Bc%2Fd%3Ae%25f");
  EXPECT_EQ(sigv4::uri_encode("a b+c/d:e%f", true), "a%20b%2Bc/d%3Ae%25f");
  EXPECT_EQ(sigv4::uri_encode("\xE1\x88\xB4", false), "%E1%88%B4");
  EXPECT_EQ(sigv4::uri_encode(std::string_view("\0\xff", 2), false), "%00%FF");
  EXPECT_EQ(sigv4::uri_encode("", true), "");
}

TEST(SigV4Query, EquivalentEncodingsSignTheSame) {
  sigv4::Request raw = vanilla_get();
  raw.query = "\xE1\x88\xB4=bar&b=%2f&a";
  sigv4::Request lower_hex = vanilla_get();
  lower_hex.query = "a=&%e1%88%b4=b%61r&b=%2F";
  const auto at = at_20150830T123600Z();
  const auto first = sigv4::sign(raw, kSuiteCredentials, suite_options(), at);
  const auto second = sigv4::sign(lower_hex, kSuiteCredentials, suite_options(), at);
  EXPECT_EQ(line_of(first.canonical_request, 2), "%E1%88%B4=bar&a=&b=%2F");
  EXPECT_EQ(first.canonical_request, second.canonical_request);
  EXPECT_EQ(first.signature, second.signature);
}

TEST(SigV4Query, SortsByKeyThenValueAndEncodesDollar) {
  sigv4::Request request = vanilla_get();
  request.query = "Qualifier=$LATEST&b=2&a=z&a=y&a=&plus=a+b&&bad=%zz%4";
  const auto result =
      sigv4::sign(request, kSuiteCredentials, suite_options(), at_20150830T123600Z());
  EXPECT_EQ(line_of(result.canonical_request, 2),
            "Qualifier=%24LATEST&a=&a=y&a=z&b=2&bad=%25zz%254&plus=a%2Bb");
}

TEST(SigV4Path, NormalisesDotSegmentsAndSlashesOnlyWhenAsked) {
  sigv4::Request request = vanilla_get();
  request.path = "/a//b/./c/../d%2Fe/";
  auto options = suite_options();
  const auto at = at_20150830T123600Z();
  EXPECT_EQ(line_of(sigv4::sign(request, kSuiteCredentials, options, at).canonical_request, 1),
            "/a/b/d%252Fe/");
  request.path = "/a/b/..";
  EXPECT_EQ(line_of(sigv4::sign(request, kSuiteCredentials, options, at).canonical_request, 1),
            "/a");
  request.path = "";
  EXPECT_EQ(line_of(sigv4::sign(request, kSuiteCredentials, options, at).canonical_request, 1),
            "/");
  options.normalize_path = false;
  request.path = "/a//b/./c/../d%2Fe/";
  EXPECT_EQ(line_of(sigv4::sign(request, kSuiteCredentials, options, at).canonical_request, 1),
            "/a//b/./c/../d%252Fe/");
}

TEST(SigV4Headers, FoldsWhitespaceJoinsRepeatsInOrderAndIgnoresSignerOwnedCopies) {
  sigv4::Request request = vanilla_get();
  request.headers = {{"HOST", "example.amazonaws.com"},
                     {"x-b", " \t two\r\n   words  "},
                     {"X-A", "second"},
                     {"x-a", "first"},
                     {"X-Amz-Date", "19990101T000000Z"},
                     {"Authorization", "stale"},
                     {"x-empty", "   "}};
  const auto result =
      sigv4::sign(request, kSuiteCredentials, suite_options(), at_20150830T123600Z());
  EXPECT_EQ(result.canonical_request,
            "GET\n/\n\n"
            "host:example.amazonaws.com\n"
            "x-a:second,first\n"
            "x-amz-date:20150830T123600Z\n"
            "x-b:two words\n"
            "x-empty:\n"
            "\n"
            "host;x-a;x-amz-date;x-b;x-empty\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4Date, DropsSubSecondsAndFormatsUtc) {
  using namespace std::chrono;
  const core::TimePoint at =
      sys_days{year{2026} / January / 2} + hours{3} + minutes{4} + seconds{5} + milliseconds{999};
  const auto result = sigv4::sign(vanilla_get(), kSuiteCredentials, suite_options(), at);
  ASSERT_GE(result.headers.size(), 1U);
  EXPECT_EQ(result.headers.front(),
            (std::pair<std::string, std::string>{"X-Amz-Date", "20260102T030405Z"}));
  EXPECT_NE(result.string_to_sign.find("\n20260102/us-east-1/service/aws4_request\n"),
            std::string::npos);
}

TEST(SigV4Body, SignBodyAddsTheContentHashAndOmitTokenLeavesTheTokenUnsigned) {
  sigv4::Request request = vanilla_get();
  request.method = "POST";
  request.body = "Param1=value1";
  aws::Credentials credentials = kSuiteCredentials;
  credentials.session_token = "tok";
  auto options = suite_options();
  options.sign_body = true;
  options.omit_session_token = true;
  const auto result = sigv4::sign(request, credentials, options, at_20150830T123600Z());
  ASSERT_EQ(result.headers.size(), 4U);
  EXPECT_EQ(result.headers[0].first, "X-Amz-Security-Token");
  EXPECT_EQ(result.headers[2],
            (std::pair<std::string, std::string>{
                "x-amz-content-sha256",
                "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"}));
  EXPECT_NE(result.headers[3].second.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"),
            std::string::npos);
}

TEST(SigV4Robustness, OddInputNeverThrows) {
  sigv4::Request request;
  request.method = "";
  request.path = std::string("\0/../..//%", 10);
  request.query = "&&=&%&%%&==&\xff=\x01";
  request.headers = {{"", ""}, {" ", "\n"}, {std::string("\0", 1), std::string("\0", 1)}};
  sigv4::Options options;  // empty region
  EXPECT_NO_THROW({
    const auto result = sigv4::sign(request, aws::Credentials{}, options, core::TimePoint{});
    EXPECT_EQ(result.signature.size(), 64U);
    EXPECT_EQ(result.headers.back().first, "Authorization");
  });
  options.normalize_path = false;
  EXPECT_NO_THROW(sigv4::sign(request, aws::Credentials{}, options, core::TimePoint::min()));
  EXPECT_NO_THROW(sigv4::sign(request, aws::Credentials{}, options, core::TimePoint::max()));
}

}  // namespace
