#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "aws/credentials.hpp"
#include "core/log.hpp"
#include "credential_source.hpp"

namespace aws::detail {

/// Refresh when less than this is left (botocore's advisory timeout).
inline constexpr std::chrono::minutes kAdvisoryRefresh{15};
/// Inside this margin old credentials are no longer handed out when a refresh
/// fails (the bot's rule, aws.md §4.7: fail loudly 5 min before expiry).
inline constexpr std::chrono::minutes kMandatoryRefresh{5};
/// After a refresh attempt, callers in the advisory window use the cached
/// credentials for this long before one of them tries again, so a broken
/// endpoint is not asked on every signature.
inline constexpr std::chrono::seconds kRefreshRetryInterval{30};

/// Caches what `source` returns and refreshes it ahead of expiry.
///
/// - Credentials without an expiry are fetched once and kept.
/// - With kAdvisoryRefresh or more left, get() returns the cache.
/// - Below that, one caller refreshes (single-flight) while the others keep
///   getting the cached credentials without waiting; only callers that have
///   nothing usable (no credentials yet, or inside kMandatoryRefresh) wait for
///   the one fetch in flight and share its outcome.
/// - A failed refresh keeps the old credentials until kMandatoryRefresh before
///   they expire, then get() returns the error. A failure is logged once until
///   a fetch succeeds again.
/// - `on_fetched` sees every set of credentials the source returns, before any
///   caller can get it (the redactor learns them there); it runs on the fetching
///   thread without the cache's lock, and must not call get().
class CachedCredentials final : public CredentialsProvider {
 public:
  using Observer = std::function<void(const Credentials&)>;

  CachedCredentials(CredentialSourcePtr source, const core::Clock& clock, core::LoggerPtr logger,
                    Observer on_fetched = {});

  // aws::CredentialsProvider
  core::Result<Credentials> get() override;

 private:
  core::Result<Credentials> refresh(std::unique_lock<std::mutex>& lock);
  /// What callers get once an attempt is over (lock held).
  core::Result<Credentials> settled(core::TimePoint now) const;

  CredentialSourcePtr source_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
  Observer on_fetched_;

  std::mutex mutex_;
  std::condition_variable attempt_done_;
  std::optional<Credentials> cached_;
  std::optional<core::Error> last_error_;  ///< of the latest attempt; reset on success
  std::string cached_from_;                ///< source_->describe() when cached_ was fetched
  bool refreshing_ = false;
  std::uint64_t attempts_ = 0;  ///< finished attempts; waiters watch it change
  core::TimePoint next_attempt_{};
  bool failure_logged_ = false;
};

}  // namespace aws::detail
