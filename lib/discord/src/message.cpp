#include "discord/message.hpp"

namespace discord {

// Placeholders until the renderer lands (issue 17, in progress).
std::string render_message(const core::reply::Message& message, bool ephemeral) {
  (void)message;
  (void)ephemeral;
  return "{}";
}
std::uint32_t color_of(const core::reply::Message& message) {
  (void)message;
  return 0;
}
std::string render_modal(const core::reply::Modal& modal, const std::string& custom_id) {
  (void)modal;
  (void)custom_id;
  return "{}";
}

}  // namespace discord
