#pragma once

// What every view is made of (views*.cpp): the icons, how a missing value and a
// title line read, and the message shell. Private to lib/infra.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "infra/views.hpp"

namespace infra::views::detail {

inline constexpr std::string_view kUnknown = "unknown";
inline constexpr std::string_view kOk = ":white_check_mark:";
inline constexpr std::string_view kDown = ":red_circle:";
inline constexpr std::string_view kBusy = ":hourglass_flowing_sand:";
inline constexpr std::string_view kQuestion = ":grey_question:";
// Ports the whitelist Lambda opens for each entry (design §4).
inline constexpr std::string_view kWhitelistPorts = "80, 443, 7233";

/// ASCII upper case.
std::string to_upper(std::string_view text);

/// `text`, or "unknown" when it is empty (a backend may leave any field out).
std::string or_unknown(std::string_view text);

/// "DEV" (or "UNKNOWN").
std::string upper_env(std::string_view environment);

/// ":white_check_mark: STOP - DEV"
std::string title_line(std::string_view icon, std::string_view action,
                       std::string_view environment);

Message message(std::string text, std::vector<core::reply::Block> blocks,
                core::reply::Visibility visibility);

/// One-section message, ephemeral unless told ("… Working on `stop dev`…").
Message notice(std::string line,
               core::reply::Visibility visibility = core::reply::Visibility::ephemeral);

/// "1 entry", "2 entries".
std::string plural(std::size_t n, std::string_view one, std::string_view many);

}  // namespace infra::views::detail
