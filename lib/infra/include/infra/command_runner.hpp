#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/reply.hpp"
#include "infra/backend.hpp"
#include "infra/command.hpp"
#include "infra/command_parser.hpp"
#include "infra/policy.hpp"
#include "infra/views.hpp"

namespace infra {

struct RunnerSettings {
  ParserSettings parser;
  views::HelpInfo help;

  static RunnerSettings from(const core::Config& config);
};

/// An accepted command, ready to run on a worker.
struct Job {
  Command command;
  Requester requester;
  std::string request_id;
};

/// A teardown (either level) waits for the typed confirmation in this modal.
struct NeedsConfirmation {
  Teardown command;
  views::TeardownConfirmation confirmation;
  core::reply::Modal modal;
};

/// A rendered answer and whether it reports success (false for parse errors,
/// refusals and backend failures: the audit outcome and the console's exit code).
struct Reply {
  core::reply::Message message;
  bool ok = true;
  DenyReason denied = DenyReason::none;  ///< why the policy refused, when it did
};

/// The typed text did not match; `error_text` goes on the modal's input.
struct ConfirmationMismatch {
  std::string error_text;
};

/// What admit() decided: an immediate reply (help, a parse error, a refusal),
/// a job to run, or a confirmation to ask for.
using Admission = std::variant<Reply, Job, NeedsConfirmation>;
/// What confirm_teardown() decided.
using Confirmation = std::variant<Reply, Job, ConfirmationMismatch>;

/// The /infra flow shared by the console and the Slack service: text →
/// Command → Policy → Backend → views. admit() is fast and does no I/O (it
/// runs where the ack is sent); run() calls the backend and may block for
/// minutes. Thread-safe when Policy and Backend are.
class CommandRunner {
 public:
  CommandRunner(RunnerSettings settings, Policy& policy, Backend& backend, const core::Clock& clock,
                core::IdSource& ids, core::LoggerPtr logger);

  /// Parses and checks `text`. An accepted mutating command starts the
  /// user's cooldown here, so a repeat is refused at once. `response_url`
  /// travels in the teardown modal's metadata.
  Admission admit(std::string_view text, const Requester& who, std::string_view response_url = {});

  /// The two halves of admit(text): parse (a parse error is a ready Reply),
  /// then admit the typed command. The App looks at the command in between
  /// (one job per environment).
  std::variant<Reply, Command> parse(std::string_view text) const;
  Admission admit(Command command, const Requester& who, std::string_view response_url = {});

  /// The policy's refusal of `command` for `who` as a reply, without side
  /// effects (no cooldown started); nullopt when it would be allowed now.
  std::optional<Reply> refusal(const Command& command, const Requester& who) const;

  /// The modal came back with `typed`: policy is checked again (a submitted
  /// view is never trusted), then the text must equal the environment name.
  Confirmation confirm_teardown(const views::TeardownConfirmation& confirmation,
                                std::string_view typed, const Requester& who);

  /// A fresh request id (the audit line of a command that never becomes a
  /// job still has one).
  std::string new_request_id() { return ids_.next(); }

  /// The backend's name ("lambda", "simulated") for logs and audit.
  std::string_view backend_name() const { return backend_.name(); }

  /// Runs an accepted job on the backend and renders its result or failure.
  Reply run(const Job& job);

 private:
  // The backend's reason it cannot run `command` at all (no I/O).
  std::optional<std::string> unsupported(const Command& command) const;
  Reply deny(const Command& command, const Requester& who, const Decision& decision) const;
  // The policy has admitted `command` (its cooldown has started).
  Job accept(Command command, const Requester& who);

  RunnerSettings settings_;
  Policy& policy_;
  Backend& backend_;
  const core::Clock& clock_;
  core::IdSource& ids_;
  core::LoggerPtr logger_;
};

}  // namespace infra
