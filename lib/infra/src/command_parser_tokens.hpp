#pragma once

// The /infra tokenizer: words, flags and quoted spans (straight or curly quotes,
// autocorrected dashes, Unicode spaces). Private to lib/infra.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace infra::parser_detail {

struct Token {
  std::string text;       ///< quotes removed, a leading dash normalised to "--"
  std::size_t begin = 0;  ///< where the token starts in the (unescaped) input
  std::size_t end = 0;    ///< one past where it ends
  bool flag = false;
  bool quoted = false;
};

struct Tokens {
  std::string_view input;            ///< the unescaped text the tokens point into
  std::vector<Token> tokens;         ///< those read before any error
  std::optional<core::Error> error;  ///< an unterminated quote

  std::string_view raw(const Token& token) const {
    return input.substr(token.begin, token.end - token.begin);
  }
};

/// Splits unescaped command text into tokens. Never throws on any byte string
/// (bar allocation); an unterminated quote ends the tokens with `error` set.
Tokens tokenize(std::string_view text);

}  // namespace infra::parser_detail
