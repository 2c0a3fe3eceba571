#pragma once

// Starts a Python fake server (run with Debian's /usr/bin/python3) as a child
// process and stops it when destroyed. The script must bind 127.0.0.1 (port 0)
// and print "PORT <n>" as its first line on stdout, then flush. Everything it
// prints after that (one line per event, e.g. JSON of each request it saw) is
// collected and can be read with lines().

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test {

class PythonFake {
 public:
  /// `script`: path of the .py file; `args`: its arguments.
  PythonFake(const std::string& script, const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> argv;
      std::string python = "/usr/bin/python3";
      std::string unbuffered = "-u";
      argv.push_back(python.data());
      argv.push_back(unbuffered.data());
      std::string script_copy = script;
      argv.push_back(script_copy.data());
      std::vector<std::string> copies = args;
      for (auto& arg : copies) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(python.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    stream_ = ::fdopen(out[0], "r");
    std::string first;
    if (read_line(first) && first.rfind("PORT ", 0) == 0) port_ = std::stoi(first.substr(5));
    reader_ = std::thread([this] {
      std::string line;
      while (read_line(line)) {
        std::lock_guard lock(mutex_);
        lines_.push_back(line);
      }
    });
  }

  ~PythonFake() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (reader_.joinable()) reader_.join();
    if (stream_ != nullptr) std::fclose(stream_);
  }

  PythonFake(const PythonFake&) = delete;
  PythonFake& operator=(const PythonFake&) = delete;

  /// 0 when the fake did not start (its stderr shows why).
  int port() const { return port_; }

  /// Lines printed after the PORT line, so far.
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

  /// Waits (up to `timeout`) until at least `count` lines have arrived.
  bool wait_for_lines(std::size_t count,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (lines().size() >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return lines().size() >= count;
  }

 private:
  bool read_line(std::string& line) {
    line.clear();
    if (stream_ == nullptr) return false;
    int c = 0;
    while ((c = std::fgetc(stream_)) != EOF) {
      if (c == '\n') return true;
      line.push_back(static_cast<char>(c));
    }
    return !line.empty();
  }

  pid_t pid_ = -1;
  int port_ = 0;
  std::FILE* stream_ = nullptr;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace test
