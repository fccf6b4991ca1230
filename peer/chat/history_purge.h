// HistoryPurge: history.retain_days (config.toml). Purges history older than
// that once at creation (before anything is shown or sent) and then every
// `every_ms`; with retain_days 0 it keeps everything and arms no timer.
// Signed entries keep their place without their body
// (Replicas::PurgeOlderThan).
//
// Lifetime: `loop` and `replicas` outlive it. Loop thread.
#pragma once

#include <cstdint>
#include <memory>

#include "common/base/result.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "peer/chat/replicas.h"

namespace confab::peer {

class HistoryPurge final : private net::Timer::Delegate {
 public:
  [[nodiscard]] static Result<std::unique_ptr<HistoryPurge>> Create(net::Loop& loop,
                                                                    chat::Replicas& replicas,
                                                                    int64_t retain_days,
                                                                    uint64_t every_ms);
  ~HistoryPurge() override;

  // Closes the timer. Idempotent.
  void Close();

 private:
  HistoryPurge(chat::Replicas& replicas, int64_t retain_days)
      : replicas_(replicas), retain_days_(retain_days) {}
  // Purges (when retain_days is set) and logs what it did.
  void OnTimer() override;

  chat::Replicas& replicas_;
  const int64_t retain_days_;
  std::unique_ptr<net::Timer> timer_;
  bool closed_ = false;
};

}  // namespace confab::peer
