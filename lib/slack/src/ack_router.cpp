#include "ack_router.hpp"

#include <string_view>

namespace slack::detail {

AckRouter::Key AckRouter::key(const std::string& envelope_id) {
  return std::hash<std::string_view>{}(envelope_id);
}

void AckRouter::remember(const std::string& envelope_id, std::uint64_t link) {
  const Key id = key(envelope_id);
  auto [it, inserted] = routes_.try_emplace(id);
  it->second.link = link;
  if (!inserted) return;
  route_order_.push_back(id);
  while (route_order_.size() > route_cap_) {
    auto oldest = routes_.find(route_order_.front());
    if (oldest != routes_.end()) {
      forget_ack(oldest->second);
      routes_.erase(oldest);
    }
    route_order_.pop_front();
  }
}

AckRouter::Route* AckRouter::find(const std::string& envelope_id) {
  auto it = routes_.find(key(envelope_id));
  return it == routes_.end() ? nullptr : &it->second;
}

void AckRouter::keep(const std::string& envelope_id, Route& route, std::string text) {
  forget_ack(route);
  route.ack = std::move(text);
  kept_bytes_ += route.ack.size();
  kept_order_.push_back(key(envelope_id));
  // Oldest first; an id whose route is gone or was kept again later is
  // skipped (forget_ack of an empty ack is a no-op).
  while (kept_bytes_ > kept_cap_ || kept_order_.size() > route_cap_) {
    auto oldest = routes_.find(kept_order_.front());
    kept_order_.pop_front();
    if (oldest != routes_.end() && &oldest->second != &route) forget_ack(oldest->second);
    if (kept_order_.empty()) break;
  }
}

void AckRouter::forget_ack(Route& route) {
  kept_bytes_ -= route.ack.size();
  route.ack.clear();
  route.ack.shrink_to_fit();
  route.on_written = nullptr;
}

}  // namespace slack::detail
