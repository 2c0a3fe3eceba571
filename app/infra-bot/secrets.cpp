#include "secrets.hpp"

#include "core/strings.hpp"

namespace app {

SecretReader::SecretReader(const core::Config& config, const core::Environment& env,
                           core::LoggerPtr logger, core::Redactor redactor)
    : redactor_(redactor),
      http_(core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file})),
      credentials_(
          aws::make_default_credentials_chain(env, *http_, clock_, logger, std::move(redactor))),
      resolver_(aws::SecretResolverSettings{config.aws_region, config.aws_endpoints.ssm,
                                            config.aws_endpoints.secrets_manager},
                *http_, *credentials_, clock_, sleeper_, std::move(logger)) {}

core::Result<std::string> SecretReader::read(const core::SecretRef& ref) {
  auto value = resolver_.resolve(ref);
  if (value) {
    // Hidden from every log line and Slack text from here on, before it is checked or stored.
    redactor_.add_secret(*value);
    redactor_.add_secret(core::trim(*value));  // what apply_secret keeps
  }
  return value;
}

bool resolve_secrets(core::Config& config, const core::Environment& env, core::LoggerPtr logger,
                     core::Redactor redactor, std::ostream& err) {
  if (config.secret_refs.empty()) return true;
  SecretReader reader(config, env, logger, std::move(redactor));
  for (const auto& setting : config.secret_refs) {
    auto value = reader.read(setting.ref);
    if (!value) {
      err << "infra-bot: " << setting.variable << ": " << value.error().user_message << "\n";
      return false;
    }
    if (auto applied = core::apply_secret(config, setting, std::move(*value)); !applied) {
      err << "infra-bot: " << applied.error().user_message << "\n";
      return false;
    }
    logger->info("{}: read from {}", setting.variable, setting.ref.to_string());
  }
  return true;
}

}  // namespace app
