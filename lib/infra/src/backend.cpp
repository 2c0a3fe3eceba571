#include "infra/backend.hpp"

namespace infra {

std::string_view to_string(LifecycleAction action) {
  switch (action) {
    case LifecycleAction::stop:
      return "stop";
    case LifecycleAction::start:
      return "start";
    case LifecycleAction::teardown:
      return "teardown";
    case LifecycleAction::spinup:
      return "spinup";
  }
  return "unknown";
}

}  // namespace infra
