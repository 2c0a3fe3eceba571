#pragma once

// The lines `infra-bot register` prints: one per step, never a secret.

#include <ostream>
#include <string_view>

namespace app::reg {

inline void step_ok(std::ostream& out, std::string_view text) {
  out << "✔ " << text << "\n" << std::flush;
}
inline void step_failed(std::ostream& out, std::string_view text) {
  out << "✘ " << text << "\n" << std::flush;
}
/// Something the operator does by hand (no API for it).
inline void step_manual(std::ostream& out, std::string_view text) {
  out << "→ " << text << "\n" << std::flush;
}
/// A continuation line of the step above.
inline void step_note(std::ostream& out, std::string_view text) {
  out << "  " << text << "\n" << std::flush;
}

}  // namespace app::reg
