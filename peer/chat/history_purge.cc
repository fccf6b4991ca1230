#include "peer/chat/history_purge.h"

#include <spdlog/spdlog.h>

#include "common/base/wall_clock.h"

namespace confab::peer {

Result<std::unique_ptr<HistoryPurge>> HistoryPurge::Create(net::Loop& loop,
                                                           chat::Replicas& replicas,
                                                           int64_t retain_days, uint64_t every_ms) {
  std::unique_ptr<HistoryPurge> purge(new HistoryPurge(replicas, retain_days));
  purge->OnTimer();
  CONFAB_ASSIGN_OR_RETURN(purge->timer_, net::Timer::Create(loop, purge.get()));
  if (retain_days > 0)
    CONFAB_RETURN_IF_ERROR(purge->timer_->Start(every_ms, every_ms));
  return purge;
}

HistoryPurge::~HistoryPurge() = default;

void HistoryPurge::Close() {
  if (closed_)
    return;
  closed_ = true;
  timer_->Close();
}

void HistoryPurge::OnTimer() {
  if (retain_days_ <= 0)
    return;
  const int64_t cutoff_ms = NowMs() - retain_days_ * 24 * 3600 * 1000;
  Result<int64_t> purged = replicas_.PurgeOlderThan(cutoff_ms);
  if (!purged.ok()) {
    spdlog::warn("purging history older than {} days: {}", retain_days_,
                 purged.status().ToString());
    return;
  }
  spdlog::info("history: purged {} message(s) older than {} days", *purged, retain_days_);
}

}  // namespace confab::peer
