#include "cached_credentials.hpp"

#include <exception>
#include <utility>

#include <fmt/format.h>

namespace aws::detail {
namespace {

using namespace std::chrono_literals;

core::Result<Credentials> fetch_safely(CredentialSource& source) {
  try {
    return source.fetch();
  } catch (const std::exception& e) {
    // A source is written not to throw; if one does anyway (allocation), the
    // caller gets an error instead of a dead refresher that waiters hang on.
    return core::make_error(core::ErrorCode::internal, "fetching AWS credentials failed", e.what());
  }
}

std::string what_failed(const core::Error& error) {
  return error.detail.empty() || error.detail == error.user_message
             ? error.user_message
             : fmt::format("{} ({})", error.user_message, error.detail);
}

}  // namespace

CachedCredentials::CachedCredentials(CredentialSourcePtr source, const core::Clock& clock,
                                     core::LoggerPtr logger, Observer on_fetched)
    : source_(std::move(source)),
      clock_(clock),
      logger_(logger ? std::move(logger) : core::make_null_logger()),
      on_fetched_(std::move(on_fetched)) {}

core::Result<Credentials> CachedCredentials::get() {
  std::unique_lock lock(mutex_);
  const auto now = clock_.now();
  if (cached_) {
    if (!cached_->expiration) return *cached_;
    const auto left = *cached_->expiration - now;
    if (left >= kAdvisoryRefresh) return *cached_;
    // A refresh is due. While the old credentials are usable, nobody waits for
    // it: one caller fetches, the others go on with what is cached, and after
    // an attempt nobody tries again for a little while.
    const bool usable = left >= kMandatoryRefresh;
    if (usable && (refreshing_ || now < next_attempt_)) return *cached_;
    // Short-lived credentials the source has only just handed out: it has
    // nothing newer, so asking again at once would only hammer it.
    if (!usable && !refreshing_ && !last_error_ && now < next_attempt_ && left > 0s) {
      return *cached_;
    }
  }
  if (refreshing_) {
    // Nothing usable to hand out: share the outcome of the fetch in flight.
    const auto seen = attempts_;
    attempt_done_.wait(lock, [&] { return attempts_ != seen; });
    return settled(clock_.now());
  }
  return refresh(lock);
}

core::Result<Credentials> CachedCredentials::refresh(std::unique_lock<std::mutex>& lock) {
  refreshing_ = true;
  lock.unlock();
  auto fetched = fetch_safely(*source_);
  // Before the lock is taken again, so before anyone can be handed them (even expired ones:
  // they are still secret). Credentials that could not be registered are not handed out.
  if (fetched && on_fetched_) {
    try {
      on_fetched_(*fetched);
    } catch (const std::exception& e) {
      fetched =
          core::make_error(core::ErrorCode::internal, "fetching AWS credentials failed", e.what());
    }
  }
  lock.lock();
  refreshing_ = false;
  ++attempts_;
  const auto now = clock_.now();
  next_attempt_ = now + kRefreshRetryInterval;
  const auto from = source_->describe();

  if (fetched && fetched->expiration && *fetched->expiration <= now) {
    fetched = core::make_error(core::ErrorCode::unavailable,
                               fmt::format("{} returned credentials that expired at {}", from,
                                           core::format_rfc3339(*fetched->expiration)));
  }

  if (fetched) {
    cached_ = std::move(*fetched);
    cached_from_ = from;
    if (failure_logged_) logger_->info("AWS credentials from {} are available again", from);
    failure_logged_ = false;
    last_error_.reset();
    if (cached_->expiration) {
      logger_->debug("AWS credentials from {} are valid until {}", from,
                     core::format_rfc3339(*cached_->expiration));
    }
  } else {
    last_error_ = std::move(fetched).error();
    // Once per run of failures: a signer asks on every request, and a log line
    // per request would bury everything else.
    if (!failure_logged_) {
      failure_logged_ = true;
      if (cached_ && cached_->expiration && *cached_->expiration - now >= kMandatoryRefresh) {
        logger_->warn(
            "refreshing AWS credentials from {} failed; using the current ones until {}: {}",
            cached_from_, core::format_rfc3339(*cached_->expiration - kMandatoryRefresh),
            what_failed(*last_error_));
      } else if (cached_) {
        logger_->error("AWS credentials from {} expire at {} and could not be refreshed: {}",
                       cached_from_, core::format_rfc3339(*cached_->expiration),
                       what_failed(*last_error_));
      } else {
        logger_->error("AWS credentials unavailable: {}", what_failed(*last_error_));
      }
    }
  }
  attempt_done_.notify_all();
  return settled(now);
}

core::Result<Credentials> CachedCredentials::settled(core::TimePoint now) const {
  if (cached_) {
    if (!cached_->expiration) return *cached_;
    const auto left = *cached_->expiration - now;
    // New credentials, or old ones still outside the mandatory margin.
    if (left >= kMandatoryRefresh) return *cached_;
    // Fresh from the source but short-lived: valid, so hand them out.
    if (!last_error_ && left > 0s) return *cached_;
  }
  if (!last_error_) {
    return core::make_error(core::ErrorCode::internal, "AWS credentials are unavailable",
                            "credential cache: no credentials and no error after an attempt");
  }
  if (!cached_) return *last_error_;
  return core::make_error(
      core::ErrorCode::unavailable,
      fmt::format("AWS credentials from {} expire at {} and could not be refreshed: {}",
                  cached_from_, core::format_rfc3339(*cached_->expiration),
                  last_error_->user_message),
      last_error_->detail);
}

}  // namespace aws::detail
