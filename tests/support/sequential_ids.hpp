#pragma once

#include <atomic>
#include <string>

#include "core/ids.hpp"

namespace test {

/// Request ids "req-1", "req-2", … in order.
class SequentialIds final : public core::IdSource {
 public:
  std::string next() override { return "req-" + std::to_string(++count_); }

 private:
  std::atomic<int> count_{0};
};

}  // namespace test
