#pragma once
// The shared state of `run` (issue 18): in memory for one process, or on the
// DynamoDB table INFRA_STATE_TABLE names for replicas — built on the same
// credential chain and HTTP client as the other AWS calls. And `infra-bot
// state create-table`, which makes that table as the schema says.

#include <memory>
#include <ostream>
#include <string>

#include "aws/credentials.hpp"
#include "aws/dynamodb_client.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/redactor.hpp"
#include "infra/shared_state.hpp"

namespace app {

/// Members in dependency order (destroyed in reverse).
struct StateStack {
  core::SystemClock signing_clock;  // SigV4 needs real time
  std::unique_ptr<core::http::Client> http;
  std::unique_ptr<aws::CredentialsProvider> credentials;
  aws::ThreadSleeper sleeper;
  std::unique_ptr<aws::DynamoDbApi> db;  ///< null in memory
  std::unique_ptr<infra::SharedState> state;
};

/// MemoryState without INFRA_STATE_TABLE; else DynamoDbState on it, after
/// creating the table when INFRA_STATE_CREATE_TABLE=true (another replica
/// creating it at the same moment is fine). A config or unavailable Error
/// when the table cannot be used.
core::Result<std::unique_ptr<StateStack>> make_state_stack(const core::Config& config,
                                                           const core::Environment& env,
                                                           const core::Clock& clock,
                                                           core::LoggerPtr logger,
                                                           const core::Redactor& redactor);

/// This process as the shared state names it: host, pid and a random part.
std::string replica_id();

/// `infra-bot state create-table`: exit 0 when the table exists with TTL on.
int run_state_create_table(const core::Environment& env, std::ostream& out, std::ostream& err);

}  // namespace app
