#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace core {

/// Removes secrets from text before it leaves the process (log lines, and every text sent to
/// Slack). It hides:
/// - Slack tokens of every kind, of any length, in any case: `xoxa-`, `xoxb-`, `xoxc-`, `xoxd-`,
///   `xoxe-` (and the rotating `xoxe.xoxp-…`), `xoxo-`, `xoxp-`, `xoxr-`, `xoxs-`, `xapp-`; the
///   family is kept (`xoxb-[REDACTED]`). A token runs over letters, digits and `-_./+=%`, so it
///   ends at a quote, a backslash, a comma, `&`, `|`, `>` or white space.
/// - AWS access key ids and IAM unique ids: AKIA, ASIA, AROA, AIDA, AGPA, ANPA, ANVA, APKA, ABIA,
///   ACCA, AIPA or ASCA, then 16 to 124 letters and digits, all upper or all lower case
///   (`AKIA[REDACTED]`).
/// - An unregistered secret access key (40 base64 characters) or session token right after its
///   label: `aws_secret_access_key = …`, `"SecretAccessKey":"…"`, `X-Amz-Security-Token=…`
///   (the label is kept).
/// - Every registered value (kMinSecretSize bytes or more), in any case, also with `/`, `+`,
///   `=` percent-encoded (`%2F` or `%2f`, …) or `/` escaped as JSON may (`\/`).
///
/// The mask is "[REDACTED]", which holds no JSON-special character, and a match never leaves half
/// of a backslash escape behind, so redacted JSON stays valid JSON.
///
/// A Redactor is a handle: copies share one set of secrets. main() builds one and hands copies to
/// the loggers, the Slack front and the credential chain; what the chain registers is hidden by
/// all of them from then on. Thread-safe: secrets may be added while other threads redact.
/// redact() reads an immutable snapshot, which each thread keeps and checks with one atomic load
/// (a small mutex only on its first call after a change); add_*() build a new one, so a secret
/// is hidden by every redact() that starts after the add returned. Not for use from static
/// destructors (the per-thread copy is a thread_local).
///
/// Example:
///   core::Redactor redactor(config.secrets());      // kept for the life of the process
///   auto logger = core::make_stderr_logger("infra-bot", format, level, redactor);
///   redactor.add_rotating_secret(credentials.secret_access_key);  // the logger hides it now
class Redactor {
 public:
  /// Shorter registered values are ignored: they would blank out ordinary words.
  static constexpr std::size_t kMinSecretSize = 8;
  /// Rotating secrets kept: the newest ones win; older ones (expired credentials) are dropped.
  /// 64 is 21 sets of AWS credentials, days of hourly refreshes.
  static constexpr std::size_t kMaxRotatingSecrets = 64;

  Redactor();
  /// A redactor that hides `secrets` (as add_secret).
  explicit Redactor(std::vector<std::string> secrets);
  Redactor(const Redactor&) = default;  ///< shares the secrets (no move: never empty)
  Redactor& operator=(const Redactor&) = default;
  ~Redactor() = default;

  /// Registers a value to hide for the life of the process (configured tokens, secrets from the
  /// environment). Values shorter than kMinSecretSize are ignored.
  void add_secret(std::string_view secret);

  /// Registers a value that will be replaced (credentials that expire and are refreshed): kept
  /// until kMaxRotatingSecrets newer rotating values have been added. Values shorter than
  /// kMinSecretSize, or already registered, change nothing.
  void add_rotating_secret(std::string_view secret);

  /// `text` with every secret replaced by "[REDACTED]", in one pass over it.
  std::string redact(std::string_view text) const;

  /// True when `text` holds something redact() would hide.
  bool contains_secret(std::string_view text) const;

  /// Registered values currently hidden (both kinds).
  std::size_t secret_count() const;

 private:
  struct Snapshot;
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace core
