// The Dialer's third lane (issue 15): the channel inside a stream relayed
// through the tracker, tried after the direct lanes fail or beside them
// once they have run relay_after_ms (docs/design.md, "The relay through the
// tracker").
#include <spdlog/spdlog.h>

#include <utility>

#include "peer/reach/dialer.h"
#include "peer/reach/dialer_attempt.h"

namespace confab::peer {

void Dialer::ArmRelay(Attempt& a) {
  if (!params_.relay || a.request.direct_only)
    return;
  a.relay.next = State::kDialRelay;
  if (a.route.endpoints.empty() && a.route.udp_candidates.empty())
    return;  // nothing direct to try: Settle starts the relay at once
  Attempt* raw = &a;
  a.relay.alarm = clock_.NewAlarm([this, raw] {
    raw->relay.waiting = false;
    raw->relay.alarm.reset();  // allowed from inside: no call follows
    Run(*raw, raw->relay, Rv::kOk);
  });
  a.relay.alarm->Start(params_.relay_after_ms);
  a.relay.waiting = true;
}

Dialer::Rv Dialer::DoDialRelay(Attempt& a) {
  a.relay_started = true;
  Attempt* raw = &a;
  Result<std::unique_ptr<Transports::Pending>> dial = transports_.DialRelay(
      a.request.name, a.request.initiator,
      [this, raw](Result<std::unique_ptr<channel::ChannelConnection>> result) {
        OnDialDone(*raw, raw->relay, std::move(result));
      });
  if (!dial.ok()) {
    a.failures.push_back("relay: " + std::string(dial.status().message()));
    return Rv::kError;
  }
  spdlog::info("reaching {} through the tracker's relay", a.request.name);
  a.relay.dial = std::move(*dial);
  a.relay.alarm = clock_.NewAlarm([this, raw] {
    raw->relay.alarm.reset();
    OnDialDone(*raw, raw->relay, Status::Unavailable("no handshake in time"));
  });
  a.relay.alarm->Start(params_.relay_dial_timeout_ms);
  a.relay.next = State::kDialRelayComplete;
  return Rv::kPending;
}

Dialer::Rv Dialer::DoDialRelayComplete(Attempt& a, Rv rv) {
  a.relay.alarm.reset();
  a.relay.dial.reset();
  if (rv == Rv::kOk && a.relay.result.ok()) {
    a.connection = std::move(*a.relay.result);
    a.won = Transport::kRelay;
    a.relay.next = State::kDone;
    return Rv::kOk;
  }
  const Status why = a.relay.result.status();
  spdlog::info("relay to {}: {}", a.request.name, why.ToString());
  a.failures.push_back("relay: " + std::string(why.message()));
  return Rv::kError;
}

}  // namespace confab::peer
