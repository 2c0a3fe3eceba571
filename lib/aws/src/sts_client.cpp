#include "aws/sts_client.hpp"

#include "sts.hpp"

namespace aws {
namespace {

class QueryStsClient final : public StsClient {
 public:
  QueryStsClient(detail::StsEndpoint endpoint, core::http::Client& http,
                 CredentialsProvider& credentials, const core::Clock& clock)
      : endpoint_(std::move(endpoint)), http_(http), credentials_(credentials), clock_(clock) {}

  // aws::StsClient
  core::Result<CallerIdentity> get_caller_identity() override {
    auto credentials = credentials_.get();
    if (!credentials) return std::move(credentials).error();
    auto xml = detail::sts_call(http_, endpoint_, "GetCallerIdentity", {}, &*credentials, clock_);
    if (!xml) return std::move(xml).error();
    auto fields = detail::parse_caller_identity(*xml);
    if (!fields) return std::move(fields).error();
    return CallerIdentity{std::move(fields->account), std::move(fields->arn),
                          std::move(fields->user_id)};
  }

 private:
  const detail::StsEndpoint endpoint_;
  core::http::Client& http_;
  CredentialsProvider& credentials_;
  const core::Clock& clock_;
};

}  // namespace

core::Result<std::unique_ptr<StsClient>> StsClient::create(const core::Environment& env,
                                                           std::string region,
                                                           core::http::Client& http,
                                                           CredentialsProvider& credentials,
                                                           const core::Clock& clock) {
  auto endpoint = detail::sts_endpoint(env, region);
  if (!endpoint) return endpoint.error();
  return std::unique_ptr<StsClient>(
      new QueryStsClient(std::move(*endpoint), http, credentials, clock));
}

}  // namespace aws
