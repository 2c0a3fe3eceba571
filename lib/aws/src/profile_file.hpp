#pragma once

// The AWS shared files (~/.aws/credentials, ~/.aws/config): a tolerant INI
// reader and the profile look-up the credential chain uses.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace core {
class Environment;
}

namespace aws::detail {

/// key (lower-case) → value, for one section.
using IniSection = std::map<std::string, std::string, std::less<>>;
/// section header as written between the brackets (trimmed) → its keys.
using IniFile = std::map<std::string, IniSection, std::less<>>;

/// Parses the shared files' INI dialect as botocore's ConfigParser reads it:
/// `#` and `;` comment lines, spaces around `=`, CRLF, a UTF-8 BOM, inline
/// comments after whitespace (` # …`), keys compared case-insensitively, and
/// indented lines under a key (nested settings such as `s3 =`) skipped. A
/// repeated section adds to the first; a later key wins.
IniFile parse_ini(std::string_view text);

/// The profile called `profile` in a parsed file. In the credentials file
/// sections are `[name]`; in the config file `[profile name]`, except
/// `[default]` (botocore also accepts `[profile default]`). nullptr if absent.
const IniSection* find_profile(const IniFile& file, std::string_view profile, bool config_file);

/// A shared file's path: the variable's value (a leading "~/" expanded with
/// HOME), else $HOME/.aws/<file_name>; nullopt without either.
std::optional<std::string> shared_file_path(const core::Environment& env, std::string_view variable,
                                            std::string_view file_name);

enum class FileState { missing, unreadable, read };

/// Reads a whole file into `text`.
FileState read_text_file(const std::string& path, std::string& text);

}  // namespace aws::detail
