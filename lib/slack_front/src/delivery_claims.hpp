#pragma once
// Slack delivers an envelope to any connection of the app — with more than
// one replica, to any replica — and delivers it again, elsewhere, when its
// ack is late. Each replica's Socket Mode client drops what it saw itself;
// this drops what another replica took: the first to claim the envelope's
// natural key (trigger id, event id; else its envelope id) in the shared
// state handles it, and stores the ack it sent. One that loses the claim
// acks with that stored payload (waiting briefly for it), so a command
// answered in its ack alone (a refusal, help, "busy") is still answered;
// with none stored in time it leaves the envelope unacked for Slack to
// deliver again. The claim is a round trip to the store: it runs on its own
// lane, never on the socket thread.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/strand_pool.hpp"
#include "infra/shared_state.hpp"
#include "slack/envelope.hpp"
#include "slack_front/app.hpp"

namespace slack_front {

struct DeliveryClaimSettings {
  std::string replica;
  std::chrono::seconds keep{600};     ///< a claim is kept 10 minutes (Slack's retries)
  std::chrono::seconds handling{10};  ///< a winner that stored no ack by then is presumed dead
  std::chrono::milliseconds ack_wait{1500};  ///< a loser waits this long for the stored ack
  std::chrono::milliseconds poll{50};
  std::chrono::milliseconds retry_after{100};  ///< a claim that failed is tried again after this,
  int claim_rounds = 4;                        ///< doubling, this many rounds in all
  std::chrono::milliseconds store_retry{250};  ///< an ack not stored: again after this, ×4, ×16
  /// A claim still queued this long after its envelope came is dropped
  /// unacked (Slack has delivered it again by then): an overloaded replica
  /// sheds stale work instead of answering late. Events, acked already, never.
  std::chrono::milliseconds stale_after{2500};
  std::size_t threads = 8;
};

class DeliveryClaims {
 public:
  /// Runs the envelope's handling once claimed: `ack` stores what it sends
  /// (empty for an envelope acked already, an event).
  using Handler = std::function<void(const AckFunction& ack)>;
  /// The ack of a delivery whose job another replica started before it died
  /// without acking (the "working" message of that job).
  using JobAck = std::function<std::optional<std::string>(const slack::Envelope& envelope,
                                                          const infra::JobRecord& job)>;

  /// The key an envelope is claimed under: its type and natural key (trigger
  /// id, event id), else its envelope id.
  static std::string key_of(const slack::Envelope& envelope);

  DeliveryClaims(infra::SharedState& state, DeliveryClaimSettings settings,
                 const core::Clock& clock, core::LoggerPtr logger, JobAck job_ack = {});
  ~DeliveryClaims();  ///< joins the lane (what is queued still runs)

  /// Claims `envelope` on the lane, then runs `handler` when this replica
  /// won (or the store cannot be reached: the lifecycle then refuses
  /// changes, and reads go on), else acks with the winner's payload.
  /// False when the lane is full (the caller handles it at once).
  bool claim(const slack::Envelope& envelope, AckFunction ack, Handler handler);

  /// Waits up to `timeout` for the claims queued so far (a drain).
  bool wait_idle(std::chrono::milliseconds timeout) const { return lane_.wait_idle(timeout); }

  /// What claim() does, on the calling thread (tests).
  void claim_now(const slack::Envelope& envelope, const AckFunction& ack, const Handler& handler);

 private:
  // Stores the ack sent for `key`, trying again in the background when that fails.
  void store_ack(const std::string& key, const std::string& envelope_id,
                 const std::string& payload);

  infra::SharedState& state_;
  DeliveryClaimSettings settings_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
  JobAck job_ack_;
  std::atomic<std::uint64_t> next_strand_{1};
  core::StrandPool lane_;
};

}  // namespace slack_front
