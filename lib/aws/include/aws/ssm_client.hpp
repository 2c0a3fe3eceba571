#pragma once

#include <cstdint>
#include <string>

#include "aws/outcome.hpp"
#include "aws/service_client.hpp"

namespace aws {

/// SSM (Parameter Store) on AWS JSON 1.1 (shared/notes/aws-services.md §8).
inline constexpr ServiceSpec kSsmService{"SSM", "ssm", "ssm", Protocol::json11, "AmazonSSM", ""};

/// One parameter as GetParameter returns it. `value` is a secret for a SecureString: never log it.
struct SsmParameter {
  std::string name;
  std::string type;  ///< String, StringList, SecureString
  std::string value;
  std::int64_t version = 0;
  std::string arn;
};

/// SSM as infra-bot uses it (an interface so callers can run against a fake).
class SsmApi {
 public:
  virtual ~SsmApi() = default;
  /// GetParameter; `name` is a name, a `name:version`/`name:label` or an ARN. With
  /// `with_decryption`, a SecureString comes back in clear. Errors as ServiceClient's, with
  /// AWS's code kept (ParameterNotFound, InvalidKeyId, AccessDeniedException, …).
  virtual Outcome<SsmParameter> get_parameter(const std::string& name, bool with_decryption) = 0;
  /// PutParameter; `type` is String, StringList or SecureString (`value` is then a secret:
  /// never log it). Without `overwrite`, an existing parameter is ParameterAlreadyExists (and a
  /// call that may have run is not re-sent); with it, the write is idempotent. The new version.
  virtual Outcome<std::int64_t> put_parameter(const std::string& name, const std::string& value,
                                              const std::string& type, bool overwrite) = 0;
};

/// SsmApi over a ServiceClient built with kSsmService. Thread-safe.
class SsmClient final : public SsmApi {
 public:
  explicit SsmClient(ServiceClientPtr service);

  Outcome<SsmParameter> get_parameter(const std::string& name, bool with_decryption) override;
  Outcome<std::int64_t> put_parameter(const std::string& name, const std::string& value,
                                      const std::string& type, bool overwrite) override;

 private:
  ServiceClientPtr service_;
};

}  // namespace aws
