#pragma once

// One invocation of infra::LambdaHandler: lambda_handler.cpp reads the request
// and dispatches it, lambda_handler_orchestrator.cpp serves the orchestrator's
// actions, lambda_handler_whitelist.cpp the whitelist's. Private to lib/infra.

#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "infra/backend.hpp"
#include "infra/command_parser.hpp"
#include "infra/lambda_handler.hpp"
#include "lambda_handler_json.hpp"

namespace infra::lambda_detail {

// The fields every request shares.
struct Common {
  std::string action;
  std::string environment;  ///< empty when the request has none (checked per action)
  bool has_environment = false;
  RequestContext context;
};

// The work of one invocation, with the handler's state at hand.
class Invocation {
 public:
  Invocation(core::LambdaRole role, const std::vector<std::string>& environments,
             const std::vector<std::string>& protected_environments,
             const ParserSettings& parser_settings, Backend& backend, const core::Clock& clock,
             const core::LoggerPtr& logger, const LambdaInvocationContext& context)
      : role_(role),
        environments_(environments),
        protected_(protected_environments),
        parser_settings_(parser_settings),
        backend_(backend),
        clock_(clock),
        logger_(logger),
        context_(context) {}

  /// The answer to `payload`: every field checked, then the backend called once.
  std::string run(std::string_view payload);

 private:
  // {"ok": false} with `message`, logged with the request.
  std::string refuse(std::string_view message, std::string_view detail = {});
  // {"ok": false} with a backend Error's user message, the detail logged.
  std::string failed(const core::Error& error);
  void done() const;
  bool is_protected() const;
  // The environment an answer names: the backend's, or the request's when the
  // backend leaves it out.
  std::string_view answered_environment(const std::string& reported) const {
    return reported.empty() ? std::string_view(common_.environment) : std::string_view(reported);
  }

  // lambda_handler_orchestrator.cpp
  std::string status();
  std::string lifecycle(const rapidjson::Value& body);

  // lambda_handler_whitelist.cpp
  // The `cidr` member, canonical; a refusal names what is wrong with it.
  Checked<Cidr> read_cidr(const rapidjson::Value& body);
  std::string whitelist_add(const rapidjson::Value& body);
  std::string whitelist_remove(const rapidjson::Value& body);
  std::string whitelist_list();
  std::string whitelist_refresh();

  core::LambdaRole role_;
  const std::vector<std::string>& environments_;
  const std::vector<std::string>& protected_;
  const ParserSettings& parser_settings_;
  Backend& backend_;
  const core::Clock& clock_;
  const core::LoggerPtr& logger_;
  const LambdaInvocationContext& context_;
  Common common_;
};

}  // namespace infra::lambda_detail
