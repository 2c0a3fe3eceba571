// Micro benchmarks of the pure hot paths of infra-bot (issue 8, item 1): command parsing, the
// policy, Socket Mode envelope parsing, Block Kit rendering, SigV4 signing, App::on_envelope of a
// refused command (the ack-only path on the socket thread), canonical JSON and the Socket Mode
// ack routes (AckRouter: remember, find and keep of one envelope at the cap).
//
// Build (Release; the option is INFRA_BOT_BENCH, ON by default) and run:
//
//   cmake -S . -B build-micro -G Ninja -DCMAKE_BUILD_TYPE=Release -DINFRA_BOT_BENCH=ON
//   cmake --build build-micro --target micro_bench
//   build-micro/bench/micro_bench --benchmark_repetitions=5
//   --benchmark_display_aggregates_only=true
//
// Quote the *_median rows (≥ 3 repetitions) on a quiet machine (`uptime` load well under 1).
// `--benchmark_filter=parse_` runs one group.
//
// Fixtures are read once at startup from proto-fixtures/ next to this file's source tree
// (found through __FILE__); set INFRA_FIXTURES_DIR=/path/to/proto-fixtures to point elsewhere.
//
// allocs/op: every heap allocation made by the benchmark thread per iteration — operator new
// (all forms, replaced below) plus malloc/calloc/realloc(nullptr) (replaced below too, because
// RapidJSON and fmt allocate with malloc, not new). Counting is thread-local, so the App's idle
// worker threads do not disturb it; the replacements forward to glibc's allocator, which is how
// glibc documents replacing malloc in the main program. The counters cost a few ns per
// allocation, which the ns/op figures include.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "ack_router.hpp"  // lib/slack/src: private, white-box
#include "audit_record.hpp"
#include "aws/credentials.hpp"
#include "aws/sigv4.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/redactor.hpp"
#include "core/scheduler.hpp"
#include "infra/command_parser.hpp"
#include "infra/command_runner.hpp"
#include "infra/policy.hpp"
#include "infra/simulated_backend.hpp"
#include "infra/views.hpp"
#include "slack/blockkit.hpp"
#include "slack/envelope.hpp"
#include "slack/web_api.hpp"
#include "slack_front/app.hpp"

// ---- allocation counting ----------------------------------------------------------------------

namespace {
constinit thread_local std::uint64_t t_allocations = 0;
}  // namespace

// Sanitizer builds bring their own allocator: count nothing there (allocs/op reads 0).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define INFRA_BENCH_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define INFRA_BENCH_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef INFRA_BENCH_COUNT_ALLOCATIONS
#define INFRA_BENCH_COUNT_ALLOCATIONS 1
#endif

#if INFRA_BENCH_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(std::size_t size);  // NOLINT: glibc's own allocator entry points
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void __libc_free(void* p);
void* __libc_memalign(std::size_t alignment, std::size_t size);

void* malloc(std::size_t size) noexcept {
  ++t_allocations;
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  ++t_allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  if (p == nullptr) ++t_allocations;  // a growth in place or a move is not a new allocation
  return __libc_realloc(p, size);
}
void free(void* p) noexcept { __libc_free(p); }
}

namespace {
void* counted_new(std::size_t size) {
  ++t_allocations;
  if (size == 0) size = 1;
  if (void* p = __libc_malloc(size)) return p;
  throw std::bad_alloc();
}
void* counted_new_aligned(std::size_t size, std::align_val_t alignment) {
  ++t_allocations;
  if (size == 0) size = 1;
  if (void* p = __libc_memalign(static_cast<std::size_t>(alignment), size)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return counted_new(size); }
void* operator new[](std::size_t size) { return counted_new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted_new(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted_new(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t alignment) {
  return counted_new_aligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return counted_new_aligned(size, alignment);
}
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
#endif  // INFRA_BENCH_COUNT_ALLOCATIONS

namespace {

/// Counts the heap allocations of one benchmark's timed loop and reports allocs/op.
class AllocationScope {
 public:
  explicit AllocationScope(benchmark::State& state) : state_(state), start_(t_allocations) {}
  ~AllocationScope() {
    const auto n = static_cast<double>(t_allocations - start_);
    state_.counters["allocs/op"] = benchmark::Counter(n, benchmark::Counter::kAvgIterations);
  }
  AllocationScope(const AllocationScope&) = delete;
  AllocationScope& operator=(const AllocationScope&) = delete;

 private:
  benchmark::State& state_;
  std::uint64_t start_;
};

// ---- fixtures -----------------------------------------------------------------------------------

std::filesystem::path fixtures_dir() {
  if (const char* dir = std::getenv("INFRA_FIXTURES_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "proto-fixtures";
}

std::string read_fixture(const std::string& relative) {
  const auto path = fixtures_dir() / relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "micro_bench: cannot read " << path << " (set INFRA_FIXTURES_DIR)\n";
    std::exit(2);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Read at startup (static initialisation, before any benchmark runs).
const std::string kSlashStatusFrame = read_fixture("slack/slash_command_status.json");
const std::string kViewSubmissionFrame = read_fixture("slack/view_submission_teardown.json");
const std::string kStatusGolden = read_fixture("blockkit/status_running.json");

const infra::ParserSettings kSettings;

// ---- command parsing ----------------------------------------------------------------------------

void run_parse(benchmark::State& state, std::string_view text, bool expect_ok) {
  {
    const auto check = infra::parse_command(text, kSettings);
    if (static_cast<bool>(check) != expect_ok) {
      state.SkipWithError("unexpected parse outcome");
      return;
    }
  }
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto parsed = infra::parse_command(text, kSettings);
    benchmark::DoNotOptimize(parsed);
  }
}

void parse_status_default(benchmark::State& state) { run_parse(state, "status", true); }
BENCHMARK(parse_status_default);

void parse_status_env(benchmark::State& state) { run_parse(state, "status staging", true); }
BENCHMARK(parse_status_env);

void parse_stop(benchmark::State& state) { run_parse(state, "stop dev", true); }
BENCHMARK(parse_stop);

void parse_teardown_full(benchmark::State& state) {
  run_parse(state, "teardown staging --level=full", true);
}
BENCHMARK(parse_teardown_full);

// Curly quotes and an HTML entity, as Slack clients send them.
void parse_whitelist_add_v4(benchmark::State& state) {
  run_parse(state,
            "whitelist add 203.0.113.7 --ttl=7d --description=\xE2\x80\x98Home office &amp; "
            "VPN\xE2\x80\x99 --env=staging",
            true);
}
BENCHMARK(parse_whitelist_add_v4);

void parse_whitelist_add_v6(benchmark::State& state) {
  run_parse(state,
            "whitelist add 2001:db8::/48 --ttl=12h --description=\xE2\x80\x9CHome &amp; "
            "office\xE2\x80\x9D --env=staging",
            true);
}
BENCHMARK(parse_whitelist_add_v6);

// Rejections: the message names the problem and the fix.
void parse_error_unknown_env(benchmark::State& state) { run_parse(state, "stop qa", false); }
BENCHMARK(parse_error_unknown_env);

void parse_error_bad_ttl(benchmark::State& state) {
  run_parse(state, "whitelist add 203.0.113.7 --ttl=3w", false);
}
BENCHMARK(parse_error_bad_ttl);

void parse_error_host_bits(benchmark::State& state) {
  run_parse(state, "whitelist add 10.1.2.3/16", false);
}
BENCHMARK(parse_error_host_bits);

void parse_error_unknown_command(benchmark::State& state) {
  run_parse(state, "frobnicate the widgets", false);
}
BENCHMARK(parse_error_unknown_command);

// ---- policy
// ---------------------------------------------------------------------------------------

/// 100 allowed users U00000000…U00000099: Slack-shaped ids of one length, so that no comparison
/// is decided by the size alone.
std::vector<std::string> hundred_users() {
  std::vector<std::string> users;
  for (int i = 0; i < 100; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "U%08d", i);
    users.emplace_back(id);
  }
  return users;
}

infra::PolicySettings policy_settings(std::chrono::seconds cooldown) {
  infra::PolicySettings settings;
  settings.allowed_users = hundred_users();
  settings.cooldown = cooldown;
  return settings;
}

const infra::Requester kUser50{"U00000050", "alice", "T0123ABCD", "C0123ABCD"};
const infra::Requester kUser99{"U00000099", "zoe", "T0123ABCD", "C0123ABCD"};
const infra::Requester kStranger{"U0STRANGE", "mallory", "T0123ABCD", "C0123ABCD"};

void run_policy_check(benchmark::State& state, const infra::Command& command,
                      const infra::Requester& who, bool expect_allowed) {
  core::SystemClock clock;
  infra::Policy policy(policy_settings(std::chrono::seconds(30)), clock);
  if (policy.check(command, who).allowed() != expect_allowed) {
    state.SkipWithError("unexpected policy decision");
    return;
  }
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto decision = policy.check(command, who);
    benchmark::DoNotOptimize(decision);
  }
}

void policy_check_allowed_user50(benchmark::State& state) {
  run_policy_check(state, infra::Stop{"dev"}, kUser50, true);
}
BENCHMARK(policy_check_allowed_user50);

void policy_check_allowed_user99(benchmark::State& state) {
  run_policy_check(state, infra::Status{"staging"}, kUser99, true);
}
BENCHMARK(policy_check_allowed_user99);

void policy_check_denied_not_allowed(benchmark::State& state) {
  run_policy_check(state, infra::Stop{"dev"}, kStranger, false);
}
BENCHMARK(policy_check_denied_not_allowed);

void policy_check_denied_protected(benchmark::State& state) {
  run_policy_check(state, infra::Stop{"prod"}, kUser50, false);
}
BENCHMARK(policy_check_denied_protected);

// admit = check + record under one lock. Without a cooldown every call is admitted.
void policy_admit_allowed(benchmark::State& state) {
  core::SystemClock clock;
  infra::Policy policy(policy_settings(std::chrono::seconds(0)), clock);
  const infra::Command command = infra::Stop{"dev"};
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto decision = policy.admit(command, kUser50);
    benchmark::DoNotOptimize(decision);
  }
}
BENCHMARK(policy_admit_allowed);

// With the default 30 s cooldown: the first call is admitted, every later one is refused with
// the seconds left (the repeat-click path).
void policy_admit_cooldown(benchmark::State& state) {
  core::SystemClock clock;
  infra::Policy policy(policy_settings(std::chrono::seconds(30)), clock);
  const infra::Command command = infra::Stop{"dev"};
  if (!policy.admit(command, kUser50).allowed() || policy.admit(command, kUser50).allowed()) {
    state.SkipWithError("unexpected cooldown decision");
    return;
  }
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto decision = policy.admit(command, kUser50);
    benchmark::DoNotOptimize(decision);
  }
}
BENCHMARK(policy_admit_cooldown);

// ---- Socket Mode envelope parsing --------------------------------------------------------------

void run_parse_frame(benchmark::State& state, const std::string& text) {
  {
    auto check = slack::parse_frame(text);
    if (!check || !std::holds_alternative<slack::Envelope>(*check)) {
      state.SkipWithError("fixture is not an envelope");
      return;
    }
  }
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto frame = slack::parse_frame(text);
    benchmark::DoNotOptimize(frame);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}

void envelope_slash_command_status(benchmark::State& state) {
  run_parse_frame(state, kSlashStatusFrame);
}
BENCHMARK(envelope_slash_command_status);

void envelope_view_submission_teardown(benchmark::State& state) {
  run_parse_frame(state, kViewSubmissionFrame);
}
BENCHMARK(envelope_view_submission_teardown);

// ---- ack-path helpers: metrics, request ids, log lines
// -------------------------------------------

// One counter update the way the ack path made it before handles: name and labels looked up
// under the registry's lock (the Labels vector built per call, as a caller does).
void metrics_increment_by_name(benchmark::State& state) {
  core::metrics::Registry registry;
  registry.declare_counter("infra_envelopes_total", "Envelopes.");
  AllocationScope allocations(state);
  for (auto _ : state) {
    registry.increment("infra_envelopes_total", {{"type", "slash_commands"}});
  }
}
BENCHMARK(metrics_increment_by_name);

// The same update through a handle resolved once: one atomic add.
void metrics_increment_handle(benchmark::State& state) {
  core::metrics::Registry registry;
  registry.declare_counter("infra_envelopes_total", "Envelopes.");
  const auto envelopes = registry.counter("infra_envelopes_total", {{"type", "slash_commands"}});
  AllocationScope allocations(state);
  for (auto _ : state) envelopes.increment();
}
BENCHMARK(metrics_increment_handle);

void metrics_observe_histogram_handle(benchmark::State& state) {
  core::metrics::Registry registry;
  registry.declare_histogram("infra_ack_latency_seconds", "Ack latency.",
                             {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
  const auto latency = registry.histogram("infra_ack_latency_seconds");
  AllocationScope allocations(state);
  double value = 0.0001;
  for (auto _ : state) {
    latency.observe(value);
    value = value < 1 ? value * 1.5 : 0.0001;
  }
}
BENCHMARK(metrics_observe_histogram_handle);

void request_id_uuid_source(benchmark::State& state) {
  core::UuidSource ids;
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto id = ids.next();
    benchmark::DoNotOptimize(id);
  }
}
BENCHMARK(request_id_uuid_source);

void request_id_counter_uuid_source(benchmark::State& state) {
  core::CounterUuidSource ids;
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto id = ids.next();
    benchmark::DoNotOptimize(id);
  }
}
BENCHMARK(request_id_counter_uuid_source);

// The refused command's audit record (its fields as App writes them) formatted as a JSON
// line inside a RequestScope, into a BatchingSink flushed every 16 lines to a writer that
// drops the bytes: formatting and buffering, not the write(2).
void log_audit_line_batched(benchmark::State& state) {
  std::size_t written = 0;
  auto sink = std::make_shared<core::BatchingSink>(
      [&written](std::string_view batch) { written += batch.size(); });
  auto audit = core::make_logger("audit", core::LogFormat::json, core::LogLevel::info, {sink},
                                 core::Redactor({"xoxb-1-bench", "xapp-1-bench"}),
                                 core::Payload::json_object);
  const std::string record =
      R"({"event":"command","source":"slash_command","request_id":"81896ca5-0f63-43e3-bc17-7ae9761d96a4",)"
      R"("team_id":"T0123ABCD","user_id":"U0456EFGH","user_name":"alice","channel_id":"C0123ABCD",)"
      R"("command":"stop prod","action":"stop","environment":"prod","decision":"denied",)"
      R"("reason":"protected_environment","backend":"simulated","outcome":"refused","duration_ms":0})";
  AllocationScope allocations(state);
  int lines = 0;
  for (auto _ : state) {
    core::RequestScope scope("81896ca5-0f63-43e3-bc17-7ae9761d96a4");
    audit->info(record);
    if (++lines % 16 == 0) sink->flush();
  }
  sink->flush();
  benchmark::DoNotOptimize(written);
}
BENCHMARK(log_audit_line_batched);

// ---- redaction of outbound texts (issue 15)
// ------------------------------------------------------

// Twenty registered secrets, shaped like what the bot registers: Slack tokens from the
// configuration, and AWS key ids, secret keys and session tokens as the credential chain learns
// them (a few refreshes' worth). Deterministic, so every run redacts the same thing.
std::vector<std::string> twenty_secrets() {
  static constexpr std::string_view kBase64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::uint32_t seed = 12345;
  const auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  const auto random_text = [&](std::size_t size) {
    std::string text;
    for (std::size_t i = 0; i < size; ++i) text.push_back(kBase64[next() % 64]);
    return text;
  };
  std::vector<std::string> secrets = {
      "xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
      "xapp-1-A0123ABCDEF-1234567890123-0123456789abcdef0123456789abcdef0123456789abcdef"};
  for (int set = 0; set < 6; ++set) {
    secrets.push_back("ASIA" + random_text(16));
    secrets.push_back(random_text(40));                                      // secret access key
    secrets.push_back(random_text(40) + random_text(40) + random_text(40));  // session token
  }
  return secrets;
}

// The help reply as it is sent: compact Block Kit JSON, 1.5 KB of ordinary text.
std::string help_reply() {
  auto document = core::json::parse(read_fixture("blockkit/help.json"));
  if (!document) std::exit(2);
  return core::json::to_string(*document);
}

// A Lambda error relayed in a reply, 1.3 KB, holding five secrets: a registered secret key raw
// and URL-encoded, a bot token, a key id, and an unregistered secret key after its label.
std::string lambda_error_reply(const std::vector<std::string>& secrets) {
  std::string encoded;
  for (char c : secrets[3]) {
    if (c == '/')
      encoded += "%2F";
    else if (c == '+')
      encoded += "%2B";
    else
      encoded += c;
  }
  std::string text = help_reply().substr(0, 1000);
  text += " Lambda docustack-orchestrator failed: botocore.exceptions.ClientError: signature for " +
          secrets[2] + " with " + secrets[3] + " rejected; url=https://example.com/?k=" + encoded +
          " slack=xoxb-1234_5678/abc env aws_secret_access_key = "
          "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end";
  return text;
}

void run_redact(benchmark::State& state, const core::Redactor& redactor, const std::string& text) {
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto redacted = redactor.redact(text);
    benchmark::DoNotOptimize(redacted);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}

const core::Redactor& shared_redactor() {
  static const core::Redactor redactor(twenty_secrets());
  return redactor;
}

void redact_reply_20_secrets_no_match(benchmark::State& state) {
  static const std::string text = help_reply();
  run_redact(state, shared_redactor(), text);
}
BENCHMARK(redact_reply_20_secrets_no_match);
// Two threads on one redactor: what sharing it between the logger and the front costs.
BENCHMARK(redact_reply_20_secrets_no_match)->Threads(2);

// A typical log line: the fixed cost of a call (snapshot load, copy) dominates; on two threads it
// shows whether the shared snapshot is contended.
void redact_log_line_20_secrets(benchmark::State& state) {
  static const std::string text =
      "command accepted: stop dev by U0456EFGH in C0123ABCD (request 81896ca5)";
  run_redact(state, shared_redactor(), text);
}
BENCHMARK(redact_log_line_20_secrets);
BENCHMARK(redact_log_line_20_secrets)->Threads(2);

// Learning a secret once the rotating set is full (64, plus the 20 above): what a credential
// refresh costs per value (a new snapshot is built and published).
void redact_add_rotating_secret_full_set(benchmark::State& state) {
  core::Redactor redactor(twenty_secrets());
  std::uint64_t counter = 0;
  const auto next_value = [&counter] {
    return "rotating-secret-value-" + std::to_string(counter++) + "-abcdefghijklmnop";
  };
  for (std::size_t i = 0; i < core::Redactor::kMaxRotatingSecrets; ++i) {
    redactor.add_rotating_secret(next_value());
  }
  AllocationScope allocations(state);
  for (auto _ : state) redactor.add_rotating_secret(next_value());
}
BENCHMARK(redact_add_rotating_secret_full_set);

void redact_reply_20_secrets_5_matches(benchmark::State& state) {
  static const std::string text = lambda_error_reply(twenty_secrets());
  run_redact(state, shared_redactor(), text);
}
BENCHMARK(redact_reply_20_secrets_5_matches);

// ---- Block Kit rendering ------------------------------------------------------------------------

infra::EnvironmentStatus ten_services() {
  infra::EnvironmentStatus status;
  status.environment = "staging";
  const char* names[] = {"api",     "worker", "scheduler", "web",     "auth",
                         "billing", "search", "notifier",  "gateway", "reports"};
  for (int i = 0; i < 10; ++i) {
    const bool stopped = i % 4 == 3;
    status.ecs_services.push_back(infra::EcsService{names[i], stopped ? "STOPPED" : "RUNNING",
                                                    stopped ? 0 : 2, stopped ? 0 : 2});
  }
  status.rds_instances.push_back(infra::RdsInstance{"docustack-staging-db", "available"});
  return status;
}

void render_status_10_to_json(benchmark::State& state) {
  const auto status = ten_services();
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto json = slack::blockkit::to_json(infra::views::render_status(status));
    benchmark::DoNotOptimize(json);
  }
}
BENCHMARK(render_status_10_to_json);

void render_status_10_to_text(benchmark::State& state) {
  const auto status = ten_services();
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto text = slack::blockkit::to_text(infra::views::render_status(status));
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(render_status_10_to_text);

// The model alone (no serialisation), to split the two costs above.
void render_status_10_model_only(benchmark::State& state) {
  const auto status = ten_services();
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto message = infra::views::render_status(status);
    benchmark::DoNotOptimize(message);
  }
}
BENCHMARK(render_status_10_model_only);

const infra::views::TeardownConfirmation kConfirmation{
    "staging", infra::TeardownLevel::full, "C0123ABCD",
    "https://hooks.slack.com/commands/T0123ABCD/10044567890/abcdefABCDEF1004"};

void render_teardown_modal_to_json(benchmark::State& state) {
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto json = slack::blockkit::to_json(infra::views::render_teardown_modal(kConfirmation));
    benchmark::DoNotOptimize(json);
  }
}
BENCHMARK(render_teardown_modal_to_json);

void render_teardown_modal_to_text(benchmark::State& state) {
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto text = slack::blockkit::to_text(infra::views::render_teardown_modal(kConfirmation));
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(render_teardown_modal_to_text);

// ---- SigV4
// ------------------------------------------------------------------------------------------

// A Lambda Invoke as aws::LambdaClient signs it: the ARN path label encoded once for the wire,
// Host / Content-Type / X-Amz-Invocation-Type, temporary credentials (session token), 200-byte
// body. Signing hashes the body, builds the canonical request and runs the 4-step HMAC chain.
void sigv4_sign_lambda_invoke(benchmark::State& state) {
  std::string body =
      R"({"action":"stop","environment":"dev","request_id":"3f2b9c1e-8d4a-4e6b-9a7c-1d2e3f4a5b6c",)"
      R"("requested_by":{"user_id":"U0456EFGH","user_name":"alice","team_id":"T0123ABCD",)"
      R"("channel_id":"C0123ABCD"},"source":"slack"})";
  body.resize(200, ' ');  // JSON whitespace: still a valid payload of exactly 200 bytes
  const std::string path =
      "/2015-03-31/functions/" +
      aws::sigv4::uri_encode("arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator",
                             false) +
      "/invocations";
  const aws::sigv4::Request request{"POST",
                                    path,
                                    "",
                                    {{"Host", "lambda.eu-west-1.amazonaws.com"},
                                     {"Content-Type", "application/json"},
                                     {"X-Amz-Invocation-Type", "RequestResponse"}},
                                    body};
  const aws::Credentials credentials{"ASIAIOSFODNN7EXAMPLE",
                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                     "FQoGZXIvYXdzEJr//////////wEaDEXAMPLEsessiontoken",
                                     {}};
  const aws::sigv4::Options options{"eu-west-1", "lambda", true, false, false};
  const core::TimePoint at =
      std::chrono::system_clock::time_point(std::chrono::seconds(1764064800));
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto signed_request = aws::sigv4::sign(request, credentials, options, at);
    benchmark::DoNotOptimize(signed_request);
  }
}
BENCHMARK(sigv4_sign_lambda_invoke);

// ---- App::on_envelope of a refused command
// --------------------------------------------------------

/// A Slack that accepts everything and does nothing (the refused path makes no Web API call).
class NoopWebApi final : public slack::WebApi {
 public:
  core::Result<std::string> post_message(const std::string&, const std::string&,
                                         const std::string&) override {
    return std::string("1732530000.000100");
  }
  core::Status post_ephemeral(const std::string&, const std::string&, const std::string&) override {
    return {};
  }
  core::Status update_message(const std::string&, const std::string&, const std::string&) override {
    return {};
  }
  core::Result<std::string> open_view(const std::string&, const std::string&) override {
    return std::string("V0BENCH");
  }
  core::Status update_view(const std::string&, const std::string&) override { return {}; }
  core::Result<slack::UserInfo> user_info(const std::string& user_id) override {
    slack::UserInfo user;
    user.id = user_id;
    user.name = "alice";
    user.real_name = "Alice Example";
    user.team_id = "T0123ABCD";
    return user;
  }
  core::Result<slack::AuthIdentity> auth_test() override {
    return slack::AuthIdentity{"T0123ABCD", "U0BOT", "B0BOT", ""};
  }
  core::Status respond(const std::string&, const std::string&) override { return {}; }
};

// `/infra stop prod` as it comes off the socket (the parsed fixture with its text replaced):
// parse, busy check, policy refusal (protected environment), render, ack with the refusal as the
// payload, one audit line (to a null logger: formatting included, I/O not), metrics. The ack
// function only keeps the payload, as SocketModeClient::ack would before writing it.
void app_on_envelope_refused(benchmark::State& state) {
  auto frame = slack::parse_frame(kSlashStatusFrame);
  if (!frame || !std::holds_alternative<slack::Envelope>(*frame)) {
    state.SkipWithError("fixture is not an envelope");
    return;
  }
  slack::Envelope envelope = std::get<slack::Envelope>(std::move(*frame));
  std::get<slack::SlashCommand>(envelope.payload).text = "stop prod";

  core::SystemClock clock;
  core::UuidSource ids;
  core::metrics::Registry metrics;
  auto logger = core::make_null_logger();
  auto audit = core::make_null_logger();
  NoopWebApi web;
  infra::SimulatedBackend backend({"dev", "staging", "prod"}, clock);
  infra::Policy policy(infra::PolicySettings{}, clock);
  infra::CommandRunner runner(
      infra::RunnerSettings{infra::ParserSettings{}, {{"dev", "staging", "prod"}, {"prod"}, "dev"}},
      policy, backend, clock, ids, logger);
  core::ManualScheduler scheduler;  // runs the warm-up's users.info answer
  slack_front::AppSettings settings;
  settings.workspace.team_id = "T0123ABCD";  // the fixture's team: a member, not an outsider
  slack_front::App app(settings, runner, web, scheduler, clock, metrics, logger, audit);

  std::size_t acks = 0;
  std::size_t payload_bytes = 0;
  const slack_front::AckFunction ack = [&](const std::string&, std::optional<std::string> payload,
                                           const slack_front::AckWritten&) {
    ++acks;
    payload_bytes += payload ? payload->size() : 0;
    benchmark::DoNotOptimize(payload);
    return core::Status{};
  };
  app.on_envelope(envelope, ack);  // warm-up, and check the path is the refusal
  // The first envelope from a user waits for users.info (asked on the gate's lane, answered
  // on the scheduler); later ones find the verdict cached and are handled at once.
  for (int tries = 0; acks == 0 && tries < 5000; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    scheduler.run_ready();
  }
  if (acks != 1 || payload_bytes == 0 || app.jobs_in_flight() != 0) {
    state.SkipWithError("stop prod was not refused with an ack payload");
    return;
  }
  {
    AllocationScope allocations(state);
    for (auto _ : state) app.on_envelope(envelope, ack);
  }
  if (acks != static_cast<std::size_t>(state.iterations()) + 1 || app.jobs_in_flight() != 0) {
    state.SkipWithError("an envelope was not acked exactly once, or a job started");
  }
  app.drain(std::chrono::milliseconds(0));
}
BENCHMARK(app_on_envelope_refused);

// ---- canonical JSON
// ------------------------------------------------------------------------------

// What the golden tests compare: parse, sort keys, pretty-print.
void canonical_json_blockkit_golden(benchmark::State& state) {
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto canonical = core::json::canonicalize(kStatusGolden);
    benchmark::DoNotOptimize(canonical);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(kStatusGolden.size()));
}
BENCHMARK(canonical_json_blockkit_golden);

void canonical_json_view_submission(benchmark::State& state) {
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto canonical = core::json::canonicalize(kViewSubmissionFrame);
    benchmark::DoNotOptimize(canonical);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(kViewSubmissionFrame.size()));
}
BENCHMARK(canonical_json_view_submission);

// ---- Socket Mode ack routing -------------------------------------------------------------------

// One envelope through the AckRouter as the socket thread sees it under load: remembered, found
// when the application acks, its ~300-byte ack kept; the router full at its cap, so each new
// envelope evicts the oldest route and kept ack. The ack's text is built per envelope (one
// allocation the router cannot avoid: the application's).
void ack_router_remember_keep_steady(benchmark::State& state) {
  constexpr std::size_t kCap = 10000;
  slack::detail::AckRouter router(kCap);
  // Three windows of distinct ids: each comes back after it was forgotten, so it is new again.
  std::vector<std::string> ids;
  ids.reserve(3 * kCap);
  for (std::size_t i = 0; i < 3 * kCap; ++i) {
    ids.push_back("1d9c7b2e-" + std::to_string(1000000 + i) + "-4f1a-9b3e-7c2d");
  }
  const std::string ack = "{\"envelope_id\":\"" + ids[0] + "\",\"payload\":{\"text\":\"" +
                          std::string(240, 'x') + "\"}}";
  std::size_t next = 0;
  const auto one = [&] {
    const std::string& id = ids[next];
    next = next + 1 == ids.size() ? 0 : next + 1;
    router.remember(id, 7);
    auto* route = router.find(id);
    router.keep(*route, std::string(ack));
    benchmark::DoNotOptimize(route->ack.data());
  };
  for (std::size_t i = 0; i < 2 * kCap; ++i) one();  // full, and past the first wrap
  {
    AllocationScope allocations(state);
    for (auto _ : state) one();
  }
  if (router.size() != kCap) state.SkipWithError("the router is not at its cap");
}
BENCHMARK(ack_router_remember_keep_steady);
// ---- core::json::precheck and the audit record (the socket thread's other JSON passes)
// ----------

// The pass parse_frame makes over each frame before RapidJSON: a slash command envelope as
// Socket Mode sends it (the fixture) and a view submission (2.5 KB, deeper nesting).
void run_precheck(benchmark::State& state, const std::string& text) {
  if (const auto check = core::json::precheck(text);
      check.too_deep || !check.lone_surrogates.empty()) {
    state.SkipWithError("fixture is not a plain frame");
    return;
  }
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto checked = core::json::precheck(text);
    benchmark::DoNotOptimize(checked);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}

void json_precheck_slash_envelope(benchmark::State& state) {
  run_precheck(state, kSlashStatusFrame);
}
BENCHMARK(json_precheck_slash_envelope);

void json_precheck_view_submission(benchmark::State& state) {
  run_precheck(state, kViewSubmissionFrame);
}
BENCHMARK(json_precheck_view_submission);

// The refused `stop prod`'s audit record as App fills it, formatted as its JSON line.
void audit_record_to_json_refused(benchmark::State& state) {
  infra::AuditRecord record;
  record.source = "slash_command";
  record.request_id = "81896ca5-0f63-43e3-bc17-7ae9761d96a4";
  record.who.team_id = "T0123ABCD";
  record.who.user_id = "U0456EFGH";
  record.who.user_name = "alice";
  record.who.channel_id = "C0123ABCD";
  record.command = "stop prod";
  record.action = "stop";
  record.environment = "prod";
  record.decision = "denied";
  record.reason = "protected_environment";
  record.backend = "simulated";
  record.outcome = "refused";
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto json = record.to_json();
    benchmark::DoNotOptimize(json);
  }
}
BENCHMARK(audit_record_to_json_refused);

// The refusal itself: views::render_denied's notice rendered as the ack's Block Kit payload.
void render_denied_to_json(benchmark::State& state) {
  infra::Decision decision;
  decision.reason = infra::DenyReason::protected_environment;
  decision.message =
      "`prod` is protected: `stop` is never run there. Protected environments: prod.";
  const infra::Command command = infra::Stop{"prod"};
  AllocationScope allocations(state);
  for (auto _ : state) {
    auto json = slack::blockkit::to_json(infra::views::render_denied(command, decision));
    benchmark::DoNotOptimize(json);
  }
}
BENCHMARK(render_denied_to_json);

}  // namespace

BENCHMARK_MAIN();
