#pragma once

namespace core {

/// Lambdas → one visitor for std::visit over a variant:
///   std::visit(core::Overloaded{[](const Stop&) {…}, [](const auto&) {…}}, command);
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace core
