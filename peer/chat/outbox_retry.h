// OutboxRetry: reaches everyone still waiting for something of ours every
// retry_ms while anyone is, besides the presence pushes
// (ChatSessions::RetryNow). Arm() after writing; the timer stops itself once
// nobody waits, so an idle node has no timer armed. Who waits is `waiting`'s
// answer: the members that lack entries we hold (Replicas::MembersLacking).
//
// Lifetime: `loop` and `sessions` outlive it. Loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/base/result.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "peer/chat/sessions.h"

namespace confab::peer {

class OutboxRetry final : private net::Timer::Delegate {
 public:
  using Waiting = std::function<Result<std::vector<std::string>>()>;
  [[nodiscard]] static Result<std::unique_ptr<OutboxRetry>> Create(net::Loop& loop, Waiting waiting,
                                                                   ChatSessions& sessions,
                                                                   uint64_t retry_ms);
  ~OutboxRetry() override;

  // Starts the timer unless it runs already (or Close() was called).
  void Arm();
  // Closes the timer. Idempotent.
  void Close();

 private:
  OutboxRetry(Waiting waiting, ChatSessions& sessions, uint64_t retry_ms)
      : waiting_(std::move(waiting)), sessions_(sessions), retry_ms_(retry_ms) {}
  void OnTimer() override;

  Waiting waiting_;
  ChatSessions& sessions_;
  const uint64_t retry_ms_;
  std::unique_ptr<net::Timer> timer_;
  bool closed_ = false;
};

}  // namespace confab::peer
