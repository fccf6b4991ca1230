// OutboxRetry: the outbox again every retry_ms while it is not empty, besides
// the presence pushes (ChatSessions::RetryNow). Arm() after queueing; the
// timer stops itself once the outbox is empty, so an idle node has no timer
// armed.
//
// Lifetime: `loop`, `messenger` and `sessions` outlive it. Loop thread.
#pragma once

#include <cstdint>
#include <memory>

#include "common/base/result.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "peer/chat/messenger.h"
#include "peer/chat/sessions.h"

namespace confab::peer {

class OutboxRetry final : private net::Timer::Delegate {
 public:
  [[nodiscard]] static Result<std::unique_ptr<OutboxRetry>> Create(net::Loop& loop,
                                                                   Messenger& messenger,
                                                                   ChatSessions& sessions,
                                                                   uint64_t retry_ms);
  ~OutboxRetry() override;

  // Starts the timer unless it runs already (or Close() was called).
  void Arm();
  // Closes the timer. Idempotent.
  void Close();

 private:
  OutboxRetry(Messenger& messenger, ChatSessions& sessions, uint64_t retry_ms)
      : messenger_(messenger), sessions_(sessions), retry_ms_(retry_ms) {}
  void OnTimer() override;

  Messenger& messenger_;
  ChatSessions& sessions_;
  const uint64_t retry_ms_;
  std::unique_ptr<net::Timer> timer_;
  bool closed_ = false;
};

}  // namespace confab::peer
