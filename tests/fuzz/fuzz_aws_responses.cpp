// infra::AwsBackend (INFRA_BACKEND=aws) reading hostile AWS answers: the real
// tagging, ECS, RDS and EC2 clients (aws::ServiceClient: signing, retries,
// error shapes, pugixml and RapidJSON readers, pagination guards) on a
// scripted HTTP client whose every answer comes from the fuzz input, with
// static credentials, a fixed clock and a sleeper that does not sleep.
//
// Input (tests/fuzz/README.md has the table):
//   byte 0        the backend call (low nibble % 11) and its options (high bits)
//   then chunks   separated by "\n%%\n", one HTTP answer each:
//                   byte 0  the AWS operation it answers (% 20; 0 = any, see kOperations)
//                   byte 1  low nibble: HTTP status or transport error;
//                           0x10 "@N@" in the body becomes the request's number,
//                           0x20 sticky: answers every later request it matches,
//                           0x40 no x-amzn-RequestId header,
//                           0x80 the body's first line is an x-amzn-ErrorType header
//                   rest    the body
// A request takes the first chunk queued for its operation, else the first
// queued for any; when none is left the connection is refused (retried).
//
// Invariants:
//  - nothing throws;
//  - every call returns a value or an Error whose user message is non-empty
//    valid UTF-8; the Slack message CommandRunner would post for it is valid
//    JSON within Slack's limits;
//  - the test's secret key and session token never appear in a user message,
//    an error detail, a Slack message, a log line, or a request other than as
//    the X-Amz-Security-Token header (unless the input itself holds them);
//  - pagination terminates: a listing sends at most (max_pages - 1) x 3
//    requests with a token after its first page, and one backend call sends
//    at most kMaxRequests;
//  - every request is signed with the test's credentials;
//  - only the calls an action needs are sent: status and list send only
//    Describe/Get; stop never starts (and the reverse); teardown --level=services
//    never touches EC2; reboot only reboots; a full teardown sends nothing;
//  - an ECS service is scaled to 0 only after its desired count was tagged
//    (TagResource on the same ARN answered 2xx); start never scales to 0;
//  - the allow-list only revokes or re-describes rules that some
//    DescribeSecurityGroupRules answer showed as the bot's (an ingress rule
//    with a CIDR whose description starts with "infra-bot:wl "), and only
//    authorizes tcp rules of one configured port with such a description
//    (for `whitelist add`, of the command's CIDR).
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <spdlog/sinks/base_sink.h>
#include <pugixml.hpp>

#include "aws/credentials.hpp"
#include "aws/ec2_client.hpp"
#include "aws/ecs_client.hpp"
#include "aws/rds_client.hpp"
#include "aws/service_client.hpp"
#include "aws/tagging_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "fake_clock.hpp"
#include "fuzz_support.hpp"
#include "infra/aws_backend.hpp"
#include "infra/views.hpp"
#include "scripted_http_client.hpp"
#include "slack/blockkit.hpp"

namespace {

using slack::blockkit::to_json;

constexpr std::string_view kSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzFuZzSeCrEt";
constexpr std::string_view kSessionToken =
    "IQoJb3JpZ2luX2VjEFuzzSessionTokenDoNotLeakAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
constexpr std::string_view kAccessKeyId = "AKIAFUZZEXAMPLE00001";
constexpr std::string_view kEnv = "dev";
constexpr std::string_view kChunkSeparator = "\n%%\n";
constexpr std::string_view kMarker = "infra-bot:wl ";
constexpr int kMaxAttempts = 3;  // aws::RetryPolicy's default
constexpr std::size_t kMaxRequests = 20000;

// The AWS operations a chunk can be routed to (chunk byte 0 % 20; 0 = any).
constexpr std::string_view kOperations[] = {
    "",                                            // 0: any
    "GetResources",                                // 1
    "DescribeServices",                            // 2
    "UpdateService",                               // 3
    "TagResource",                                 // 4
    "DescribeDBInstances",                         // 5
    "DescribeDBClusters",                          // 6
    "StopDBInstance",                              // 7
    "StartDBInstance",                             // 8
    "StopDBCluster",                               // 9
    "StartDBCluster",                              // 10
    "DescribeInstances",                           // 11
    "StopInstances",                               // 12
    "StartInstances",                              // 13
    "RebootInstances",                             // 14
    "DescribeSecurityGroups",                      // 15
    "DescribeSecurityGroupRules",                  // 16
    "AuthorizeSecurityGroupIngress",               // 17
    "RevokeSecurityGroupIngress",                  // 18
    "UpdateSecurityGroupRuleDescriptionsIngress",  // 19
};
constexpr int kRoutes = 20;

int route_of(std::string_view operation) {
  for (int i = 1; i < kRoutes; ++i) {
    if (kOperations[i] == operation) return i;
  }
  return -1;
}

bool read_only(std::string_view operation) {
  return operation.starts_with("Describe") || operation.starts_with("Get");
}

enum class Call { status, stop, start, teardown, reboot, add, remove, list, refresh, expire, full };
constexpr int kCalls = 11;
constexpr std::string_view kCallNames[] = {"status",
                                           "stop",
                                           "start",
                                           "teardown",
                                           "reboot",
                                           "add",
                                           "remove",
                                           "list",
                                           "refresh",
                                           "expire",
                                           "full teardown/spinup"};

class NoSleep final : public aws::Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds) override {}
};

// Log lines: one JSON object each, never holding the secret key or the
// session token (the logger has no redactor: the AWS code must not log them).
class SecretCheckingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  bool input_has_secret = false;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buffer;
    formatter_->format(msg, buffer);
    const std::string_view line(buffer.data(), buffer.size());
    rapidjson::Document document;
    document.Parse(line.data(), line.size());
    FUZZ_CHECK(!document.HasParseError() && document.IsObject(),
               "a JSON log line is not one JSON object: {:?}", line);
    if (!input_has_secret) {
      FUZZ_CHECK(line.find(kSecretKey) == std::string_view::npos &&
                     line.find(kSessionToken) == std::string_view::npos,
                 "a log line holds a credential: {:?}", line);
    }
  }
  void flush_() override {}
};

struct Fixed {
  test::FakeClock clock;
  NoSleep sleeper;
  std::unique_ptr<aws::CredentialsProvider> credentials =
      aws::make_static_credentials(aws::Credentials{
          std::string(kAccessKeyId), std::string(kSecretKey), std::string(kSessionToken), {}});
  std::shared_ptr<SecretCheckingSink> sink = std::make_shared<SecretCheckingSink>();
  core::LoggerPtr logger = core::make_logger("infra-bot", core::LogFormat::json,
                                             core::LogLevel::debug, {sink}, core::Redactor());
  infra::RequestContext context{"0b7c6f2e-3a1d-4c55-9e0f-5d2a8b1c9e47",
                                infra::Requester{"U012ALICE", "alice", "T0123TEAM", "C0123CHAN"}};
};

Fixed& fixed() {
  static Fixed* instance = new Fixed();  // never destroyed: no exit-time order to get wrong
  return *instance;
}

// ---------------------------------------------------------------------------
// The script: chunks of the input, queued per operation.

struct Chunk {
  int route = 0;
  int kind = 0;
  bool counter = false;
  bool sticky = false;
  bool request_id = true;
  bool error_type = false;
  std::string body;
};

std::vector<Chunk> split_chunks(std::string_view rest) {
  std::vector<Chunk> chunks;
  if (rest.empty()) return chunks;
  for (;;) {
    const auto end = rest.find(kChunkSeparator);
    const std::string_view raw = rest.substr(0, end);
    Chunk chunk;
    if (!raw.empty()) chunk.route = static_cast<unsigned char>(raw[0]) % kRoutes;
    if (raw.size() > 1) {
      const auto flags = static_cast<unsigned char>(raw[1]);
      chunk.kind = flags & 0x0F;
      chunk.counter = (flags & 0x10) != 0;
      chunk.sticky = (flags & 0x20) != 0;
      chunk.request_id = (flags & 0x40) == 0;
      chunk.error_type = (flags & 0x80) != 0;
    }
    if (raw.size() > 2) chunk.body = std::string(raw.substr(2));
    chunks.push_back(std::move(chunk));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + kChunkSeparator.size());
  }
  return chunks;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// What a chunk's low nibble means.
constexpr long kStatuses[] = {200, 200, 200, 200, 200, 200, 400, 403,
                              404, 429, 500, 503, 301, 0,   0,   0};

// ---------------------------------------------------------------------------
// Reading the requests back (independently of lib/aws).

struct Sent {
  std::string operation;
  bool json = false;
  std::vector<std::pair<std::string, std::string>> form;  // Query/EC2 parameters, decoded
  std::string body;
  long answered = 0;  // the status given (0: a transport error)
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string form_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    const auto eq = pair.find('=');
    out.emplace_back(form_decode(pair.substr(0, eq)), eq == std::string_view::npos
                                                          ? std::string()
                                                          : form_decode(pair.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return out;
}

std::string header_of(const core::http::Request& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return {};
}

Sent read_request(const core::http::Request& request) {
  Sent sent;
  sent.body = request.body;
  const std::string target = header_of(request, "X-Amz-Target");
  if (!target.empty()) {
    sent.json = true;
    const auto dot = target.rfind('.');
    sent.operation = dot == std::string::npos ? target : target.substr(dot + 1);
  } else {
    sent.form = parse_form(request.body);
    for (const auto& [name, value] : sent.form) {
      if (name == "Action") sent.operation = value;
    }
  }
  return sent;
}

std::vector<std::string> params_named(const Sent& sent, std::string_view prefix,
                                      std::string_view suffix = {}) {
  std::vector<std::string> out;
  for (const auto& [name, value] : sent.form) {
    if (name.starts_with(prefix) && name.ends_with(suffix)) out.push_back(value);
  }
  return out;
}

std::optional<std::string> param(const Sent& sent, std::string_view name) {
  for (const auto& [key, value] : sent.form) {
    if (key == name) return value;
  }
  return std::nullopt;
}

bool has_token(const Sent& sent) {
  if (sent.json) {
    auto document = core::json::parse(sent.body);
    return document && document->IsObject() && document->HasMember("PaginationToken");
  }
  return param(sent, "Marker").has_value() || param(sent, "NextToken").has_value();
}

// ---------------------------------------------------------------------------
// The allow-list rules an answer shows as the bot's (read like
// aws_backend_whitelist.cpp reads them: local names, trimmed text, first child).

std::string_view local(std::string_view name) {
  const auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node first_child(const pugi::xml_node& node, std::string_view name) {
  for (auto item = node.first_child(); item; item = item.next_sibling()) {
    if (item.type() == pugi::node_element && local(item.name()) == name) return item;
  }
  return {};
}

std::string trimmed(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return std::string(text.substr(first, last - first + 1));
}

// What the bot reads of a text value: AWS's answers are repaired to UTF-8 at the boundary
// (core::utf8_repair), so the ids it can act on are the repaired ones.
std::string child_text(const pugi::xml_node& node, std::string_view name) {
  const auto found = first_child(node, name);
  return found ? core::utf8_repair(trimmed(found.child_value())) : std::string();
}

void collect_bot_rules(const std::string& raw_body, std::set<std::string>& bot_rules) {
  const std::string body = core::utf8_repair(raw_body);
  pugi::xml_document document;
  if (!document.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8)) {
    return;
  }
  const auto set = first_child(document.document_element(), "securityGroupRuleSet");
  for (auto item = set.first_child(); item; item = item.next_sibling()) {
    if (item.type() != pugi::node_element || local(item.name()) != "item") continue;
    if (child_text(item, "isEgress") == "true") continue;
    if (child_text(item, "cidrIpv4").empty() && child_text(item, "cidrIpv6").empty()) continue;
    if (!child_text(item, "description").starts_with(kMarker)) continue;
    bot_rules.insert(child_text(item, "securityGroupRuleId"));
  }
}

// ---------------------------------------------------------------------------
// One backend call and what CommandRunner would post for it.

struct Options {
  Call call = Call::status;
  int max_pages = 100;
  bool flag = false;   // reboot: by name; add: no --description; full: spinup
  bool ipv6 = false;   // add, remove
  bool later = false;  // expire: a year later than the clock
};

infra::Cidr cidr_of(const Options& options) {
  return options.ipv6 ? infra::Cidr{"2001:db8:1::/48", 48, true}
                      : infra::Cidr{"203.0.113.7/32", 32, false};
}

infra::WhitelistAdd add_command(const Options& options) {
  infra::WhitelistAdd add;
  add.cidr = cidr_of(options);
  add.ttl = std::chrono::days(7);
  if (!options.flag) add.description = "Home office";
  add.env = std::string(kEnv);
  return add;
}

struct Outcome {
  bool ok = false;
  core::Error error;
  std::vector<slack::blockkit::Message> messages;
};

template <class T, class Render>
Outcome outcome_of(const infra::Command& command, const core::Result<T>& result, Render render) {
  if (!result) {
    return {false, result.error(), {infra::views::render_failure(command, result.error())}};
  }
  return {true, {}, {render(*result)}};
}

Outcome invoke(infra::AwsBackend& backend, const Options& options) {
  auto& f = fixed();
  const std::string env(kEnv);
  const auto now = f.clock.now();
  auto action = [](const auto& r) {
    return infra::views::for_channel(infra::views::render_action_result(r), "alice");
  };
  switch (options.call) {
    case Call::status:
      return outcome_of(infra::Status{env}, backend.status(env, f.context),
                        [](const auto& s) { return infra::views::render_status(s); });
    case Call::stop:
      return outcome_of(infra::Stop{env},
                        backend.run({infra::LifecycleAction::stop, env, std::nullopt}, f.context),
                        action);
    case Call::start:
      return outcome_of(infra::Start{env},
                        backend.run({infra::LifecycleAction::start, env, std::nullopt}, f.context),
                        action);
    case Call::teardown:
      return outcome_of(
          infra::Teardown{env, infra::TeardownLevel::services},
          backend.run({infra::LifecycleAction::teardown, env, infra::TeardownLevel::services},
                      f.context),
          action);
    case Call::reboot: {
      std::optional<std::string> name;
      if (options.flag) name = "bastion-dev";
      return outcome_of(
          infra::Reboot{env, name},
          backend.run({infra::LifecycleAction::reboot, env, std::nullopt, name}, f.context),
          action);
    }
    case Call::add: {
      const auto command = add_command(options);
      return outcome_of(command, backend.whitelist_add(command, f.context), [&](const auto& a) {
        FUZZ_CHECK(a.entry.cidr == command.cidr.text && a.environment == env,
                   "whitelist add answered for {} in {}", a.entry.cidr, a.environment);
        return infra::views::render_whitelist_added(a, now);
      });
    }
    case Call::remove: {
      const infra::WhitelistRemove command{cidr_of(options), env};
      return outcome_of(command, backend.whitelist_remove(command, f.context),
                        [](const auto& r) { return infra::views::render_whitelist_removed(r); });
    }
    case Call::list:
      return outcome_of(infra::WhitelistList{env}, backend.whitelist_list(env, f.context),
                        [&](const auto& l) { return infra::views::render_whitelist_list(l, now); });
    case Call::refresh:
      return outcome_of(infra::WhitelistRefresh{env}, backend.whitelist_refresh(env, f.context),
                        [](const auto& r) { return infra::views::render_whitelist_refreshed(r); });
    case Call::expire: {
      const auto at = options.later ? now + std::chrono::days(400) : now;
      auto expired = backend.whitelist_expire(env, at, f.context);
      if (!expired) {
        return {false,
                expired.error(),
                {infra::views::render_failure(infra::WhitelistRefresh{env}, expired.error())}};
      }
      Outcome outcome{true, {}, {}};
      for (const auto& entry : *expired) {
        FUZZ_CHECK(!entry.expires_at || *entry.expires_at <= at,
                   "expire returned {} which has not expired", entry.cidr);
        outcome.messages.push_back(infra::views::render_whitelist_expired(entry, env));
      }
      return outcome;
    }
    case Call::full: {
      const bool spinup = options.flag;
      const infra::LifecycleRequest request{
          spinup ? infra::LifecycleAction::spinup : infra::LifecycleAction::teardown, env,
          spinup ? std::nullopt : std::optional(infra::TeardownLevel::full)};
      FUZZ_CHECK(backend.unsupported(request).has_value(), "{} is supported natively",
                 spinup ? "spinup" : "full teardown");
      const infra::Command command =
          spinup ? infra::Command(infra::Spinup{env})
                 : infra::Command(infra::Teardown{env, infra::TeardownLevel::full});
      return outcome_of(command, backend.run(request, f.context), action);
    }
  }
  return {};
}

// FUZZ_AWS_TOLERATE_BAD_UTF8=1: while bug B5 (README) is open, ill-formed
// UTF-8 from an AWS answer in a user message or a Slack message is let
// through, so that a run can look for other bugs. Off by default.
bool tolerate_bad_utf8() {
  static const bool tolerate = std::getenv("FUZZ_AWS_TOLERATE_BAD_UTF8") != nullptr;
  return tolerate;
}

// `text` with every byte that is not part of well-formed UTF-8 replaced by '?'.
std::string scrub_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t length = 1;
    for (std::size_t n = 1; n <= 4 && i + n <= text.size(); ++n) {
      if (fuzz::valid_utf8(text.substr(i, n))) {
        length = n;
        break;
      }
      length = 0;
    }
    if (length == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The mutating operations `call` may send.
bool allowed(Call call, std::string_view operation) {
  if (read_only(operation)) return true;
  switch (call) {
    case Call::status:
    case Call::list:
    case Call::full:
      return false;
    case Call::stop:
      return operation == "UpdateService" || operation == "TagResource" ||
             operation == "StopDBInstance" || operation == "StopDBCluster" ||
             operation == "StopInstances";
    case Call::teardown:
      return operation == "UpdateService" || operation == "TagResource" ||
             operation == "StopDBInstance" || operation == "StopDBCluster";
    case Call::start:
      return operation == "UpdateService" || operation == "StartDBInstance" ||
             operation == "StartDBCluster" || operation == "StartInstances";
    case Call::reboot:
      return operation == "RebootInstances";
    case Call::add:
      return operation == "AuthorizeSecurityGroupIngress" ||
             operation == "UpdateSecurityGroupRuleDescriptionsIngress";
    case Call::remove:
    case Call::expire:
      return operation == "RevokeSecurityGroupIngress";
    case Call::refresh:
      return operation == "RevokeSecurityGroupIngress" ||
             operation == "AuthorizeSecurityGroupIngress";
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto& f = fixed();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Options options;
  options.call = static_cast<Call>((data[0] & 0x0F) % kCalls);
  options.max_pages = (data[0] & 0x10) != 0 ? 3 : 100;
  options.flag = (data[0] & 0x20) != 0;
  options.ipv6 = (data[0] & 0x40) != 0;
  options.later = (data[0] & 0x80) != 0;
  const std::string_view name = kCallNames[static_cast<int>(options.call)];
  // A body may hold the credentials (a dictionary word, a mutation): then an
  // echo of them is AWS's text, not a leak.
  const bool input_has_secret = contains(input, kSecretKey) || contains(input, kSessionToken);
  f.sink->input_has_secret = input_has_secret;

  std::array<std::deque<Chunk>, kRoutes> queues;
  for (auto& chunk : split_chunks(input.substr(1))) queues[chunk.route].push_back(std::move(chunk));

  test::ScriptedHttpClient http;
  // Per request: the status given (0: a transport error), and the body of a
  // DescribeSecurityGroupRules answer.
  std::vector<long> answered;
  std::vector<std::string> rule_answers;
  http.set_handler([&](const core::http::Request& request) -> test::ScriptedHttpClient::Answer {
    const std::size_t number = answered.size() + 1;
    FUZZ_CHECK(number <= kMaxRequests, "{}: more than {} HTTP requests", name, kMaxRequests);
    const Sent sent = read_request(request);
    const int route = route_of(sent.operation);
    FUZZ_CHECK(route > 0, "{}: a request for an unknown operation {:?}", name, sent.operation);
    auto& queue = !queues[route].empty() ? queues[route] : queues[0];
    rule_answers.emplace_back();
    if (queue.empty()) {
      answered.push_back(0);
      return core::make_error(core::ErrorCode::unavailable, "connection refused",
                              "scripted: no answer left");
    }
    const Chunk chunk = queue.front();
    if (!chunk.sticky) queue.pop_front();
    const long status = kStatuses[chunk.kind];
    answered.push_back(status);
    if (status == 0) {
      if (chunk.kind == 13) {
        return core::make_error(core::ErrorCode::unavailable, "Could not connect.",
                                "scripted: connect failed");
      }
      if (chunk.kind == 14) {
        return core::make_error(core::ErrorCode::indeterminate, "The request timed out.",
                                "scripted: read timed out");
      }
      return core::make_error(core::ErrorCode::invalid_input, "The response was too large.",
                              "scripted: response over the limit");
    }
    std::string body = chunk.body;
    if (chunk.counter) body = replace_all(std::move(body), "@N@", std::to_string(number));
    core::http::Headers headers;
    if (chunk.request_id) headers.emplace_back("x-amzn-RequestId", "7f8e9d0c-1b2a-4c3d-9e8f-0a1b");
    if (chunk.error_type) {
      const auto newline = body.find('\n');
      headers.emplace_back("x-amzn-ErrorType", body.substr(0, newline));
      body = newline == std::string::npos ? std::string() : body.substr(newline + 1);
    }
    if (status == 429) headers.emplace_back("Retry-After", "1");
    if (sent.operation == "DescribeSecurityGroupRules") rule_answers.back() = body;
    return core::http::Response{status, std::move(headers), std::move(body)};
  });

  // The four clients as make_aws_backend builds them, with the page cap chosen.
  auto client = [&](const aws::ServiceSpec& spec) {
    aws::ServiceSettings settings;
    settings.region = "eu-west-1";
    auto created = aws::ServiceClient::create(spec, std::move(settings), http, *f.credentials,
                                              f.clock, f.sleeper, f.logger);
    FUZZ_CHECK(created.has_value(), "ServiceClient::create failed");
    return std::move(*created);
  };
  infra::AwsApis apis;
  aws::TaggingSettings tagging;
  tagging.max_pages = options.max_pages;
  apis.tagging = std::make_unique<aws::TaggingClient>(client(aws::kTaggingService), tagging);
  apis.ecs = std::make_unique<aws::EcsClient>(client(aws::kEcsService));
  apis.rds = std::make_unique<aws::RdsClient>(client(aws::kRdsService), options.max_pages);
  apis.ec2 = std::make_unique<aws::Ec2Client>(client(aws::kEc2Service), options.max_pages);
  infra::AwsBackend backend(infra::AwsBackendSettings{"Environment", {80, 443, 7233}, "eu-west-1"},
                            std::move(apis), f.clock, f.logger);

  Outcome outcome;
  try {
    outcome = invoke(backend, options);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "{} threw: {}", name, e.what());
  } catch (...) {
    FUZZ_CHECK(false, "{} threw a non-std exception", name);
  }

  // FUZZ_AWS_VERBOSE=1: what was asked and answered, and the outcome (triage).
  static const bool verbose = std::getenv("FUZZ_AWS_VERBOSE") != nullptr;
  if (verbose) {
    const auto sent = http.requests();
    for (std::size_t i = 0; i < sent.size(); ++i) {
      fmt::print(stderr, "==fuzz== {} request {}: {} -> {}\n", name, i + 1,
                 read_request(sent[i]).operation, answered[i]);
    }
    fmt::print(stderr, "==fuzz== {}: {}\n", name,
               outcome.ok
                   ? std::string("ok")
                   : fmt::format("error {}: {:?} ({:?})", core::to_string(outcome.error.code),
                                 outcome.error.user_message, outcome.error.detail));
    for (const auto& message : outcome.messages) {
      fmt::print(stderr, "==fuzz== {}: posts {}\n", name, to_json(message));
    }
  }

  // The result.
  if (!outcome.ok) {
    FUZZ_CHECK(!outcome.error.user_message.empty(), "{}: an error without a user message ({})",
               name, outcome.error.detail);
    FUZZ_CHECK(tolerate_bad_utf8() || fuzz::valid_utf8(outcome.error.user_message),
               "{}: user message {:?} is not valid UTF-8", name, outcome.error.user_message);
  }
  if (!input_has_secret) {
    for (const std::string_view secret : {kSecretKey, kSessionToken}) {
      FUZZ_CHECK(
          !contains(outcome.error.user_message, secret) && !contains(outcome.error.detail, secret),
          "{}: an error holds a credential: {:?} / {:?}", name, outcome.error.user_message,
          outcome.error.detail);
    }
  }
  for (const auto& message : outcome.messages) {
    const std::string json = to_json(message);
    const std::string problem =
        fuzz::slack_json_problem(tolerate_bad_utf8() ? scrub_utf8(json) : json);
    FUZZ_CHECK(problem.empty(), "{}: the Slack message is unusable: {}\n{}", name, problem, json);
    if (!input_has_secret) {
      FUZZ_CHECK(!contains(json, kSecretKey) && !contains(json, kSessionToken),
                 "{}: the Slack message holds a credential: {}", name, json);
    }
  }

  // The requests.
  const auto requests = http.requests();
  FUZZ_CHECK(requests.size() == answered.size(), "{}: {} requests, {} answered", name,
             requests.size(), answered.size());
  if (options.call == Call::full) {
    FUZZ_CHECK(requests.empty(), "{}: sent {} requests", name, requests.size());
    FUZZ_CHECK(!outcome.ok, "{} succeeded on the aws backend", name);
  }
  const std::size_t max_token_requests =
      static_cast<std::size_t>(options.max_pages - 1) * kMaxAttempts;
  std::map<std::string, std::size_t>
      token_run;                      // per operation: token requests since its first page
  std::set<std::string> bot_rules;    // rule ids some answer showed as the bot's
  std::set<std::string> tagged_arns;  // TagResource answered 2xx
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& request = requests[i];
    const Sent sent = read_request(request);
    const std::string_view op = sent.operation;

    const std::string authorization = header_of(request, "Authorization");
    FUZZ_CHECK(authorization.starts_with("AWS4-HMAC-SHA256 Credential=") &&
                   contains(authorization, kAccessKeyId),
               "{}: request {} ({}) is not signed: {:?}", name, i + 1, op, authorization);
    FUZZ_CHECK(header_of(request, "X-Amz-Security-Token") == kSessionToken,
               "{}: request {} ({}) has no session token", name, i + 1, op);
    // A name AWS answered may hold the credential's text (the fuzzer writes it in an ARN), and
    // the next request names it again: only an input without them proves a leak.
    FUZZ_CHECK(
        input_has_secret ||
            (!contains(request.url, kSecretKey) && !contains(request.body, kSecretKey) &&
             !contains(request.url, kSessionToken) && !contains(request.body, kSessionToken)),
        "{}: request {} ({}) holds a credential", name, i + 1, op);
    for (const auto& [key, value] : request.headers) {
      FUZZ_CHECK(!contains(value, kSecretKey), "{}: header {} holds the secret key", name, key);
    }

    // Pagination. (The same request several times in a row is not checked:
    // one identifier listed under two ARNs is described twice, see README B6.)
    if (has_token(sent)) {
      const std::size_t run = ++token_run[std::string(op)];
      FUZZ_CHECK(run <= max_token_requests,
                 "{}: {} paginated past {} pages ({} requests with a token)", name, op,
                 options.max_pages, run);
    } else {
      token_run[std::string(op)] = 0;
    }

    // Only what the action needs.
    FUZZ_CHECK(allowed(options.call, op), "{}: sent {} (request {})", name, op, i + 1);
    const bool ok = answered[i] >= 200 && answered[i] < 300;
    if (op == "TagResource") {
      auto document = core::json::parse(sent.body);
      FUZZ_CHECK(document && document->IsObject(), "{}: TagResource body {:?}", name, sent.body);
      const auto arn = core::json::get_string(*document, "resourceArn");
      FUZZ_CHECK(arn.has_value(), "{}: TagResource without an ARN", name);
      const auto* tags = core::json::get_array(*document, "tags");
      FUZZ_CHECK(tags != nullptr && tags->Size() == 1, "{}: TagResource tags {:?}", name,
                 sent.body);
      const auto& tag = (*tags)[0];
      const auto key = core::json::get_string(tag, "key");
      const auto value = core::json::get_string(tag, "value");
      FUZZ_CHECK(key == "infra-bot:desired-count" && value && !value->empty() &&
                     value->find_first_not_of("0123456789") == std::string_view::npos &&
                     value->front() != '0',
                 "{}: TagResource {:?}", name, sent.body);
      if (ok) tagged_arns.insert(std::string(*arn));
    }
    if (op == "UpdateService") {
      auto document = core::json::parse(sent.body);
      FUZZ_CHECK(document && document->IsObject(), "{}: UpdateService body {:?}", name, sent.body);
      const auto count = core::json::get_int(*document, "desiredCount");
      const auto service = core::json::get_string(*document, "service");
      FUZZ_CHECK(count.has_value() && service.has_value(), "{}: UpdateService {:?}", name,
                 sent.body);
      if (options.call == Call::start) {
        FUZZ_CHECK(*count >= 1, "{}: start scaled {} to {}", name, *service, *count);
      } else {
        FUZZ_CHECK(*count == 0, "{}: {} scaled {} to {}", name, name, *service, *count);
        FUZZ_CHECK(tagged_arns.contains(std::string(*service)),
                   "{}: {} scaled to 0 before its desired count was tagged", name, *service);
      }
    }
    if (op == "AuthorizeSecurityGroupIngress") {
      FUZZ_CHECK(param(sent, "GroupId").has_value(), "{}: Authorize without a group", name);
      for (int n = 1;; ++n) {
        const std::string prefix = "IpPermissions." + std::to_string(n) + ".";
        const auto protocol = param(sent, prefix + "IpProtocol");
        if (!protocol) {
          FUZZ_CHECK(n > 1, "{}: Authorize without a rule: {:?}", name, sent.body);
          break;
        }
        const auto from = param(sent, prefix + "FromPort");
        const auto to = param(sent, prefix + "ToPort");
        FUZZ_CHECK(*protocol == "tcp" && from && from == to &&
                       (from == "80" || from == "443" || from == "7233"),
                   "{}: Authorize rule {}: {:?}", name, n, sent.body);
        const auto v4 = param(sent, prefix + "IpRanges.1.CidrIp");
        const auto v6 = param(sent, prefix + "Ipv6Ranges.1.CidrIpv6");
        const auto description = v4 ? param(sent, prefix + "IpRanges.1.Description")
                                    : param(sent, prefix + "Ipv6Ranges.1.Description");
        FUZZ_CHECK((v4.has_value() != v6.has_value()) && description &&
                       description->starts_with(kMarker) && description->size() <= 255,
                   "{}: Authorize rule {} is not the bot's: {:?}", name, n, sent.body);
        if (options.call == Call::add) {
          FUZZ_CHECK((v4 ? *v4 : *v6) == cidr_of(options).text, "{}: authorized {} for {}", name,
                     v4 ? *v4 : *v6, cidr_of(options).text);
        }
      }
    }
    if (op == "RevokeSecurityGroupIngress") {
      const auto ids = params_named(sent, "SecurityGroupRuleId.");
      FUZZ_CHECK(!ids.empty(), "{}: Revoke without a rule: {:?}", name, sent.body);
      for (const auto& id : ids) {
        FUZZ_CHECK(bot_rules.contains(id), "{}: revoked rule {:?}, not shown as the bot's", name,
                   id);
      }
    }
    if (op == "UpdateSecurityGroupRuleDescriptionsIngress") {
      const auto ids = params_named(sent, "SecurityGroupRuleDescription.", ".SecurityGroupRuleId");
      const auto texts = params_named(sent, "SecurityGroupRuleDescription.", ".Description");
      FUZZ_CHECK(!ids.empty() && ids.size() == texts.size(), "{}: descriptions {:?}", name,
                 sent.body);
      for (std::size_t k = 0; k < ids.size(); ++k) {
        FUZZ_CHECK(bot_rules.contains(ids[k]) && texts[k].starts_with(kMarker),
                   "{}: re-described rule {:?} as {:?}", name, ids[k], texts[k]);
      }
    }
    // The rules this answer showed (after the checks: a rule must have been
    // shown by an earlier answer).
    if (op == "DescribeSecurityGroupRules" && ok) collect_bot_rules(rule_answers[i], bot_rules);
  }
  return 0;
}
