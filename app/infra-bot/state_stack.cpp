#include "state_stack.hpp"

#include <unistd.h>

#include <array>

#include <fmt/format.h>

#include "aws/service_client.hpp"
#include "core/random.hpp"
#include "infra/dynamodb_state.hpp"
#include "infra/memory_state.hpp"

namespace app {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitConfig = 2;

// The DynamoDB client of `config`'s table, on `stack`'s HTTP client and credentials.
core::Result<std::unique_ptr<aws::DynamoDbApi>> make_client(const core::Config& config,
                                                            StateStack& stack,
                                                            core::LoggerPtr logger) {
  auto service = aws::ServiceClient::create(
      aws::kDynamoDbService,
      infra::DynamoDbState::settings_for(config.aws_region, config.aws_endpoints.dynamodb),
      *stack.http, *stack.credentials, stack.signing_clock, stack.sleeper, logger);
  if (!service) return service.error();
  return std::unique_ptr<aws::DynamoDbApi>(
      std::make_unique<aws::DynamoDbClient>(std::move(service).value()));
}

std::unique_ptr<StateStack> base_stack(const core::Config& config, const core::Environment& env,
                                       core::LoggerPtr logger, const core::Redactor& redactor) {
  auto stack = std::make_unique<StateStack>();
  stack->http = core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file});
  stack->credentials = aws::make_default_credentials_chain(env, *stack->http, stack->signing_clock,
                                                           std::move(logger), redactor);
  return stack;
}

}  // namespace

std::string replica_id() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  core::SystemRandom random;
  return fmt::format("{}-{}-{:06x}", host[0] != '\0' ? host.data() : "host", getpid(),
                     static_cast<unsigned>(random.unit() * 0xffffff));
}

core::Result<std::unique_ptr<StateStack>> make_state_stack(const core::Config& config,
                                                           const core::Environment& env,
                                                           const core::Clock& clock,
                                                           core::LoggerPtr logger,
                                                           const core::Redactor& redactor) {
  if (config.state_table.empty()) {
    auto stack = std::make_unique<StateStack>();
    stack->state = std::make_unique<infra::MemoryState>(clock);
    return stack;
  }
  auto stack = base_stack(config, env, logger, redactor);
  auto db = make_client(config, *stack, logger);
  if (!db) return db.error();
  stack->db = std::move(db).value();
  if (config.state_create_table) {
    auto created = infra::create_state_table(*stack->db, config.state_table, stack->sleeper);
    if (!created) return created.error();
    logger->info("state table {}: {}, TTL on {} {}", config.state_table,
                 created->created ? "created" : "exists", created->ttl_attribute,
                 created->ttl_enabled_now ? "enabled now" : "already");
  }
  stack->state =
      std::make_unique<infra::DynamoDbState>(*stack->db, config.state_table, clock, logger);
  logger->info("shared state: DynamoDB table {} (endpoint {})", config.state_table,
               config.aws_endpoints.dynamodb.empty() ? "regional" : config.aws_endpoints.dynamodb);
  return stack;
}

int run_state_create_table(const core::Environment& env, std::ostream& out, std::ostream& err) {
  auto config = core::load_config(env, core::RunMode::console);
  if (!config) {
    err << "infra-bot state create-table: " << config.error().user_message << "\n";
    return kExitConfig;
  }
  if (config->state_table.empty()) {
    err << "infra-bot state create-table: set INFRA_STATE_TABLE to the table's name\n";
    return kExitConfig;
  }
  const core::Redactor redactor;
  auto logger =
      core::make_stderr_logger("infra-bot", config->log_format, config->log_level, redactor);
  auto stack = base_stack(*config, env, logger, redactor);
  auto db = make_client(*config, *stack, logger);
  if (!db) {
    err << "infra-bot state create-table: " << db.error().user_message << "\n";
    return kExitConfig;
  }
  auto created = infra::create_state_table(**db, config->state_table, stack->sleeper);
  if (!created) {
    err << "infra-bot state create-table: " << created.error().user_message << "\n";
    return kExitFailure;
  }
  out << "table " << config->state_table << ": "
      << (created->created ? "created" : "exists already") << "; TTL on " << created->ttl_attribute
      << (created->ttl_enabled_now ? " enabled" : " already on") << "\n";
  return 0;
}

}  // namespace app
