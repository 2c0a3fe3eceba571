#include "discord/gateway_client.hpp"

namespace discord {

// Placeholder until the client lands (issue 17, in progress).
core::Result<GatewayBot> parse_gateway_bot(std::string_view json) {
  (void)json;
  return core::make_error(core::ErrorCode::internal, "not built yet", "parse_gateway_bot");
}

class GatewayClient::Impl {};

GatewayClient::GatewayClient(GatewaySettings, core::Scheduler&, slack::Connector&,
                             core::RandomSource&, std::function<core::Result<GatewayBot>()>,
                             GatewayListener&, core::LoggerPtr)
    : impl_(std::make_shared<Impl>()) {}
GatewayClient::~GatewayClient() = default;
void GatewayClient::start() {}
void GatewayClient::stop(std::function<void()> on_stopped) {
  if (on_stopped) on_stopped();
}
bool GatewayClient::ready() const { return false; }
bool GatewayClient::fatal() const { return true; }
GatewayClient::Counters GatewayClient::counters() const { return {}; }

}  // namespace discord
