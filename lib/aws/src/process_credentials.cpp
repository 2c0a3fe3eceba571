#include "process_credentials.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"

namespace aws::detail {
namespace {

std::atomic<std::chrono::milliseconds::rep> g_timeout_ms{60000};
// A credential_process prints one small JSON object; more is a broken command.
constexpr std::size_t kMaxOutput = 64 * 1024;

core::Error process_error(std::string message, std::string detail = {}) {
  return core::make_error(core::ErrorCode::unavailable, std::move(message), std::move(detail));
}

struct Finished {
  int status = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Kills the helper's whole process group (a wrapper script's children
// included) and reaps it.
void kill_and_reap(pid_t pid, int& status) {
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// posix_spawnp, not fork/exec, from this multi-threaded process: the child
// gets /dev/null as stdin, the two pipes as stdout and stderr and no other
// descriptor of ours (Asio's and curl's sockets are not close-on-exec), an
// empty signal mask (run() blocks SIGTERM/SIGINT in every thread) with
// SIGPIPE/SIGTERM/SIGINT at their defaults, and its own process group. The
// pipes are read until both close or the deadline passes, and the process is
// then waited for until that same deadline: a helper that closes its output
// and lingers is killed too.
core::Result<Finished> run(const std::vector<std::string>& argv, std::string_view profile) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return process_error(fmt::format("credential_process of profile \"{}\": no pipe", profile));
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return process_error(fmt::format("credential_process of profile \"{}\": no pipe", profile));
  }
  std::vector<char*> args;
  std::vector<std::string> copies = argv;
  for (auto& arg : copies) args.push_back(arg.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int signal : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) sigaddset(&defaults, signal);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawned != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    Finished failed;
    failed.status = 127 << 8;  // as a shell reports "not found or not executable"
    failed.err = std::strerror(spawned);
    return failed;
  }
  Finished finished;
  static const core::SystemClock clock;  // the project's one time source
  const auto deadline = clock.monotonic() + std::chrono::milliseconds(g_timeout_ms.load());
  const auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.monotonic());
  };
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&finished.out, &finished.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    if (left().count() <= 0) {
      finished.timed_out = true;
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(left().count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends it
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const auto n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        if (sinks[i]->size() < kMaxOutput) sinks[i]->append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      ::close(fds[i].fd);
      fds[i].fd = -1;
      --open_pipes;
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  int status = 0;
  if (finished.timed_out) {
    kill_and_reap(pid, status);
  } else {
    // Both pipes closed: the helper normally exits now; one that lingers is
    // given what is left of the deadline, then killed.
    for (;;) {
      const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
      if (reaped == pid) break;
      if (reaped < 0 && errno != EINTR) break;
      if (left().count() <= 0) {
        finished.timed_out = true;
        kill_and_reap(pid, status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  finished.status = status;
  return finished;
}

}  // namespace

std::chrono::milliseconds set_credential_process_timeout(std::chrono::milliseconds timeout) {
  return std::chrono::milliseconds(g_timeout_ms.exchange(timeout.count()));
}

std::optional<std::vector<std::string>> split_command(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      const auto close = command.find('\'', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      word.append(command.substr(i + 1, close - i - 1));
      i = close;
      in_word = true;
    } else if (c == '"') {
      ++i;
      for (;; ++i) {
        if (i >= command.size()) return std::nullopt;
        if (command[i] == '"') break;
        // POSIX shlex: inside double quotes a backslash escapes only " and \ .
        if (command[i] == '\\' && i + 1 < command.size() &&
            (command[i + 1] == '"' || command[i + 1] == '\\')) {
          ++i;
        }
        word.push_back(command[i]);
      }
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= command.size()) return std::nullopt;
      word.push_back(command[++i]);
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

core::Result<Credentials> run_credential_process(std::string_view command,
                                                 std::string_view profile) {
  const auto argv = split_command(command);
  if (!argv || argv->empty()) {
    return core::make_error(
        core::ErrorCode::config,
        fmt::format("credential_process of profile \"{}\" is not a command line "
                    "(empty, or an unterminated quote)",
                    profile));
  }
  const std::string& program = argv->front();
  auto ran = run(*argv, profile);
  if (!ran) return std::move(ran).error();
  const auto stderr_text = [&] {
    return core::utf8_truncate(core::trim(core::utf8_repair(ran->err)), 500);
  };
  if (ran->timed_out) {
    return process_error(
        fmt::format("credential_process {} of profile \"{}\" did not finish within {} ms and "
                    "was killed",
                    program, profile, g_timeout_ms.load()),
        fmt::format("stderr: {}", stderr_text()));
  }
  if (WIFEXITED(ran->status) && WEXITSTATUS(ran->status) == 127 && ran->out.empty()) {
    return core::make_error(
        core::ErrorCode::config,
        fmt::format("credential_process {} of profile \"{}\" could not be run (exit 127: not "
                    "found or not executable)",
                    program, profile),
        fmt::format("stderr: {}", stderr_text()));
  }
  if (!WIFEXITED(ran->status) || WEXITSTATUS(ran->status) != 0) {
    return process_error(
        WIFEXITED(ran->status)
            ? fmt::format("credential_process {} of profile \"{}\" exited with status {}", program,
                          profile, WEXITSTATUS(ran->status))
            : fmt::format("credential_process {} of profile \"{}\" was killed by signal {}",
                          program, profile, WTERMSIG(ran->status)),
        fmt::format("stderr: {}", stderr_text()));
  }
  const auto fail = [&](std::string_view what) {
    // stdout is never quoted: a half-valid answer may hold a secret.
    return process_error(
        fmt::format("credential_process {} of profile \"{}\" {}", program, profile, what));
  };
  auto document = core::json::parse(ran->out);
  if (!document || !document->IsObject())
    return fail("printed something that is not a JSON object");
  const auto& json = *document;
  const auto version = json.IsObject() && json.HasMember("Version") && json["Version"].IsInt64()
                           ? std::optional<std::int64_t>(json["Version"].GetInt64())
                           : std::nullopt;
  if (!version || *version != 1) return fail("printed no \"Version\": 1 (only version 1 is known)");
  const auto key_id = core::json::get_string(json, "AccessKeyId");
  const auto secret = core::json::get_string(json, "SecretAccessKey");
  if (!key_id || key_id->empty()) return fail("printed no AccessKeyId");
  if (!secret || secret->empty()) return fail("printed no SecretAccessKey");
  Credentials credentials{std::string(*key_id), std::string(*secret), {}, std::nullopt};
  if (const auto token = core::json::get_string(json, "SessionToken")) {
    credentials.session_token = std::string(*token);
  }
  if (const auto expiration = core::json::get_string(json, "Expiration")) {
    const auto expires = core::parse_rfc3339(*expiration);
    if (!expires) return fail("printed an Expiration that is not an RFC 3339 time");
    credentials.expiration = *expires;
  }
  return credentials;
}

}  // namespace aws::detail
