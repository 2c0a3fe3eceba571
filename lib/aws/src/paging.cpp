#include "paging.hpp"

#include <fmt/format.h>

#include "core/strings.hpp"

namespace aws::detail {

std::optional<CallError> PageGuard::next(const std::string& token, std::size_t items_so_far) {
  ++pages_;
  if (!seen_.insert(token).second) {
    return CallError{
        core::make_error(core::ErrorCode::unavailable,
                         fmt::format("AWS {} {} kept sending the same page (its pagination token "
                                     "came back twice), so infra-bot stopped listing; try again "
                                     "in a minute.",
                                     service_, operation_),
                         fmt::format("aws {} {}: pagination token repeated after {} pages ({} "
                                     "items)",
                                     core::to_lower(service_), operation_, pages_, items_so_far)),
        {},
        0,
        {},
        {}};
  }
  if (pages_ >= max_pages_) {
    return CallError{
        core::make_error(
            core::ErrorCode::unavailable,
            fmt::format("AWS {} {} had more than {} pages; infra-bot stopped there.", service_,
                        operation_, max_pages_),
            fmt::format("aws {} {}: page cap {} reached ({} items)", core::to_lower(service_),
                        operation_, max_pages_, items_so_far)),
        {},
        0,
        {},
        {}};
  }
  return std::nullopt;
}

}  // namespace aws::detail
