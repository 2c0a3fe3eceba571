#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/reply.hpp"
#include "core/result.hpp"
#include "infra/backend.hpp"
#include "infra/command.hpp"
#include "infra/policy.hpp"

/// Pure renderers: results in, the chat-neutral reply model out (no clock, no
/// I/O; "now" is a parameter). Each front end renders the model: Slack as
/// Block Kit (slack::blockkit), the console as text.
namespace infra::views {

using core::reply::Message;
using core::reply::Modal;

struct HelpInfo {
  std::vector<std::string> environments;
  std::vector<std::string> protected_environments;
  std::string default_environment;
};

/// Usage of every command, the known environments and which are protected.
Message render_help(const HelpInfo& info);

/// A command the parser rejected: its message and a pointer to help.
Message render_parse_error(const core::Error& error);

/// A command the policy refused, with the reason.
Message render_denied(const Command& command, const Decision& decision);

/// The immediate "working on it" reply while a job runs.
Message render_working(const Command& command);
/// The same for a command already described ("stop dev": a job record's).
Message render_working(std::string_view described);

/// Infrastructure Status: DEV — ECS services and RDS instances with icons.
Message render_status(const EnvironmentStatus& status);

/// ":white_check_mark: STOP - DEV", the message and the details (in_channel).
Message render_action_result(const ActionResult& result);

/// ":x: STOP - DEV" and the backend's user-facing message (ephemeral).
Message render_failure(const Command& command, const core::Error& error);

Message render_whitelist_added(const WhitelistAdded& added, core::TimePoint now);
Message render_whitelist_removed(const WhitelistRemoved& removed);
/// Each entry with its description, who added it and its time left.
Message render_whitelist_list(const WhitelistListing& listing, core::TimePoint now);
Message render_whitelist_refreshed(const WhitelistRefreshed& refreshed);

/// What the teardown modal carries in private_metadata (design §5).
struct TeardownConfirmation {
  std::string environment;
  TeardownLevel level = TeardownLevel::full;
  std::string channel_id;
  std::string response_url;
};

inline constexpr std::string_view kTeardownCallbackId = "infra_teardown_confirm";
inline constexpr std::string_view kTeardownBlockId = "teardown_confirm";
inline constexpr std::string_view kTeardownActionId = "confirm_text";

/// The "Confirm Teardown" modal: what is destroyed and what is preserved, and
/// an input "Type `<env>` to confirm".
Modal render_teardown_modal(const TeardownConfirmation& confirmation);

/// Reads private_metadata back; malformed metadata is an invalid_input error.
core::Result<TeardownConfirmation> parse_teardown_metadata(std::string_view private_metadata);

/// The error shown on the modal's input when the typed text does not match.
std::string teardown_mismatch_text(std::string_view environment);

/// A confirmed teardown, announced to everyone at once: "Teardown of `dev`
/// (full) started by @alice — the result will be posted here." (in_channel).
Message render_teardown_started(const Teardown& teardown, std::string_view started_by);

/// "Teardown of `dev` cancelled."
Message render_teardown_cancelled(std::string_view environment);

/// The metadata JSON the modal carries (and the mention's button value).
std::string teardown_metadata_json(const TeardownConfirmation& confirmation);

inline constexpr std::string_view kOpenTeardownActionId = "infra_open_teardown";

/// A mention has no trigger_id to open a modal with: this message asks for
/// the confirmation through a button (action_id kOpenTeardownActionId, value
/// the metadata JSON) whose click brings one.
Message render_teardown_prompt(const TeardownConfirmation& confirmation);

/// "`stop dev` is already running (started by @alice 40 s ago)."
Message render_busy(std::string_view running_command, std::string_view started_by,
                    std::chrono::seconds ago);

/// The "working" message again, with the time so far (long jobs).
Message render_progress(const Command& command, std::chrono::seconds elapsed);

/// A command this backend cannot run at all, with what to configure.
Message render_unsupported(std::string_view why);

/// The expiry notice: one allow-list entry (all its ports) removed at expiry,
/// with its description, who added it and the environment (in_channel).
Message render_whitelist_expired(const WhitelistEntry& entry, std::string_view environment);

/// A slash command that arrived while the service shuts down.
Message render_shutting_down();

/// A job that could not finish before shutdown.
Message render_interrupted(const Command& command);

/// A job whose replica died (or shut down) before it answered, reported by
/// another replica: "The bot restarted while `stop dev` ran (started by
/// @alice 3 min ago); it may not have finished." then `state_now` (the
/// environment's status, when it could be read), in the channel.
Message render_orphaned(std::string_view command, std::string_view started_by,
                        std::chrono::seconds ago, const std::optional<Message>& state_now);

/// `message` with "Requested by <name>" underneath, posted in the channel
/// (a mutating result names who ran it).
Message for_channel(Message message, std::string_view requested_by);

/// The audit channel's line: "@alice stopped dev — ok in 41 s".
Message render_audit_line(const Command& command, std::string_view who, std::string_view outcome,
                          std::chrono::seconds took);

/// "41 s", "2 min 5 s", "1 h 3 min".
std::string format_elapsed(std::chrono::seconds elapsed);

/// "3d 4h", "59m 59s", "expired": compact time left for whitelist entries.
std::string format_time_left(std::chrono::seconds left);

}  // namespace infra::views
