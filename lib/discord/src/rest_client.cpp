#include "discord/rest_client.hpp"

namespace discord {

struct RestClient::Bucket {};

RestClient::RestClient(RestSettings settings, core::http::Client& http, const core::Clock& clock,
                       core::LoggerPtr logger, std::function<void(std::chrono::milliseconds)> sleep)
    : settings_(std::move(settings)),
      http_(http),
      clock_(clock),
      logger_(std::move(logger)),
      sleep_(std::move(sleep)) {}
RestClient::~RestClient() = default;

core::Result<RestResponse> RestClient::call(std::string_view, std::string_view, std::string_view,
                                            bool) {
  return core::make_error(core::ErrorCode::internal, "not built yet", "RestClient::call");
}
core::Status RestClient::interaction_callback(const std::string&, const std::string&,
                                              const std::string&) {
  return core::make_error(core::ErrorCode::internal, "not built yet");
}
core::Status RestClient::edit_original(const std::string&, const std::string&, const std::string&) {
  return core::make_error(core::ErrorCode::internal, "not built yet");
}
core::Status RestClient::follow_up(const std::string&, const std::string&, const std::string&) {
  return core::make_error(core::ErrorCode::internal, "not built yet");
}

}  // namespace discord
