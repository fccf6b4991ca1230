#include "peer/chat/outbox_retry.h"

#include <spdlog/spdlog.h>

namespace confab::peer {

Result<std::unique_ptr<OutboxRetry>> OutboxRetry::Create(net::Loop& loop, Waiting waiting,
                                                         ChatSessions& sessions,
                                                         uint64_t retry_ms) {
  std::unique_ptr<OutboxRetry> retry(new OutboxRetry(std::move(waiting), sessions, retry_ms));
  CONFAB_ASSIGN_OR_RETURN(retry->timer_, net::Timer::Create(loop, retry.get()));
  return retry;
}

OutboxRetry::~OutboxRetry() = default;

void OutboxRetry::Arm() {
  if (!closed_ && !timer_->active())
    (void)timer_->Start(retry_ms_, retry_ms_);
}

void OutboxRetry::Close() {
  if (closed_)
    return;
  closed_ = true;
  timer_->Close();
}

void OutboxRetry::OnTimer() {
  Result<std::vector<std::string>> waiting = waiting_();
  if (!waiting.ok()) {
    spdlog::warn("reading the outbox: {}", waiting.status().ToString());
    return;
  }
  if (waiting->empty()) {
    timer_->Stop();  // idle: nothing to retry until the next message
    return;
  }
  sessions_.DeliverAll({waiting->begin(), waiting->end()});
}

}  // namespace confab::peer
