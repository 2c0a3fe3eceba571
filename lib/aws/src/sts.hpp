#pragma once

// The STS Query protocol in one place (private to lib/aws): the endpoint,
// the form request (signed, or unsigned for AssumeRoleWithWebIdentity), the
// XML answers and errors. AssumeRole and AssumeRoleWithWebIdentity (the
// credential chain) and GetCallerIdentity (aws::StsClient) all go through it.

#include <string>
#include <string_view>

#include "aws/credentials.hpp"
#include "aws/service_client.hpp"
#include "core/clock.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/result.hpp"

namespace aws::detail {

/// Where STS requests go and how they are signed.
struct StsEndpoint {
  std::string url;     ///< without a trailing '/', for messages
  std::string origin;  ///< scheme://authority (curl connects here)
  std::string host;    ///< Host header
  std::string base_path;
  std::string region;  ///< signing region
};

/// AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else https://sts.<region>.amazonaws.com;
/// without a region the global https://sts.amazonaws.com (signed for us-east-1).
core::Result<StsEndpoint> sts_endpoint(const core::Environment& env, std::string_view region);

/// The region the SDKs would use: AWS_REGION, else AWS_DEFAULT_REGION, else `fallback`.
std::string sts_region(const core::Environment& env, std::string_view fallback = {});

/// One STS Query call (POST /, Action=…&Version=2011-06-15&…). `signer`:
/// the credentials to sign with (SigV4, service "sts"), or nullptr to send it
/// unsigned (AssumeRoleWithWebIdentity: botocore disables signing for it).
/// A 2xx answer's XML; otherwise an `unavailable` Error whose user_message
/// names the action, the STS error code and message and the HTTP status.
/// Transport failures, 5xx, throttling and IDPCommunicationError are tried
/// once more.
core::Result<std::string> sts_call(core::http::Client& http, const StsEndpoint& endpoint,
                                   std::string_view action, const QueryParams& params,
                                   const Credentials* signer, const core::Clock& clock);

/// <ActionResult><Credentials>{AccessKeyId, SecretAccessKey, SessionToken,
/// Expiration} of AssumeRole / AssumeRoleWithWebIdentity. The body is never
/// quoted in an error.
core::Result<Credentials> parse_sts_credentials(std::string_view xml, std::string_view action);

/// GetCallerIdentityResult {Account, Arn, UserId}.
struct CallerIdentityFields {
  std::string account;
  std::string arn;
  std::string user_id;
};
core::Result<CallerIdentityFields> parse_caller_identity(std::string_view xml);

}  // namespace aws::detail
