#pragma once

// What replicas of infra-bot share (issue 18): delivery claims, locks with a
// lease, cooldowns and the read rate limit, job records, one-time claims
// (a confirmation submitted twice) and the signing key. One interface, two
// implementations: MemoryState (one process; the default) and DynamoDbState
// (INFRA_STATE_TABLE). Every write that decides something is one conditional
// write on one item — no transactions — and expiry is decided by comparing
// `expires_at` with the caller's clock, never by the store's TTL sweep.
//
// Errors: an `unavailable` core::Error when the store cannot be reached or
// answers 5xx/throttling after its retries (callers fail closed for changes
// and go on for reads); `internal` for an answer that cannot be read.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace infra {

/// The first claim of a delivery, or what the one who claimed it first acked.
struct DeliveryClaim {
  bool won = false;
  /// When lost: the ack the winner stored, if it has stored one yet ("" = an
  /// ack without payload).
  std::optional<std::string> ack;
  /// When won: from an earlier claimant that stored no ack within its
  /// handling time — it may have died after starting the delivery's job
  /// (job_of_delivery() tells).
  bool taken_over = false;
};

/// Who holds a lock: shown in a "busy" answer on any replica.
struct LockHolder {
  std::string job_id;      ///< the request id of the job holding it
  std::string replica;     ///< the replica running that job
  std::string command;     ///< "stop dev" (described, for the busy answer)
  std::string started_by;  ///< "@alice"
  core::TimePoint started{};
};

/// A job as recorded while it runs, so that another replica can tell its
/// requester the outcome when the replica running it dies.
struct JobRecord {
  std::string job_id;        ///< the request id
  std::string replica;       ///< who runs it (renews its lease)
  std::string command;       ///< the typed command, canonical ("stop dev")
  std::string environment;   ///< "dev"
  std::string requester_id;  ///< "U123"
  std::string started_by;    ///< "@alice"
  std::string reply_to;      ///< the front end's address of the conversation (opaque)
  std::string delivery;      ///< the delivery claim it came from (may be empty)
  core::TimePoint started{};
  core::TimePoint expires_at{};  ///< the lease: renewed while the job runs
};

/// The state replicas share. Implementations are thread-safe; each call is
/// at most a few round trips and bounded in time (DynamoDbState: under 5 s,
/// retries included).
class SharedState {
 public:
  virtual ~SharedState() = default;

  /// "memory" or "dynamodb" (logs, metrics, doctor).
  virtual std::string_view name() const = 0;
  /// Whether other processes see this state: the front end claims each
  /// delivery, the lifecycle records jobs and sweeps for orphans.
  virtual bool shared() const = 0;
  /// How long calls have failed in a row (zero while they succeed): /readyz
  /// turns unready after 30 s of it.
  virtual std::chrono::milliseconds failing_for() const { return {}; }

  // ---- delivery claims (kept `ttl`, 10 minutes) ----

  /// Claims the delivery `key` (the envelope's natural key — trigger id,
  /// event id — else its envelope id) for `replica`. A claim whose winner
  /// stored no ack within `handling` can be claimed again (the winner died
  /// before acking).
  virtual core::Result<DeliveryClaim> claim_delivery(const std::string& key,
                                                     const std::string& replica,
                                                     std::chrono::seconds ttl,
                                                     std::chrono::seconds handling) = 0;
  /// The winner's ack for `key` ("" = an ack without payload), for a replica
  /// that lost the claim.
  virtual core::Status store_ack(const std::string& key, const std::string& payload) = 0;
  /// The stored ack, if any (a consistent read).
  virtual core::Result<std::optional<std::string>> stored_ack(const std::string& key) = 0;

  // ---- locks ("dev/services", "dev/allow-list") ----

  /// Takes `lock` for `holder` with a lease of `lease` unless another job
  /// holds it with a lease not yet lapsed: nullopt when taken, else that
  /// holder.
  virtual core::Result<std::optional<LockHolder>> acquire_lock(const std::string& lock,
                                                               const LockHolder& holder,
                                                               std::chrono::seconds lease) = 0;
  /// Extends the lease of `job_id` on `lock`; a `conflict` Error when the job
  /// no longer holds it (its lease lapsed and another took it).
  virtual core::Status renew_lock(const std::string& lock, const std::string& job_id,
                                  std::chrono::seconds lease) = 0;
  /// Frees `lock` if `job_id` holds it (else does nothing).
  virtual core::Status release_lock(const std::string& lock, const std::string& job_id) = 0;

  // ---- cooldowns and the read rate limit ----

  /// Starts the cooldown `key` for `length` unless one is running: nullopt
  /// when started, else the time left of the running one.
  virtual core::Result<std::optional<std::chrono::seconds>> start_cooldown(
      const std::string& key, std::chrono::seconds length) = 0;
  /// The time left of the cooldown `key`, nullopt when none runs. No write.
  virtual core::Result<std::optional<std::chrono::seconds>> cooldown_left(
      const std::string& key) = 0;
  /// Counts one read by `user` against `limit` reads per 60 s: nullopt when
  /// counted, else when to try again. MemoryState keeps a sliding window;
  /// DynamoDbState a fixed one (the minute of the clock), one item per user
  /// and minute.
  virtual core::Result<std::optional<std::chrono::seconds>> count_read(const std::string& user,
                                                                       int limit) = 0;
  /// What count_read() would answer, without counting.
  virtual core::Result<std::optional<std::chrono::seconds>> read_limited(const std::string& user,
                                                                         int limit) = 0;

  // ---- job records ----

  /// Records a job that starts (its lease: record.expires_at).
  virtual core::Status put_job(const JobRecord& record) = 0;
  /// Extends the lease of a job this replica runs; `conflict` when the record
  /// is gone or a survivor reported it.
  virtual core::Status renew_job(const std::string& job_id, const std::string& replica,
                                 core::TimePoint expires_at) = 0;
  /// The job ended on `replica`: the record is removed. `conflict` when a
  /// survivor reported it — the caller must not answer. A record that is not
  /// there (never written, or removed by a retry of this call) is success.
  virtual core::Status end_job(const std::string& job_id, const std::string& replica) = 0;
  /// The job recorded for `delivery` (JobRecord::delivery), if any.
  virtual core::Result<std::optional<JobRecord>> job_of_delivery(const std::string& delivery) = 0;
  /// Running jobs whose lease lapsed before now: each is marked reported and
  /// returned to exactly one caller (whoever marks it reports it); the mark
  /// stays for end_job() of the replica that ran it to see.
  virtual core::Result<std::vector<JobRecord>> take_orphans() = 0;

  // ---- one-time claims and shared values ----

  /// True for the first claim of `key` within `ttl` (a confirmation dialog
  /// submitted twice, on any replica), false after.
  virtual core::Result<bool> claim_once(const std::string& key, std::chrono::seconds ttl) = 0;
  /// Whether `key` was claimed (and has not expired), without claiming it.
  virtual core::Result<bool> claimed(const std::string& key) = 0;
  /// The value stored under `name`, storing `proposed` first when there is
  /// none (every replica ends up with the first one stored: the signing key).
  virtual core::Result<std::string> shared_value(const std::string& name,
                                                 const std::string& proposed) = 0;
};

}  // namespace infra
