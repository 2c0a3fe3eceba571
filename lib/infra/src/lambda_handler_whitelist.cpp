// The IP whitelist's contract (design §4): add, remove, list, refresh.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "command_parser_whitelist.hpp"
#include "core/strings.hpp"
#include "infra/whitelist_ranges.hpp"
#include "lambda_handler_invocation.hpp"
#include "lambda_handler_json.hpp"

namespace infra::lambda_detail {
namespace {

constexpr std::int64_t kMinTtlSeconds = 60;          // 1 minute
constexpr std::int64_t kMaxTtlSeconds = 31'536'000;  // 365 days

}  // namespace

Checked<Cidr> Invocation::read_cidr(const rapidjson::Value& body) {
  auto text = required_string(body, "cidr");
  if (auto* refusal = std::get_if<Refusal>(&text)) return *refusal;
  auto cidr = parse_cidr(core::trim(std::get<std::string>(text)), parser_settings_);
  if (!cidr) return Refusal{cidr.error().user_message};
  return std::move(*cidr);
}

std::string Invocation::whitelist_add(const rapidjson::Value& body) {
  WhitelistAdd command;
  command.env = common_.environment;
  auto cidr = read_cidr(body);
  if (auto* refusal = std::get_if<Refusal>(&cidr)) return refuse(refusal->message);
  command.cidr = std::get<Cidr>(std::move(cidr));
  // The same ranges as /infra refuses (issue 15): a caller of the Lambda gets no more.
  if (auto allowed = check_whitelist_range(command.cidr); !allowed) {
    return refuse(allowed.error().user_message);
  }

  const auto ttl = body.FindMember("ttl_seconds");
  if (ttl == body.MemberEnd() || ttl->value.IsNull()) {
    return refuse("The request has no `ttl_seconds`.");
  }
  if (!ttl->value.IsInt64()) {
    return refuse("`ttl_seconds` must be a whole number of seconds.");
  }
  const std::int64_t seconds = ttl->value.GetInt64();
  if (seconds < kMinTtlSeconds || seconds > kMaxTtlSeconds) {
    return refuse(
        fmt::format("`ttl_seconds` must be between {} (1 minute) and {} (365 days), not {}.",
                    kMinTtlSeconds, kMaxTtlSeconds, seconds));
  }
  command.ttl = std::chrono::seconds(seconds);

  auto description = optional_string(body, "description");
  if (auto* refusal = std::get_if<Refusal>(&description)) return refuse(refusal->message);
  command.description = std::get<std::optional<std::string>>(std::move(description));
  if (command.description) {
    auto printable = parser_detail::check_description(std::move(*command.description));
    if (!printable) return refuse(printable.error().user_message);
    command.description = std::move(*printable);
  }

  auto result = backend_.whitelist_add(command, common_.context);
  if (!result) return failed(result.error());
  done();
  Answer answer(true);
  Writer& writer = answer.writer();
  member(writer, "environment", answered_environment(result->environment));
  key(writer, "entry");
  write_entry(writer, result->entry);
  key(writer, "replaced");
  writer.Bool(result->replaced);
  return answer.text();
}

std::string Invocation::whitelist_remove(const rapidjson::Value& body) {
  auto cidr = read_cidr(body);
  if (auto* refusal = std::get_if<Refusal>(&cidr)) return refuse(refusal->message);
  WhitelistRemove command{std::get<Cidr>(std::move(cidr)), common_.environment};
  auto result = backend_.whitelist_remove(command, common_.context);
  if (!result) return failed(result.error());
  done();
  Answer answer(true);
  Writer& writer = answer.writer();
  member(writer, "environment", answered_environment(result->environment));
  member(writer, "cidr", result->cidr.empty() ? command.cidr.text : result->cidr);
  return answer.text();
}

std::string Invocation::whitelist_list() {
  auto result = backend_.whitelist_list(common_.environment, common_.context);
  if (!result) return failed(result.error());
  done();
  Answer answer(true);
  Writer& writer = answer.writer();
  member(writer, "environment", answered_environment(result->environment));
  key(writer, "entries");
  writer.StartArray();
  for (const auto& entry : result->entries) write_entry(writer, entry);
  writer.EndArray();
  return answer.text();
}

std::string Invocation::whitelist_refresh() {
  auto result = backend_.whitelist_refresh(common_.environment, common_.context);
  if (!result) return failed(result.error());
  done();
  Answer answer(true);
  Writer& writer = answer.writer();
  member(writer, "environment", answered_environment(result->environment));
  strings_member(writer, "security_groups", result->security_groups);
  member(writer, "rules_added", result->rules_added);
  member(writer, "rules_removed", result->rules_removed);
  // Beyond §4 (LambdaBackend reads it when present): what the refresh found expired.
  if (!result->expired.empty()) {
    key(writer, "expired");
    writer.StartArray();
    for (const auto& entry : result->expired) write_entry(writer, entry);
    writer.EndArray();
  }
  return answer.text();
}

}  // namespace infra::lambda_detail
