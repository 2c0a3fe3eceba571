#pragma once

#include <optional>
#include <string>

#include "aws/outcome.hpp"
#include "aws/service_client.hpp"

namespace aws {

/// Secrets Manager on AWS JSON 1.1 (shared/notes/aws-services.md §9).
inline constexpr ServiceSpec kSecretsManagerService{
    "Secrets Manager", "secretsmanager", "secretsmanager", Protocol::json11, "secretsmanager", ""};

/// A secret's current version as GetSecretValue returns it. `secret_string` is a secret: never
/// log it. A binary secret has no SecretString (`binary` is true, its bytes are not kept).
struct SecretValue {
  std::string arn;
  std::string name;
  std::string version_id;
  std::optional<std::string> secret_string;
  bool binary = false;
};

/// Secrets Manager as infra-bot uses it (an interface so callers can run against a fake).
class SecretsManagerApi {
 public:
  virtual ~SecretsManagerApi() = default;
  /// GetSecretValue of the AWSCURRENT version; `secret_id` is a name or an ARN. Errors as
  /// ServiceClient's, with AWS's code kept (ResourceNotFoundException, DecryptionFailure, …).
  virtual Outcome<SecretValue> get_secret_value(const std::string& secret_id) = 0;
  /// CreateSecret with a SecretString (a secret: never log it). `client_request_token` (32–64
  /// characters, a UUID) makes retries of this one write idempotent: generate one per logical
  /// write. ResourceExistsException when the name is taken. The new secret's ARN and version.
  virtual Outcome<SecretValue> create_secret(const std::string& name,
                                             const std::string& secret_string,
                                             const std::string& client_request_token) = 0;
  /// PutSecretValue: a new AWSCURRENT version holding `secret_string`; the token as for
  /// create_secret. The secret's ARN, name and the new version.
  virtual Outcome<SecretValue> put_secret_value(const std::string& secret_id,
                                                const std::string& secret_string,
                                                const std::string& client_request_token) = 0;
};

/// SecretsManagerApi over a ServiceClient built with kSecretsManagerService. Thread-safe.
class SecretsManagerClient final : public SecretsManagerApi {
 public:
  explicit SecretsManagerClient(ServiceClientPtr service);

  Outcome<SecretValue> get_secret_value(const std::string& secret_id) override;
  Outcome<SecretValue> create_secret(const std::string& name, const std::string& secret_string,
                                     const std::string& client_request_token) override;
  Outcome<SecretValue> put_secret_value(const std::string& secret_id,
                                        const std::string& secret_string,
                                        const std::string& client_request_token) override;

 private:
  ServiceClientPtr service_;
};

}  // namespace aws
