// The views' common pieces (views_format.hpp) and the public time formats.
#include "views_format.hpp"

#include <chrono>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace infra::views {
namespace detail {

using core::reply::Section;
using core::reply::Visibility;

std::string to_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string or_unknown(std::string_view text) {
  return text.empty() ? std::string(kUnknown) : std::string(text);
}

std::string upper_env(std::string_view environment) { return to_upper(or_unknown(environment)); }

std::string title_line(std::string_view icon, std::string_view action,
                       std::string_view environment) {
  return fmt::format("{} {} - {}", icon, to_upper(action), upper_env(environment));
}

Message message(std::string text, std::vector<core::reply::Block> blocks, Visibility visibility) {
  Message out;
  out.text = std::move(text);
  out.blocks = std::move(blocks);
  out.visibility = visibility;
  return out;
}

Message notice(std::string line, Visibility visibility) {
  // Built in place: an initializer list would copy the section and its line.
  Message out;
  out.text = line;
  out.blocks.reserve(1);
  Section& section = std::get<Section>(out.blocks.emplace_back(std::in_place_type<Section>));
  section.lines.push_back(std::move(line));
  out.visibility = visibility;
  return out;
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace detail

std::string format_elapsed(std::chrono::seconds elapsed) {
  using namespace std::chrono;
  if (elapsed.count() < 0) elapsed = seconds{0};
  const auto h = duration_cast<hours>(elapsed);
  const auto m = duration_cast<minutes>(elapsed - h);
  const auto s = elapsed - h - m;
  if (h.count() > 0) return fmt::format("{} h {} min", h.count(), m.count());
  if (m.count() > 0) return fmt::format("{} min {} s", m.count(), s.count());
  return fmt::format("{} s", s.count());
}

std::string format_time_left(std::chrono::seconds left) {
  using namespace std::chrono;
  if (left.count() <= 0) return "expired";
  const auto d = duration_cast<days>(left);
  const auto h = duration_cast<hours>(left - d);
  const auto m = duration_cast<minutes>(left - d - h);
  const auto s = left - d - h - m;
  if (d.count() > 0) return fmt::format("{}d {}h", d.count(), h.count());
  if (h.count() > 0) return fmt::format("{}h {}m", h.count(), m.count());
  if (m.count() > 0) return fmt::format("{}m {}s", m.count(), s.count());
  return fmt::format("{}s", s.count());
}

}  // namespace infra::views
