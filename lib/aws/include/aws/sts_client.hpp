#pragma once

#include <memory>
#include <string>

#include "aws/credentials.hpp"
#include "core/clock.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/result.hpp"

namespace aws {

/// Who the credentials belong to (sts:GetCallerIdentity).
struct CallerIdentity {
  std::string account;  ///< 12 digits
  std::string arn;      ///< e.g. arn:aws:sts::111122223333:assumed-role/bot/session
  std::string user_id;
};

/// A small STS client (Query protocol, SigV4 with `credentials`), for
/// `infra-bot doctor`. Endpoint: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL,
/// else https://sts.<region>.amazonaws.com (the global https://sts.amazonaws.com
/// when `region` is empty). Thread-safe.
class StsClient {
 public:
  /// A config Error when the endpoint override is not a usable URL.
  /// `credentials`, `http` and `clock` must outlive the client.
  static core::Result<std::unique_ptr<StsClient>> create(const core::Environment& env,
                                                         std::string region,
                                                         core::http::Client& http,
                                                         CredentialsProvider& credentials,
                                                         const core::Clock& clock);
  virtual ~StsClient() = default;

  /// sts:GetCallerIdentity (needs no IAM permission). Errors: the credential
  /// chain's Error when there are no credentials, else `unavailable` with the
  /// STS error code in the message.
  virtual core::Result<CallerIdentity> get_caller_identity() = 0;
};

}  // namespace aws
