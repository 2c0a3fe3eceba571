#include "core/error.hpp"

namespace core {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_input:
      return "invalid_input";
    case ErrorCode::denied:
      return "denied";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::conflict:
      return "conflict";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::config:
      return "config";
    case ErrorCode::indeterminate:
      return "indeterminate";
  }
  return "unknown";
}

}  // namespace core
