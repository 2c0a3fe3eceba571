#pragma once

// Drops envelopes Slack delivers twice: the same envelope_id (a redelivery,
// or the same envelope on two connections) or the same natural key under a
// new envelope id (an Events API retry: event_id; commands and actions:
// trigger_id). Scheduler thread only.

#include <chrono>
#include <cstdint>
#include <deque>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"

namespace slack::detail {

/// A set of non-zero 64-bit keys in one array (linear probing, deletion by
/// backward shift): no allocation per key, unlike std::unordered_set, whose
/// node malloc/free per envelope showed in the ack path's profile. It grows
/// (doubling) to stay at most half full, and never shrinks.
class KeySet {
 public:
  bool contains(std::uint64_t key) const;
  /// False when it was there already.
  bool insert(std::uint64_t key);
  /// False when it was not there.
  bool erase(std::uint64_t key);
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return slots_.size(); }

 private:
  std::size_t home(std::uint64_t key) const;
  void grow();

  std::vector<std::uint64_t> slots_;  ///< 0: empty; the size is a power of two
  std::size_t size_ = 0;
};

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
  // (each salted apart; 0 is taken as 1, the set's empty mark): 8 bytes in
  // the set (at most half full) and 16 in the window per key, so a full
  // window (100,000 keys) takes ~3 MB. Two distinct keys collide with
  // probability 2^-64 each; with the window full, ~5e-15 per envelope that it
  // is wrongly taken for a duplicate.
  using Key = std::uint64_t;
  static Key key(std::string_view text, Key salt);
  void prune(core::MonoTime now);
  void remember(Key key, core::MonoTime now);

  std::chrono::milliseconds window_;
  std::size_t cap_;
  KeySet seen_;
  std::deque<std::pair<core::MonoTime, Key>> order_;
};

}  // namespace slack::detail
