#pragma once

#include <string>
#include <string_view>

namespace core {

/// What kind of failure an Error is. Values are appended, never renumbered, so
/// the numbers in old log lines keep their meaning.
enum class ErrorCode : int {
  invalid_input = 1,  ///< the user's input (a command, a config value) is malformed
  denied = 2,         ///< policy refused the request
  not_found = 3,      ///< the thing asked for does not exist
  conflict = 4,       ///< the request clashes with current state (already running, torn down)
  unavailable = 5,    ///< a dependency failed or timed out; trying again may work
  internal = 6,       ///< a bug or broken invariant on our side
  config = 7,         ///< bad or missing start-up configuration
  indeterminate = 8,  ///< the request may have reached the server; whether it ran is unknown
};

std::string_view to_string(ErrorCode code);

/// An error value crossing a module boundary: a message a Slack user can read,
/// and a detail for the log (never shown to the user, never holding secrets).
struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string user_message;
  std::string detail;

  friend bool operator==(const Error&, const Error&) = default;
};

inline Error make_error(ErrorCode code, std::string user_message, std::string detail = {}) {
  return Error{code, std::move(user_message), std::move(detail)};
}

}  // namespace core
