#include "profile_file.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/environment.hpp"
#include "core/strings.hpp"

namespace aws::detail {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// ConfigParser splits a line at the first '=' or ':'.
std::size_t delimiter_at(std::string_view line) { return line.find_first_of("=:"); }

// Drops an inline comment: '#' or ';' preceded by whitespace. Key ids, secret
// keys and session tokens are base64-like and never contain whitespace.
std::string_view without_inline_comment(std::string_view value) {
  for (std::size_t i = 1; i < value.size(); ++i) {
    if ((value[i] == '#' || value[i] == ';') && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
      return core::trim(value.substr(0, i));
    }
  }
  return value;
}

}  // namespace

IniFile parse_ini(std::string_view text) {
  IniFile file;
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  IniSection* section = nullptr;
  // Indentation of the latest key in this section; npos when none. (Not an
  // optional: g++ 12 -O2 warns falsely about it, -Wmaybe-uninitialized.)
  std::size_t key_indent = std::string_view::npos;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    const auto indent = line.find_first_not_of(" \t\r");
    if (indent == std::string_view::npos) continue;  // blank (CRLF included)
    const auto content = core::trim(line);
    if (content.front() == '#' || content.front() == ';') continue;
    // Deeper than the key above: a continuation or a nested setting
    // (`s3 =` followed by `  max_concurrent_requests = 20`). Not ours.
    if (key_indent != std::string_view::npos && indent > key_indent) continue;
    if (content.front() == '[') {
      const auto close = content.find(']');
      key_indent = std::string_view::npos;
      // A broken header: ignore what follows rather than file it elsewhere.
      section = close == std::string_view::npos
                    ? nullptr
                    : &file[std::string(core::trim(content.substr(1, close - 1)))];
      continue;
    }
    if (section == nullptr) continue;
    const auto delimiter = delimiter_at(content);
    if (delimiter == std::string_view::npos || delimiter == 0) continue;
    const auto key = core::to_lower(core::trim(content.substr(0, delimiter)));
    const auto value = without_inline_comment(core::trim(content.substr(delimiter + 1)));
    (*section)[key] = std::string(value);
    key_indent = indent;
  }
  return file;
}

const IniSection* find_profile(const IniFile& file, std::string_view profile, bool config_file) {
  if (!config_file || profile == "default") {
    if (const auto it = file.find(profile); it != file.end()) return &it->second;
    if (!config_file) return nullptr;
  }
  // botocore: a config section whose first word is "profile" names the rest.
  for (const auto& [header, keys] : file) {
    const auto space = header.find_first_of(" \t");
    if (space == std::string::npos || header.substr(0, space) != "profile") continue;
    if (core::trim(std::string_view(header).substr(space)) == profile) return &keys;
  }
  return nullptr;
}

std::optional<std::string> shared_file_path(const core::Environment& env, std::string_view variable,
                                            std::string_view file_name) {
  const auto home = env.get("HOME");
  const bool have_home = home && !home->empty();
  if (auto value = env.get(variable); value && !value->empty()) {
    if (have_home && (*value == "~" || value->rfind("~/", 0) == 0)) {
      return *home + value->substr(1);
    }
    return *value;
  }
  if (!have_home) return std::nullopt;
  return fmt::format("{}/.aws/{}", *home, file_name);
}

FileState read_text_file(const std::string& path, std::string& text) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return FileState::missing;
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileState::unreadable;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return FileState::unreadable;
  text = std::move(content).str();
  return FileState::read;
}

}  // namespace aws::detail
