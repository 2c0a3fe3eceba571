#include "core/clock.hpp"

#include <charconv>

#include <fmt/format.h>

namespace core {

std::string format_rfc3339(TimePoint at) {
  using namespace std::chrono;
  const auto seconds = floor<std::chrono::seconds>(at);
  const auto days = floor<std::chrono::days>(seconds);
  const year_month_day ymd{days};
  const hh_mm_ss hms{seconds - days};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

namespace {

bool read_number(std::string_view text, std::size_t at, std::size_t width, int& out) {
  if (at + width > text.size()) return false;
  for (std::size_t i = at; i < at + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + at + width, out);
  return ec == std::errc{} && ptr == text.data() + at + width;
}

}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 20 || !read_number(text, 0, 4, y) || text[4] != '-' ||
      !read_number(text, 5, 2, mo) || text[7] != '-' || !read_number(text, 8, 2, d) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_number(text, 11, 2, h) ||
      text[13] != ':' || !read_number(text, 14, 2, mi) || text[16] != ':' ||
      !read_number(text, 17, 2, s)) {
    return std::nullopt;
  }
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    const auto digits_start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == digits_start) return std::nullopt;
  }
  int offset_minutes = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int oh = 0, om = 0;
    if (!read_number(text, at + 1, 2, oh) || at + 3 >= text.size() || text[at + 3] != ':' ||
        !read_number(text, at + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (text[at] == '+' ? 1 : -1) * (oh * 60 + om);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits (1677-09 to 2262-04), and
  // callers subtract "now" from what we return: later times ("9999-12-31",
  // the usual "never") are read as 2262-01-01 and times before 1970 as the
  // epoch, so neither the value nor a difference with today wraps around.
  if (y > 2261) return TimePoint(sys_days(year(2262) / January / 1));
  if (y < 1970) return TimePoint(sys_days(year(1970) / January / 1));
  const auto local = sys_days(ymd) + hours(h) + minutes(mi) + seconds(s);
  return time_point_cast<system_clock::duration>(local - minutes(offset_minutes));
}

}  // namespace core
