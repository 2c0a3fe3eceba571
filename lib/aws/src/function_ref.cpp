#include "aws/function_ref.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace aws {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Lambda limits: function names 1-64 of [A-Za-z0-9-_]; qualifiers (versions,
// aliases) 1-128 of the same plus '$' ($LATEST).
bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), is_name_char);
}
bool valid_qualifier(std::string_view s) {
  return !s.empty() && s.size() <= 128 &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_name_char(c) || c == '$'; });
}
// Regions look like "us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1".
bool valid_region(std::string_view s) {
  if (s.size() < 6 || s.size() > 32) return false;
  const bool chars_ok = std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
  return chars_ok && s.front() != '-' && s.back() >= '0' && s.back() <= '9' &&
         std::count(s.begin(), s.end(), '-') >= 2;
}
bool valid_account(std::string_view s) {
  return s.size() == 12 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    auto at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

core::Error bad(std::string_view text, std::string_view why) {
  return core::make_error(
      core::ErrorCode::config,
      fmt::format(
          "\"{}\" is not a Lambda function: {}. Use an ARN like "
          "arn:aws:lambda:eu-west-1:123456789012:function:name, or a name with AWS_REGION set",
          text, why));
}

}  // namespace

std::optional<std::string> FunctionRef::arn() const {
  if (!account) return std::nullopt;
  auto out = fmt::format("arn:{}:lambda:{}:{}:function:{}", partition, region, *account, name);
  if (qualifier) out += ":" + *qualifier;
  return out;
}

std::string FunctionRef::invoke_name() const {
  if (auto full = arn()) return *full;
  return qualifier ? name + ":" + *qualifier : name;
}

core::Result<FunctionRef> parse_function_ref(std::string_view text,
                                             std::string_view default_region) {
  FunctionRef ref;
  if (text.starts_with("arn:")) {
    const auto parts = split(text, ':');
    if (parts.size() < 7 || parts.size() > 8) return bad(text, "wrong number of ':' parts");
    if (parts[1] != "aws" && parts[1] != "aws-cn" && parts[1] != "aws-us-gov") {
      return bad(text, "unknown partition");
    }
    if (parts[2] != "lambda") return bad(text, "not a lambda ARN");
    if (!valid_region(parts[3])) return bad(text, "bad region");
    if (!valid_account(parts[4])) return bad(text, "the account id must be 12 digits");
    if (parts[5] != "function") return bad(text, "expected \":function:\"");
    if (!valid_name(parts[6])) return bad(text, "bad function name");
    ref.partition = parts[1];
    ref.region = parts[3];
    ref.account = std::string(parts[4]);
    ref.name = parts[6];
    if (parts.size() == 8) {
      if (!valid_qualifier(parts[7])) return bad(text, "bad version or alias");
      ref.qualifier = std::string(parts[7]);
    }
    return ref;
  }
  const auto parts = split(text, ':');
  if (parts.size() > 2 || !valid_name(parts[0])) {
    return bad(text, "names are 1-64 letters, digits, '-' or '_'");
  }
  if (parts.size() == 2) {
    if (!valid_qualifier(parts[1])) return bad(text, "bad version or alias");
    ref.qualifier = std::string(parts[1]);
  }
  if (default_region.empty()) return bad(text, "a bare name needs AWS_REGION");
  if (!valid_region(default_region)) return bad(text, "AWS_REGION is not a region name");
  ref.partition = default_region.starts_with("cn-")       ? "aws-cn"
                  : default_region.starts_with("us-gov-") ? "aws-us-gov"
                                                          : "aws";
  ref.region = default_region;
  ref.name = parts[0];
  return ref;
}

}  // namespace aws
