// The pure hot paths of a slash command: parse, policy check, render.
#include <benchmark/benchmark.h>

#include "core/clock.hpp"
#include "infra/command_parser.hpp"
#include "infra/policy.hpp"
#include "infra/views.hpp"
#include "slack/blockkit.hpp"

namespace {

const infra::ParserSettings kSettings;

void parse_status(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(infra::parse_command("status staging", kSettings));
}
BENCHMARK(parse_status);

void parse_whitelist_add(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(infra::parse_command(
        "whitelist add 2001:db8::/48 --ttl=7d --description=\xE2\x80\x9CHome &amp; office\xE2\x80\x9D "
        "--env=staging",
        kSettings));
  }
}
BENCHMARK(parse_whitelist_add);

void policy_check(benchmark::State& state) {
  core::SystemClock clock;
  infra::PolicySettings settings;
  settings.allowed_users = {"U1", "U2", "U3"};
  infra::Policy policy(settings, clock);
  const infra::Command command = infra::Stop{"dev"};
  const infra::Requester who{"U2", "alice", "T1", "C1"};
  for (auto _ : state) benchmark::DoNotOptimize(policy.check(command, who));
}
BENCHMARK(policy_check);

void render_status_json(benchmark::State& state) {
  const infra::EnvironmentStatus status{
      "dev",
      {{"api", "RUNNING", 2, 2}, {"worker", "RUNNING", 1, 1}},
      {{"docustack-dev-db", "available"}}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(slack::blockkit::to_json(infra::views::render_status(status)));
  }
}
BENCHMARK(render_status_json);

}  // namespace

BENCHMARK_MAIN();
