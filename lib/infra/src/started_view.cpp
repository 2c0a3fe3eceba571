// views::render_teardown_started: the notice a confirmed teardown posts at once.
#include <fmt/format.h>

#include "infra/views.hpp"

namespace infra::views {

Message render_teardown_started(const Teardown& teardown, std::string_view started_by) {
  Message message;
  message.text = fmt::format("Teardown of {} ({}) started by {}", teardown.env,
                             to_string(teardown.level), started_by);
  message.blocks.emplace_back(core::reply::Section{
      "",
      {fmt::format(":hourglass_flowing_sand: Teardown of `{}` (`--level={}`) started by {} — "
                   "the result will be posted here.",
                   teardown.env, to_string(teardown.level), started_by)}});
  message.visibility = core::reply::Visibility::in_channel;
  return message;
}

}  // namespace infra::views
