#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace aws {

/// A Lambda function as named in configuration: a full ARN
/// ("arn:aws:lambda:eu-west-1:123456789012:function:orchestrator[:alias]") or a
/// bare name ("orchestrator[:alias]") resolved in the configured region.
struct FunctionRef {
  std::string partition;                 ///< "aws", "aws-cn", "aws-us-gov"
  std::string region;                    ///< from the ARN, else the default region
  std::optional<std::string> account;    ///< only when given as an ARN
  std::string name;                      ///< the function name
  std::optional<std::string> qualifier;  ///< version or alias

  /// The function's ARN when the account is known (for IAM policies).
  std::optional<std::string> arn() const;
  /// What goes in the Invoke path: the ARN when known, else name[:qualifier].
  std::string invoke_name() const;
};

/// Parses `text`; `default_region` (AWS_REGION) is used for bare names and may
/// be empty for ARNs. Errors name the expected forms.
core::Result<FunctionRef> parse_function_ref(std::string_view text,
                                             std::string_view default_region);

}  // namespace aws
