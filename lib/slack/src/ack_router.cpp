#include "ack_router.hpp"

#include <algorithm>
#include <cassert>
#include <string_view>

namespace slack::detail {
namespace {

constexpr std::size_t kInitialEntries = 64;
constexpr std::size_t kInitialRoutes = 32;

}  // namespace

AckRouter::AckRouter(std::size_t route_cap, std::size_t kept_bytes)
    // Slots are 32-bit; kNone is not one.
    : route_cap_(std::min<std::size_t>(route_cap, kNone - 1)), kept_cap_(kept_bytes) {}

AckRouter::Key AckRouter::key(const std::string& envelope_id) {
  return std::hash<std::string_view>{}(envelope_id);
}

void AckRouter::remember(const std::string& envelope_id, std::uint64_t link) {
  if (route_cap_ == 0) return;
  const Key id = key(envelope_id);
  if (const Slot known = lookup(id); known != kNone) {
    routes_[known].link = link;  // a redelivery keeps its place in the ring
    return;
  }
  const Slot slot = next_;
  if (routes_.size() < route_cap_) {
    // Growing (the routes move) happens only here: find's pointers last
    // until the next remember.
    if (routes_.size() == routes_.capacity()) {
      const auto wanted = std::min(route_cap_, std::max(kInitialRoutes, 2 * routes_.capacity()));
      routes_.reserve(wanted);
      links_.reserve(wanted);
    }
    if ((routes_.size() + 1) * 2 > index_.size()) grow_index();
    routes_.emplace_back();
    links_.emplace_back();
  } else {
    // The ring is full: the oldest route goes, its kept ack with it.
    index_erase(links_[slot].key);
    forget_ack(slot);
    routes_[slot].acked = false;
    routes_[slot].redeliveries_waiting = 0;
  }
  next_ = next_ + 1 == route_cap_ ? 0 : next_ + 1;
  routes_[slot].link = link;
  links_[slot].key = id;
  index_insert(id, slot);
}

AckRouter::Route* AckRouter::find(const std::string& envelope_id) {
  const Slot slot = lookup(key(envelope_id));
  return slot == kNone ? nullptr : &routes_[slot];
}

void AckRouter::keep(Route& route, std::string text) {
  // The belief: `route` came from find() since the last remember().
  assert(&route >= routes_.data() && &route < routes_.data() + routes_.size());
  const auto slot = static_cast<Slot>(&route - routes_.data());
  forget_ack(slot);
  route.ack = std::move(text);
  kept_bytes_ += route.ack.size();
  // Newest at the end of the kept list.
  auto& links = links_[slot];
  links.kept = true;
  links.older = kept_newest_;
  links.newer = kNone;
  (kept_newest_ == kNone ? kept_oldest_ : links_[kept_newest_].newer) = slot;
  kept_newest_ = slot;
  // No count bound is needed: there are no more kept acks than routes.
  while (kept_bytes_ > kept_cap_ && kept_oldest_ != slot) forget_ack(kept_oldest_);
}

void AckRouter::forget_ack(Slot slot) {
  auto& route = routes_[slot];
  kept_bytes_ -= route.ack.size();
  // Swapped out, not assigned: assigning an empty (local) string keeps the
  // heap buffer in libstdc++.
  std::string().swap(route.ack);
  route.on_written = nullptr;
  auto& links = links_[slot];
  if (!links.kept) return;
  (links.older == kNone ? kept_oldest_ : links_[links.older].newer) = links.newer;
  (links.newer == kNone ? kept_newest_ : links_[links.newer].older) = links.older;
  links.kept = false;
  links.older = links.newer = kNone;
}

// ---- the index ---------------------------------------------------------------

std::size_t AckRouter::home(Key key) const {
  // As KeySet::home: the multiply mixes the hash's high bits into the low
  // ones the mask keeps.
  return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ULL) >> 17) & (index_.size() - 1);
}

AckRouter::Slot AckRouter::lookup(Key key) const {
  if (index_.empty()) return kNone;
  for (std::size_t i = home(key);; i = (i + 1) & (index_.size() - 1)) {
    if (index_[i].slot == kNone) return kNone;
    if (index_[i].key == key) return index_[i].slot;
  }
}

void AckRouter::index_insert(Key key, Slot slot) {
  std::size_t i = home(key);
  while (index_[i].slot != kNone) i = (i + 1) & (index_.size() - 1);
  index_[i] = Entry{key, slot};
}

void AckRouter::index_erase(Key key) {
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = home(key);
  while (index_[hole].key != key) {
    // The belief: only keys of routes in the ring are erased.
    assert(index_[hole].slot != kNone);
    hole = (hole + 1) & mask;
  }
  // Backward shift: each later entry of the run moves into the hole unless
  // its home lies cyclically in (hole, here], where it must stay to be found.
  for (std::size_t here = (hole + 1) & mask; index_[here].slot != kNone; here = (here + 1) & mask) {
    const std::size_t wanted = home(index_[here].key);
    const bool stays =
        hole <= here ? (hole < wanted && wanted <= here) : (hole < wanted || wanted <= here);
    if (stays) continue;
    index_[hole] = index_[here];
    hole = here;
  }
  index_[hole] = Entry{};
}

void AckRouter::grow_index() {
  index_.assign(index_.empty() ? kInitialEntries : index_.size() * 2, Entry{});
  for (std::size_t slot = 0; slot < routes_.size(); ++slot) {
    index_insert(links_[slot].key, static_cast<Slot>(slot));
  }
}

}  // namespace slack::detail
