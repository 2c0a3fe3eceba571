#pragma once

// Drops envelopes Slack delivers twice: the same envelope_id (a redelivery,
// or the same envelope on two connections) or the same natural key under a
// new envelope id (an Events API retry: event_id; commands and actions:
// trigger_id). Scheduler thread only.

#include <chrono>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "core/clock.hpp"

namespace slack::detail {

class Deduper {
 public:
  enum class Seen { first, same_id, same_natural_key };

  /// Keys are forgotten after `window`, and beyond `cap` keys, oldest first.
  explicit Deduper(std::chrono::milliseconds window, std::size_t cap = 100000)
      : window_(window), cap_(cap) {}

  /// Whether this delivery was seen within the window; a first one is
  /// remembered. `natural_key` empty: none. `now` is the scheduler's.
  Seen check(std::string_view envelope_id, std::string_view natural_key, core::MonoTime now);

  std::size_t size() const { return seen_.size(); }

 private:
  // Dedupe keys are 64-bit hashes of the envelope id and of the natural key
  // (each salted apart): ~56 bytes per key with its place in the window,
  // against ~200 for the strings, so a full window (100,000 keys) takes ~5 MB.
  // Two distinct keys collide with probability 2^-64 each; with the window
  // full, ~5e-15 per envelope that it is wrongly taken for a duplicate.
  using Key = std::uint64_t;
  static Key key(std::string_view text, Key salt);
  void prune(core::MonoTime now);
  void remember(Key key, core::MonoTime now);

  std::chrono::milliseconds window_;
  std::size_t cap_;
  std::unordered_set<Key> seen_;
  std::deque<std::pair<core::MonoTime, Key>> order_;
};

}  // namespace slack::detail
