#include "deduper.hpp"

#include <functional>
#include <optional>

namespace slack::detail {
namespace {

constexpr std::uint64_t kEnvelopeIdSalt = 0;
constexpr std::uint64_t kNaturalKeySalt = 0x9e3779b97f4a7c15ULL;
constexpr std::size_t kInitialSlots = 1024;

}  // namespace

// ---- KeySet ------------------------------------------------------------------

std::size_t KeySet::home(std::uint64_t key) const {
  // The keys are hashes already; the multiply mixes the high bits into the
  // low ones the mask keeps (std::hash of a string is fine, a caller's
  // counter would not be).
  return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ULL) >> 17) & (slots_.size() - 1);
}

bool KeySet::contains(std::uint64_t key) const {
  if (slots_.empty()) return false;
  for (std::size_t i = home(key);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == key) return true;
    if (slots_[i] == 0) return false;
  }
}

bool KeySet::insert(std::uint64_t key) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  for (std::size_t i = home(key);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == key) return false;
    if (slots_[i] == 0) {
      slots_[i] = key;
      ++size_;
      return true;
    }
  }
}

bool KeySet::erase(std::uint64_t key) {
  if (slots_.empty()) return false;
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = home(key);
  while (slots_[hole] != key) {
    if (slots_[hole] == 0) return false;
    hole = (hole + 1) & mask;
  }
  // Backward shift: each later key of the run moves into the hole unless its
  // home lies cyclically in (hole, here], where it must stay to be found.
  for (std::size_t here = (hole + 1) & mask; slots_[here] != 0; here = (here + 1) & mask) {
    const std::size_t wanted = home(slots_[here]);
    const bool stays =
        hole <= here ? (hole < wanted && wanted <= here) : (hole < wanted || wanted <= here);
    if (stays) continue;
    slots_[hole] = slots_[here];
    hole = here;
  }
  slots_[hole] = 0;
  --size_;
  return true;
}

void KeySet::grow() {
  std::vector<std::uint64_t> old(slots_.empty() ? kInitialSlots : slots_.size() * 2, 0);
  old.swap(slots_);
  size_ = 0;
  for (const auto key : old) {
    if (key != 0) insert(key);
  }
}

// ---- Deduper -----------------------------------------------------------------

Deduper::Key Deduper::key(std::string_view text, Key salt) {
  static_assert(sizeof(std::size_t) == sizeof(Key), "64-bit hashes");
  const Key hashed = std::hash<std::string_view>{}(text) ^ salt;
  return hashed == 0 ? 1 : hashed;
}

Deduper::Seen Deduper::check(std::string_view envelope_id, std::string_view natural_key,
                             core::MonoTime now) {
  prune(now);
  const Key id_key = key(envelope_id, kEnvelopeIdSalt);
  const std::optional<Key> natural =
      natural_key.empty() ? std::nullopt : std::optional(key(natural_key, kNaturalKeySalt));
  if (seen_.contains(id_key)) return Seen::same_id;
  if (natural && seen_.contains(*natural)) return Seen::same_natural_key;
  remember(id_key, now);
  if (natural) remember(*natural, now);
  return Seen::first;
}

void Deduper::remember(Key key, core::MonoTime now) {
  seen_.insert(key);
  order_.emplace_back(now, key);
}

void Deduper::prune(core::MonoTime now) {
  const auto window = std::chrono::duration_cast<core::MonoTime::duration>(window_);
  while (!order_.empty() && (order_.size() >= cap_ || order_.front().first + window < now)) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
}

}  // namespace slack::detail
