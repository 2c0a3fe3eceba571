#include "deduper.hpp"

#include <functional>
#include <optional>

namespace slack::detail {
namespace {

constexpr std::uint64_t kEnvelopeIdSalt = 0;
constexpr std::uint64_t kNaturalKeySalt = 0x9e3779b97f4a7c15ULL;

}  // namespace

Deduper::Key Deduper::key(std::string_view text, Key salt) {
  static_assert(sizeof(std::size_t) == sizeof(Key), "64-bit hashes");
  return std::hash<std::string_view>{}(text) ^ salt;
}

Deduper::Seen Deduper::check(std::string_view envelope_id, std::string_view natural_key,
                             core::MonoTime now) {
  prune(now);
  const Key id_key = key(envelope_id, kEnvelopeIdSalt);
  const std::optional<Key> natural =
      natural_key.empty() ? std::nullopt : std::optional(key(natural_key, kNaturalKeySalt));
  if (seen_.count(id_key) != 0) return Seen::same_id;
  if (natural && seen_.count(*natural) != 0) return Seen::same_natural_key;
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
