#pragma once

// The aws backend's clients (tagging, ECS, RDS, EC2) pointed at a test::FakeAws: libcurl with
// the test CA, the fake's credentials, the real clock for signing (the fake allows 5 minutes
// of skew) and a sleeper that only records, so retries cost no time.
//
//   test::FakeAws aws;
//   test::FakeAwsClients clients(aws);
//   auto found = clients.tagging().get_resources({{{"Environment", {"dev"}}}, {}});
//   auto backend = clients.backend(clock);   // infra::AwsBackend on these clients

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/ec2_client.hpp"
#include "aws/ecs_client.hpp"
#include "aws/rds_client.hpp"
#include "aws/service_client.hpp"
#include "aws/tagging_client.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "fake_aws.hpp"
#include "infra/aws_backend.hpp"
#include "test_tls.hpp"

namespace test {

/// Records each backoff instead of sleeping.
class RecordingSleeper final : public aws::Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds duration) override {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(duration);
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

class FakeAwsClients {
 public:
  explicit FakeAwsClients(const FakeAws& fake, core::LoggerPtr logger = core::make_null_logger())
      : fake_(fake),
        http_(core::http::make_curl_client(core::http::CurlSettings{test_tls().ca_file})),
        credentials_(aws::make_static_credentials(
            aws::Credentials{fake.credentials().access_key_id, fake.credentials().secret_access_key,
                             fake.credentials().session_token, std::nullopt})),
        logger_(std::move(logger)) {}

  /// A ServiceClient for `spec` on the fake (nullptr when it cannot be made).
  aws::ServiceClientPtr service(const aws::ServiceSpec& spec) {
    aws::ServiceSettings settings;
    settings.region = fake_.region();
    settings.endpoint_url = fake_.endpoint();
    settings.timeout = std::chrono::seconds(20);
    auto created = aws::ServiceClient::create(spec, std::move(settings), *http_, *credentials_,
                                              signing_clock_, sleeper_, logger_);
    return created ? std::move(*created) : nullptr;
  }
  std::unique_ptr<aws::TaggingClient> tagging(aws::TaggingSettings settings = {}) {
    return std::make_unique<aws::TaggingClient>(service(aws::kTaggingService), settings);
  }
  std::unique_ptr<aws::EcsClient> ecs() {
    return std::make_unique<aws::EcsClient>(service(aws::kEcsService));
  }
  std::unique_ptr<aws::RdsClient> rds() {
    return std::make_unique<aws::RdsClient>(service(aws::kRdsService));
  }
  std::unique_ptr<aws::Ec2Client> ec2() {
    return std::make_unique<aws::Ec2Client>(service(aws::kEc2Service));
  }

  /// An AwsBackend on these clients whose "now" is `clock` (signing keeps the real clock).
  std::unique_ptr<infra::AwsBackend> backend(const core::Clock& clock,
                                             infra::AwsBackendSettings settings = {}) {
    if (settings.region.empty()) settings.region = fake_.region();
    infra::AwsApis apis{tagging(), ecs(), rds(), ec2()};
    return std::make_unique<infra::AwsBackend>(std::move(settings), std::move(apis), clock,
                                               logger_);
  }

  core::http::Client& http() { return *http_; }
  aws::CredentialsProvider& credentials() { return *credentials_; }
  const core::Clock& signing_clock() const { return signing_clock_; }
  RecordingSleeper& sleeper() { return sleeper_; }

 private:
  const FakeAws& fake_;
  std::unique_ptr<core::http::Client> http_;
  std::unique_ptr<aws::CredentialsProvider> credentials_;
  core::SystemClock signing_clock_;
  RecordingSleeper sleeper_;
  core::LoggerPtr logger_;
};

}  // namespace test
