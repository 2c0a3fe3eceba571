#include "core/ids.hpp"

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

}  // namespace core
