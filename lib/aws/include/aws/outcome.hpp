#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "core/error.hpp"
#include "core/result.hpp"

namespace aws {

/// Why one AWS call failed: the core::Error for users and logs, and what AWS
/// said, so callers can act on a specific code (InvalidPermission.Duplicate,
/// InvalidDBInstanceState, IncorrectInstanceState, …).
struct CallError {
  core::Error error;
  std::string code;        ///< AWS's error code as on the wire; empty when AWS did not answer
  long http_status = 0;    ///< 0 when no HTTP answer came back
  std::string request_id;  ///< empty when unknown
  std::string message;     ///< AWS's own message, may be empty

  bool is(std::string_view aws_code) const { return code == aws_code; }
};

/// A value or a CallError: what the typed AWS clients return.
///
/// Example:
///   aws::Outcome<std::vector<aws::Ec2Instance>> found = ec2.describe_instances(ids);
///   if (!found && found.failure().is("InvalidInstanceID.NotFound")) …
///   if (!found) return found.error();  // core::Error
template <class T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : state_(std::in_place_index<0>, std::move(value)) {}              // NOLINT
  Outcome(CallError failure) : state_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT
  /// A failure with no AWS code (bad input, unreadable answer, …).
  Outcome(core::Error error)  // NOLINT: implicit
      : state_(std::in_place_index<1>, CallError{std::move(error), {}, 0, {}, {}}) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const CallError& failure() const& {
    assert(!has_value());
    return std::get<1>(state_);
  }
  CallError&& failure() && {
    assert(!has_value());
    return std::get<1>(std::move(state_));
  }
  const core::Error& error() const& { return failure().error; }

 private:
  std::variant<T, CallError> state_;
};

/// The value of a call that returns nothing.
struct Done {
  friend bool operator==(const Done&, const Done&) = default;
};

}  // namespace aws
