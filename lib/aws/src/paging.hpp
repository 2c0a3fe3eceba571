#pragma once

// Guards for paginated AWS listings (private to lib/aws): a token that comes
// back twice would loop forever, and an endless listing is cut at a cap.

#include <set>
#include <string>
#include <string_view>

#include "aws/outcome.hpp"

namespace aws::detail {

class PageGuard {
 public:
  PageGuard(std::string_view service, std::string_view operation, int max_pages)
      : service_(service), operation_(operation), max_pages_(max_pages) {}

  /// After page `pages_` came back with `token` (non-empty): nullopt to go on,
  /// else the error that ends the listing.
  std::optional<CallError> next(const std::string& token, std::size_t items_so_far);

 private:
  std::string_view service_;
  std::string_view operation_;
  int max_pages_;
  int pages_ = 0;
  std::set<std::string> seen_;
};

}  // namespace aws::detail
