#pragma once

// credential_process (private to lib/aws): runs the profile's command the
// way botocore's ProcessProvider does and reads its JSON (Version 1).

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "aws/credentials.hpp"
#include "core/result.hpp"

namespace aws::detail {

/// How long the command may run before it is killed (60 s; tests shorten it).
/// Thread-safe; returns the value it replaced.
std::chrono::milliseconds set_credential_process_timeout(std::chrono::milliseconds timeout);

/// Splits a command line as Python's shlex.split (POSIX mode) does: botocore
/// runs the result without a shell. nullopt on an unterminated quote or a
/// trailing backslash.
std::optional<std::vector<std::string>> split_command(std::string_view command);

/// Runs `command` (split, no shell; the program is looked up in PATH) with the
/// bot's environment, stdin from /dev/null, and reads its stdout:
/// {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}.
/// Errors (`unavailable`; `config` for a command that cannot be split or run)
/// name `profile` and the program but never quote stdout; stderr goes only
/// into the detail, truncated.
core::Result<Credentials> run_credential_process(std::string_view command,
                                                 std::string_view profile);

}  // namespace aws::detail
