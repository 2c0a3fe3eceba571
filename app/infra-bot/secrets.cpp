#include "secrets.hpp"

#include "aws/credentials.hpp"
#include "aws/lambda_client.hpp"
#include "aws/secret_resolver.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/strings.hpp"

namespace app {

bool resolve_secrets(core::Config& config, const core::Environment& env, core::LoggerPtr logger,
                     core::Redactor redactor, std::ostream& err) {
  if (config.secret_refs.empty()) return true;
  core::SystemClock clock;  // SigV4 needs real time
  auto http = core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file});
  auto credentials = aws::make_default_credentials_chain(env, *http, clock, logger, redactor);
  aws::ThreadSleeper sleeper;
  aws::SecretResolver resolver(
      aws::SecretResolverSettings{config.aws_region, config.aws_endpoints.ssm,
                                  config.aws_endpoints.secrets_manager},
      *http, *credentials, clock, sleeper, logger);
  for (const auto& setting : config.secret_refs) {
    auto value = resolver.resolve(setting.ref);
    if (!value) {
      err << "infra-bot: " << setting.variable << ": " << value.error().user_message << "\n";
      return false;
    }
    // Hidden from every log line and Slack text from here on, before it is checked or stored.
    redactor.add_secret(*value);
    redactor.add_secret(core::trim(*value));  // what apply_secret keeps
    if (auto applied = core::apply_secret(config, setting, std::move(*value)); !applied) {
      err << "infra-bot: " << applied.error().user_message << "\n";
      return false;
    }
    logger->info("{}: read from {}", setting.variable, setting.ref.to_string());
  }
  return true;
}

}  // namespace app
