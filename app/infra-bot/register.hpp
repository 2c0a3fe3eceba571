#pragma once

// `infra-bot register slack|discord` (issue 17): provisions the chat apps from the repository's
// definitions, idempotently and fail-closed.
//
// Every step prints one line, "✔ …" or "✘ …" ("→ …" for what an operator does by hand). A store
// read that fails for any reason but "not found" stops before any chat-side call; a stored value
// is replaced only with --force, or by this command's own rotation of the Slack configuration
// token; a second run with nothing changed makes no write anywhere.
//
// Store layout (`--store ssm:/path` = one SecureString parameter; `--store secretsmanager:name`
// = one secret's SecretString), a JSON object:
//   slack:   {"app_id": "A…" | "", "config_token": "xoxe.xoxp-…", "refresh_token": "xoxe-…",
//             "exp": <unix seconds the config token expires>,
//             "rotated_from": "<hex SHA-256 of the refresh token exchanged for this pair>"}
//   discord: {"app_id": "<application id>", "token": "<bot token>"}
// `rotated_from` lets a second run that still has the (spent) environment pair recognise it as
// already rotated into the store, without keeping that token.

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/result.hpp"

namespace app::reg {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitConfig = 2;

/// Where register keeps its document: read once, written at most once or twice per run.
class TokenStore {
 public:
  virtual ~TokenStore() = default;
  /// The reference as written ("ssm:/infra-bot/slack"): safe to print.
  virtual std::string describe() const = 0;
  /// The stored text; nullopt when the parameter / secret does not exist; an Error for any
  /// other failure (access denied, throttled after retries, KMS, unreachable): callers stop.
  virtual core::Result<std::optional<std::string>> read() = 0;
  /// Writes `document`. `replace` says the caller decided to overwrite an existing value (with
  /// --force, or its own rotation); without it an existing value is an error, never replaced.
  virtual core::Status write(const std::string& document, bool replace) = 0;
};

/// The Slack calls register makes (SLACK_API_URL base); errors carry Slack's `error` code.
class SlackManifestApi {
 public:
  struct Rotated {
    std::string token;          ///< xoxe.xoxp-… (secret)
    std::string refresh_token;  ///< xoxe-… (secret)
    std::int64_t exp = 0;       ///< unix seconds
  };
  struct Created {
    std::string app_id;
    std::string oauth_authorize_url;
  };
  virtual ~SlackManifestApi() = default;
  virtual core::Result<Rotated> rotate(const std::string& refresh_token) = 0;
  /// invalid_manifest: the user_message lists each "pointer: message".
  virtual core::Status validate(const std::string& token, const std::string& manifest,
                                const std::string& app_id) = 0;
  virtual core::Result<Created> create(const std::string& token, const std::string& manifest) = 0;
  virtual core::Status update(const std::string& token, const std::string& app_id,
                              const std::string& manifest) = 0;
  /// The app's manifest as JSON text.
  virtual core::Result<std::string> export_manifest(const std::string& token,
                                                    const std::string& app_id) = 0;
};

/// Discord's application API as register uses it (DISCORD_API_URL base, `Bot` auth).
class DiscordAdminApi {
 public:
  struct Application {
    std::string id;
    std::string name;
  };
  virtual ~DiscordAdminApi() = default;
  virtual core::Result<Application> current_application(const std::string& token) = 0;
  /// GET /applications/{app}/guilds/{guild}/commands: the JSON array text.
  virtual core::Result<std::string> guild_commands(const std::string& token,
                                                   const std::string& app_id,
                                                   const std::string& guild_id) = 0;
  /// PUT (bulk overwrite) of the same route with `commands_json`.
  virtual core::Status put_guild_commands(const std::string& token, const std::string& app_id,
                                          const std::string& guild_id,
                                          const std::string& commands_json) = 0;
};

/// Over core::http::Client: Slack Web API forms with `Authorization: Bearer`, one wait on 429.
std::unique_ptr<SlackManifestApi> make_slack_manifest_api(core::http::Client& http,
                                                          std::string api_url);
/// Over discord::RestClient: `Authorization: Bot <token>`, Discord's User-Agent, its rate
/// limits (up to 4 attempts, waits of up to 30 s).
std::unique_ptr<DiscordAdminApi> make_discord_admin_api(core::http::Client& http,
                                                        std::string api_url, std::string version);

// ---- the flows, on injected stores and APIs ------------------------------------------------

struct SlackInputs {
  std::optional<std::string> config_token;   ///< SLACK_CONFIG_TOKEN
  std::optional<std::string> refresh_token;  ///< SLACK_CONFIG_REFRESH_TOKEN
  std::string manifest_path;                 ///< shown in messages
  std::string manifest_json;                 ///< its text
  bool force = false;
  std::int64_t now_unix = 0;
  std::string recovery_dir;  ///< where a rotated pair that could not be stored is kept ($TMPDIR)
};

/// `register slack`. Exit code (kExitOk / kExitFailure / kExitConfig); every step on `out`.
int register_slack(const SlackInputs& in, TokenStore& store, SlackManifestApi& slack,
                   std::ostream& out);

struct DiscordInputs {
  std::optional<std::string> token;     ///< the bot token, when DISCORD_BOT_TOKEN gave one
  bool token_from_environment = false;  ///< a literal (stored at --store), not a reference
  std::string token_source;             ///< "DISCORD_BOT_TOKEN" or the reference, for messages
  std::string guild_id;
  std::string desired_commands_json;  ///< discord_front::infra_commands_json(environments)
  bool force = false;
};

/// `register discord`; `store` may be null (no --store: nothing is stored).
int register_discord(const DiscordInputs& in, TokenStore* store, DiscordAdminApi& discord,
                     std::ostream& out);

// ---- pure helpers (tested directly) --------------------------------------------------------

/// Whether Slack's exported manifest already says everything `desired` says: each member the
/// file sets is equal in the export (arrays of scalars in any order); members only Slack adds
/// (defaults, `_metadata`) are ignored.
bool manifest_matches(std::string_view desired_json, std::string_view exported_json);

/// The install URL of the `bot` and `applications.commands` scopes with no permissions.
std::string discord_invite_url(std::string_view application_id);

/// Hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);

// ---- the subcommands, from the environment --------------------------------------------------

struct Options {
  std::string store;          ///< --store (empty = none)
  bool force = false;         ///< --force
  std::string manifest_path;  ///< --manifest (slack)
};

int run_register_slack(const core::Environment& env, const Options& options, std::ostream& out,
                       std::ostream& err);
int run_register_discord(const core::Environment& env, const Options& options, std::ostream& out,
                         std::ostream& err);

}  // namespace app::reg
