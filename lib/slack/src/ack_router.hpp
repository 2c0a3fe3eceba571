#pragma once

// Where each envelope's ack goes, and the application's acks kept for
// redeliveries. Scheduler thread only. Routes are found by a 64-bit hash of
// the envelope id (as the deduper's keys are): no copy of the id per route
// and per kept ack, and two ids of one window share a route with
// probability ~2^-64 each.
//
// No allocation per envelope once the table is full (a std::unordered_map
// node per envelope and two std::deque showed in the socket thread's
// profile): routes live in a ring of route_cap slots, filled lazily and then
// reused oldest first, found through an open-addressed index (key → slot,
// linear probing, deletion by backward shift, as KeySet); the kept acks form
// a list threaded through the slots, oldest first.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace slack::detail {

class AckRouter {
 public:
  struct Route {
    std::uint64_t link = 0;  ///< the connection of the newest delivery
    bool acked = false;      ///< an ack went out to a connection
    /// The application's ack (sent or not; empty: none yet, or forgotten):
    /// sent again, payload and all, when Slack redelivers the envelope.
    std::string ack;
    /// The application's on_written while its ack found no connection: runs
    /// when a redelivery finally carries the kept ack out.
    std::function<void()> on_written;
    /// Redeliveries that came while the application's ack was still on its
    /// way (it may wait for users.info): each gets the ack too, once it exists.
    std::uint32_t redeliveries_waiting = 0;
  };

  /// Routes beyond `route_cap` are forgotten oldest first (by first
  /// delivery), with their kept acks; kept acks beyond `kept_bytes` too,
  /// oldest first (by keep).
  explicit AckRouter(std::size_t route_cap = 10000, std::size_t kept_bytes = 4 * 1024 * 1024);

  /// A delivery of `envelope_id` on `link` (the newest delivery wins: an
  /// older connection may be closing).
  void remember(const std::string& envelope_id, std::uint64_t link);
  /// nullptr when unknown or forgotten. The route stays where it is until the
  /// next remember() (keep() forgets other routes' acks only).
  Route* find(const std::string& envelope_id);
  /// Keeps the application's ack for `route` (one of find's) for
  /// redeliveries, replacing an earlier one; route.ack holds it afterwards, so
  /// the caller sends that, without a copy. The newest ack is kept even when
  /// it alone is over `kept_bytes`.
  void keep(Route& route, std::string text);

  std::size_t kept_bytes() const { return kept_bytes_; }
  std::size_t size() const { return routes_.size(); }

 private:
  using Key = std::uint64_t;
  using Slot = std::uint32_t;
  static constexpr Slot kNone = ~Slot{0};

  struct Entry {  ///< of the index; slot kNone: empty
    Key key = 0;
    Slot slot = kNone;
  };
  struct Links {  ///< parallel to routes_
    Key key = 0;
    bool kept = false;  ///< in the kept list
    Slot older = kNone;
    Slot newer = kNone;
  };

  static Key key(const std::string& envelope_id);
  std::size_t home(Key key) const;
  Slot lookup(Key key) const;
  void index_insert(Key key, Slot slot);
  void index_erase(Key key);
  void grow_index();
  void forget_ack(Slot slot);

  std::size_t route_cap_;
  std::size_t kept_cap_;
  std::vector<Route> routes_;  ///< the ring: grows to route_cap_, then is reused
  std::vector<Links> links_;
  Slot next_ = 0;             ///< the new route's slot: once the ring is full, the oldest
  std::vector<Entry> index_;  ///< at most half full; the size is a power of two
  Slot kept_oldest_ = kNone;
  Slot kept_newest_ = kNone;
  std::size_t kept_bytes_ = 0;
};

}  // namespace slack::detail
