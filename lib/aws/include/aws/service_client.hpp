#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "aws/credentials.hpp"
#include "aws/lambda_client.hpp"
#include "aws/outcome.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/result.hpp"

namespace aws {

/// How a service's requests and answers look on the wire
/// (shared/notes/aws-services.md §1).
enum class Protocol {
  json11,  ///< POST /, X-Amz-Target, application/x-amz-json-1.1, JSON answers
  json10,  ///< the same with application/x-amz-json-1.0 (DynamoDB)
  query,   ///< POST / form body Action=…&Version=…, XML answers in <OpResult>
  ec2,     ///< the Query variant of EC2: flat lists, no result wrapper, <Response><Errors>
};

/// What identifies one AWS service to a client.
struct ServiceSpec {
  std::string_view display_name;     ///< "ECS" (in messages)
  std::string_view signing_name;     ///< SigV4 service name: "ecs", "tagging"
  std::string_view endpoint_prefix;  ///< "ecs" → https://ecs.<region>.amazonaws.com
  Protocol protocol = Protocol::json11;
  std::string_view target_prefix;  ///< JSON 1.0/1.1: X-Amz-Target prefix
  std::string_view api_version;    ///< Query / EC2: Version=
};

inline constexpr ServiceSpec kTaggingService{
    "Resource Groups Tagging API",       "tagging", "tagging", Protocol::json11,
    "ResourceGroupsTaggingAPI_20170126", ""};
inline constexpr ServiceSpec kEcsService{
    "ECS", "ecs", "ecs", Protocol::json11, "AmazonEC2ContainerServiceV20141113", ""};
inline constexpr ServiceSpec kRdsService{"RDS", "rds", "rds", Protocol::query, "", "2014-10-31"};
inline constexpr ServiceSpec kEc2Service{"EC2", "ec2", "ec2", Protocol::ec2, "", "2016-11-15"};

/// Whether a call may be sent again when it is unknown whether AWS acted on it
/// (a 5xx answer, or a transport failure after the request went out).
/// Throttling and failures before anything was sent are retried for all three.
enum class Retryability {
  read,        ///< Describe/Get: retried on every retryable error
  idempotent,  ///< repeating it ends in the same state (stop, start, UpdateService
               ///< with a desiredCount, TagResource, revoke by rule id, set a description)
  once,        ///< never re-sent once it may have arrived
};

struct ServiceSettings {
  std::string region;        ///< signing region and regional host; required
  std::string endpoint_url;  ///< AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL; empty = regional
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};  ///< one attempt, body included
  RetryPolicy retry;                         ///< standard mode: 3 attempts, full jitter
};

/// Form fields in order (Query and EC2 protocols), names already flattened
/// ("Filter.1.Value.2").
using QueryParams = std::vector<std::pair<std::string, std::string>>;

/// A Describe filter (EC2 `Filter.N.Name/Value.M`, RDS `Filters.Filter.N.Name/Values.Value.M`).
struct Filter {
  std::string name;
  std::vector<std::string> values;
};

/// The body botocore sends for these fields: urllib's urlencode (A-Z a-z 0-9
/// `_.-~` kept, space as '+', every other byte %XX upper-case).
std::string form_encode(const QueryParams& params);

/// Sends one AWS service's operations: signs (SigV4, re-signed on every
/// attempt with current credentials), retries in standard mode (3 attempts,
/// full-jitter backoff through the Sleeper; throttling codes back off; 5xx and
/// transport failures retried as `Retryability` allows) and turns error
/// answers (JSON `__type`/`message`, Query `<ErrorResponse><Error>`, EC2
/// `<Response><Errors><Error>`) into CallErrors: user_message "AWS refused ECS
/// UpdateService for service api: AccessDenied — …", detail with the code,
/// HTTP status and request id. Codes: denied (403, AccessDenied*,
/// UnauthorizedOperation, expired/invalid credentials), not_found (404,
/// *NotFound*), conflict (invalid state), unavailable (throttled, 5xx,
/// unreachable, unreadable answer), indeterminate (a `once` call that may have
/// run), invalid_input (other 4xx). Thread-safe.
class ServiceClient {
 public:
  /// A config Error when the endpoint URL is unusable or the region is empty.
  static core::Result<std::unique_ptr<ServiceClient>> create(
      const ServiceSpec& spec, ServiceSettings settings, core::http::Client& http,
      CredentialsProvider& credentials, const core::Clock& clock, Sleeper& sleeper,
      core::LoggerPtr logger);

  const ServiceSpec& spec() const { return spec_; }
  const std::string& region() const { return settings_.region; }
  /// The URL requests go to (override or regional), without a trailing '/'.
  const std::string& endpoint_url() const { return url_; }

  /// A JSON 1.0/1.1 call: `body` is the JSON object text ("{}" for no input). The
  /// answer's JSON document (an unreadable answer is an `unavailable` CallError).
  /// `subject` names what the call is about in messages ("service api").
  /// `error_body`, when given, receives the body of the last error answer
  /// (DynamoDB's ConditionalCheckFailedException carries the item in it).
  Outcome<rapidjson::Document> call_json(std::string_view operation, const std::string& body,
                                         Retryability retryability, std::string_view subject = {},
                                         std::string* error_body = nullptr);

  /// A Query / EC2 call (Action and Version are added first). The answer's
  /// XML text, for the typed client to read; a 2xx answer is not checked.
  Outcome<std::string> call_query(std::string_view operation, const QueryParams& params,
                                  Retryability retryability, std::string_view subject = {});

  /// The CallError for a 2xx answer that could not be read (an `unavailable`
  /// error: "AWS sent an answer to EC2 DescribeInstances that infra-bot could not read").
  CallError unreadable(std::string_view operation, std::string_view why,
                       std::string_view subject = {}) const;

 private:
  ServiceClient(const ServiceSpec& spec, ServiceSettings settings, std::string url,
                std::string origin, std::string host, std::string base_path,
                core::http::Client& http, CredentialsProvider& credentials,
                const core::Clock& clock, Sleeper& sleeper, core::LoggerPtr logger);

  Outcome<std::string> send(std::string_view operation, const core::http::Headers& extra_headers,
                            const std::string& body, Retryability retryability,
                            std::string_view subject, std::string* error_body = nullptr);

  ServiceSpec spec_;
  ServiceSettings settings_;
  std::string url_;
  std::string origin_;
  std::string host_;
  std::string base_path_;
  core::http::Client& http_;
  CredentialsProvider& credentials_;
  const core::Clock& clock_;
  Sleeper& sleeper_;
  core::LoggerPtr logger_;
};

using ServiceClientPtr = std::unique_ptr<ServiceClient>;

}  // namespace aws
