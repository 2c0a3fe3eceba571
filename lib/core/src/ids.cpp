#include "core/ids.hpp"

#include <random>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace core {

struct UuidSource::State {
  boost::uuids::random_generator generator;
};

UuidSource::UuidSource() : state_(std::make_unique<State>()) {}
UuidSource::~UuidSource() = default;

std::string UuidSource::next() {
  // random_generator is not thread-safe; ids are rare enough that a lock is free.
  std::lock_guard lock(mutex_);
  return boost::uuids::to_string(state_->generator());
}

namespace {

std::uint64_t random_prefix() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

CounterUuidSource::CounterUuidSource() : CounterUuidSource(random_prefix()) {}

CounterUuidSource::CounterUuidSource(std::uint64_t prefix, std::uint64_t first)
    : prefix_(prefix), counter_(first) {}

std::string CounterUuidSource::next() {
  // The 128 bits: prefix (time_hi's top nibble set to the version, 4) then the counter
  // (its top two bits set to the variant, 10). The counter wraps after 2^62 ids.
  const std::uint64_t high = (prefix_ & ~std::uint64_t{0xF000}) | std::uint64_t{0x4000};
  const std::uint64_t low =
      (counter_.fetch_add(1, std::memory_order_relaxed) & ~(std::uint64_t{3} << 62)) |
      (std::uint64_t{2} << 62);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: positions of the 32 hex digits.
  auto put = [&](std::uint64_t value, int first_char, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      id[static_cast<std::size_t>(first_char + i)] = kHex[value & 0xF];
      value >>= 4;
    }
  };
  put(high >> 32, 0, 8);
  put((high >> 16) & 0xFFFF, 9, 4);
  put(high & 0xFFFF, 14, 4);
  put(low >> 48, 19, 4);
  put(low & 0xFFFFFFFFFFFF, 24, 12);
  return id;
}

}  // namespace core
