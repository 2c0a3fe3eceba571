#pragma once

// Where each envelope's ack goes, and the application's acks kept for
// redeliveries. Scheduler thread only. Routes are found by a 64-bit hash of
// the envelope id (as the deduper's keys are): no copy of the id per route
// and per kept ack, and two ids of one window share a route with
// probability ~2^-64 each.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

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

  /// Routes beyond `route_cap` are forgotten oldest first; kept acks beyond
  /// `kept_bytes` (or `route_cap` of them) too.
  explicit AckRouter(std::size_t route_cap = 10000, std::size_t kept_bytes = 4 * 1024 * 1024)
      : route_cap_(route_cap), kept_cap_(kept_bytes) {}

  /// A delivery of `envelope_id` on `link` (the newest delivery wins: an
  /// older connection may be closing).
  void remember(const std::string& envelope_id, std::uint64_t link);
  /// nullptr when unknown or forgotten.
  Route* find(const std::string& envelope_id);
  /// Keeps the application's ack for redeliveries (replacing an earlier one);
  /// route.ack holds it afterwards, so the caller sends that, without a copy.
  void keep(const std::string& envelope_id, Route& route, std::string text);

  std::size_t kept_bytes() const { return kept_bytes_; }
  std::size_t size() const { return routes_.size(); }

 private:
  using Key = std::uint64_t;
  static Key key(const std::string& envelope_id);
  void forget_ack(Route& route);

  std::size_t route_cap_;
  std::size_t kept_cap_;
  std::unordered_map<Key, Route> routes_;
  std::deque<Key> route_order_;
  std::deque<Key> kept_order_;
  std::size_t kept_bytes_ = 0;
};

}  // namespace slack::detail
