#include "console.hpp"

#include <charconv>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "core/ids.hpp"
#include "core/strings.hpp"
#include "infra/command_runner.hpp"
#include "slack/blockkit.hpp"

namespace app {
namespace {

namespace bk = slack::blockkit;

// "90s", "5m", "2h", "1d" → seconds.
std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  long long n = 0;
  const auto* end = text.data() + text.size() - 1;
  auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc{} || ptr != end || n < 0 || n > 10'000'000) return std::nullopt;
  switch (text.back()) {
    case 's':
      return std::chrono::seconds(n);
    case 'm':
      return std::chrono::minutes(n);
    case 'h':
      return std::chrono::hours(n);
    case 'd':
      return std::chrono::days(n);
    default:
      return std::nullopt;
  }
}

bk::Message note(std::string text) {
  bk::Message message;
  message.text = text;
  message.blocks.push_back(bk::Section{"", {std::move(text)}});
  return message;
}

class Console {
 public:
  Console(const core::Config& config, const ConsoleOptions& options, infra::Backend& backend,
          ConsoleClock& clock, std::istream& in, std::ostream& out, core::LoggerPtr logger)
      : options_(options),
        in_(in),
        out_(out),
        clock_(clock),
        backend_(backend),
        policy_(infra::PolicySettings::from(config), clock_),
        runner_(infra::RunnerSettings::from(config), policy_, backend_, clock_, ids_,
                std::move(logger)),
        requester_{options.user, options.user, "console", options.channel} {}

  int run() {
    if (options_.command) return handle(*options_.command) ? 0 : 1;
    std::string line;
    while (prompt(), std::getline(in_, line)) {
      const auto text = core::trim(line);
      if (text.empty() || text.front() == '#') continue;
      if (!options_.interactive) out_ << "> " << text << "\n";
      handle(text);
      out_ << "\n";
    }
    if (options_.interactive) out_ << "\n";
    return 0;
  }

 private:
  void prompt() {
    if (options_.interactive) out_ << "infra> " << std::flush;
  }

  void print(const bk::Message& message) {
    out_ << (options_.json ? bk::to_json(message) + "\n" : bk::to_text(message));
  }

  // Returns false when the command was refused or failed.
  bool handle(std::string_view text) {
    if (text.starts_with(':')) return meta(text);
    auto words = core::trim(text);
    // Phones capitalise the first letter: "/Infra status" is still ours.
    if (words.starts_with('/') && !core::to_lower(words.substr(0, 6)).starts_with("/infra")) {
      print(note(":warning: Only `/infra …` commands run here. Try `/infra help`."));
      return false;
    }
    auto admission = runner_.admit(text, requester_, "console://no-response-url");
    if (auto* reply = std::get_if<infra::Reply>(&admission)) {
      print(reply->message);
      return reply->ok;
    }
    if (auto* job = std::get_if<infra::Job>(&admission)) return finish(*job);
    return confirm(std::get<infra::NeedsConfirmation>(admission));
  }

  bool confirm(const infra::NeedsConfirmation& pending) {
    out_ << (options_.json ? bk::to_json(pending.modal) + "\n" : bk::to_text(pending.modal));
    if (options_.interactive) out_ << "> " << std::flush;
    std::string typed;
    if (!std::getline(in_, typed)) {
      print(infra::views::render_teardown_cancelled(pending.command.env));
      return false;
    }
    if (!options_.interactive) out_ << "> " << core::trim(typed) << "\n";
    auto outcome = runner_.confirm_teardown(pending.confirmation, typed, requester_);
    if (auto* mismatch = std::get_if<infra::ConfirmationMismatch>(&outcome)) {
      print(note(fmt::format(":warning: {} Teardown not started.", mismatch->error_text)));
      return false;
    }
    if (auto* reply = std::get_if<infra::Reply>(&outcome)) {
      print(reply->message);
      return reply->ok;
    }
    return finish(std::get<infra::Job>(outcome));
  }

  bool finish(const infra::Job& job) {
    const auto reply = runner_.run(job);
    print(reply.message);
    return reply.ok;
  }

  bool meta(std::string_view text) {
    auto words = core::split_list(text, ' ');
    if (words.size() == 2 && words[0] == ":advance") {
      if (!clock_.frozen()) {
        print(note(":warning: `:advance` needs a frozen clock: start the console with --now."));
        return false;
      }
      if (auto by = parse_duration(words[1])) {
        clock_.advance(*by);
        print(note(fmt::format("(clock advanced by {} to {})", words[1],
                               core::format_rfc3339(clock_.now()))));
        return true;
      }
    }
    print(note(":warning: Console commands: `:advance <90s|5m|2h|1d>` (with --now)."));
    return false;
  }

  const ConsoleOptions& options_;
  std::istream& in_;
  std::ostream& out_;
  ConsoleClock& clock_;
  core::CounterUuidSource ids_;
  infra::Backend& backend_;
  infra::Policy policy_;
  infra::CommandRunner runner_;
  infra::Requester requester_;
};

}  // namespace

int run_console(const core::Config& config, const ConsoleOptions& options, infra::Backend& backend,
                ConsoleClock& clock, std::istream& in, std::ostream& out, core::LoggerPtr logger) {
  Console console(config, options, backend, clock, in, out, std::move(logger));
  return console.run();
}

}  // namespace app
