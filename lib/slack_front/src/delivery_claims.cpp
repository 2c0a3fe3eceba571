#include "delivery_claims.hpp"

#include <thread>

namespace slack_front {

DeliveryClaims::DeliveryClaims(infra::SharedState& state, DeliveryClaimSettings settings,
                               const core::Clock& clock, core::LoggerPtr logger, JobAck job_ack)
    : state_(state),
      settings_(std::move(settings)),
      clock_(clock),
      logger_(std::move(logger)),
      job_ack_(std::move(job_ack)),
      lane_(std::max<std::size_t>(1, settings_.threads), 10000, [this](const std::string& what) {
        logger_->error("delivery claim failed: {}", what);
      }) {}

DeliveryClaims::~DeliveryClaims() = default;

void DeliveryClaims::store_ack(const std::string& key, const std::string& envelope_id,
                               const std::string& payload) {
  if (state_.store_ack(key, payload)) return;
  // Without it a later delivery (a retry on another replica) would be taken
  // over once the handling time lapses and handled again: tried again after
  // 250 ms, 1 s and 4 s, off this thread.
  const bool queued = lane_.post(next_strand_++, [this, key, envelope_id, payload] {
    auto pause = settings_.store_retry;
    for (int attempt = 0; attempt < 3; ++attempt, pause *= 4) {
      std::this_thread::sleep_for(pause);
      if (state_.store_ack(key, payload)) return;
    }
    logger_->warn("envelope {}: its ack could not be stored for other replicas", envelope_id);
  });
  if (!queued) logger_->warn("envelope {}: its ack not stored for other replicas", envelope_id);
}

bool DeliveryClaims::claim(const slack::Envelope& envelope, AckFunction ack, Handler handler) {
  return lane_.post(next_strand_++, [this, envelope, ack = std::move(ack),
                                     handler = std::move(handler), queued = clock_.monotonic()] {
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.monotonic() - queued);
    if (ack && waited > settings_.stale_after) {
      logger_->warn(
          "envelope {} waited {} ms for its claim; left unacked for Slack to deliver "
          "again",
          envelope.envelope_id, waited.count());
      return;
    }
    claim_now(envelope, ack, handler);
  });
}

std::string DeliveryClaims::key_of(const slack::Envelope& envelope) {
  auto key = envelope.natural_key();
  if (key.empty()) key = envelope.envelope_id;
  return envelope.type + ' ' + key;
}

void DeliveryClaims::claim_now(const slack::Envelope& envelope, const AckFunction& ack,
                               const Handler& handler) {
  const auto key = key_of(envelope);
  auto claimed = state_.claim_delivery(key, settings_.replica, settings_.keep, settings_.handling);
  // The store's own retries are spent: more rounds after growing pauses
  // (100, 200, 400 ms), since an envelope handled unclaimed may be answered
  // twice. A store that cannot be reached at all fails them at once.
  auto pause = settings_.retry_after;
  for (int round = 1; !claimed && round < settings_.claim_rounds; ++round, pause *= 2) {
    std::this_thread::sleep_for(pause);
    claimed = state_.claim_delivery(key, settings_.replica, settings_.keep, settings_.handling);
  }
  if (!claimed) {
    logger_->warn("envelope {}: the shared state cannot be reached ({}); handled here",
                  envelope.envelope_id, claimed.error().detail);
  }
  if (!claimed) return handler(ack);  // nowhere to store its ack either
  if (claimed->won) {
    if (claimed->taken_over && job_ack_) {
      // The replica that claimed it first died without acking. If it had
      // started the job, that job is reported by a survivor once its lease
      // lapses: acked as it would have been, never run a second time.
      auto job = state_.job_of_delivery(key);
      if (job && *job) {
        logger_->warn("envelope {}: its job {} was started by replica {}, which did not ack it",
                      envelope.envelope_id, (*job)->job_id, (*job)->replica);
        if (!ack) return;
        auto payload = job_ack_(envelope, **job);
        (void)ack(envelope.envelope_id, payload, {});
        store_ack(key, envelope.envelope_id, payload.value_or(""));
        return;
      }
    }
    if (!ack) return handler(ack);
    // The ack first, then its payload for the losers: the winner's ack never waits for the store.
    AckFunction storing = [this, key, ack](const std::string& envelope_id,
                                           std::optional<std::string> payload,
                                           AckWritten on_written) {
      auto status = ack(envelope_id, payload, std::move(on_written));
      store_ack(key, envelope_id, payload.value_or(""));
      return status;
    };
    return handler(storing);
  }
  if (!ack) {
    logger_->debug("event {} taken by another replica", envelope.envelope_id);
    return;
  }
  auto payload = claimed->ack;
  // Counted, not read from the clock: a test's manual clock stands still.
  const auto polls = settings_.ack_wait / std::max(settings_.poll, std::chrono::milliseconds(1));
  for (auto i = 0 * polls; !payload && i < polls; ++i) {
    std::this_thread::sleep_for(settings_.poll);
    if (auto stored = state_.stored_ack(key); stored && *stored) payload = *stored;
  }
  if (!payload) {
    logger_->info("envelope {} taken by another replica, which stored no ack yet; left unacked",
                  envelope.envelope_id);
    return;
  }
  logger_->debug("envelope {} taken by another replica; acked with its payload",
                 envelope.envelope_id);
  if (payload->empty()) payload.reset();
  if (auto status = ack(envelope.envelope_id, std::move(payload), {}); !status) {
    logger_->warn("ack of envelope {} failed: {}", envelope.envelope_id, status.error().detail);
  }
}

}  // namespace slack_front
