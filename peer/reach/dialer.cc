#include "peer/reach/dialer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "common/base/wall_clock.h"
#include "common/net/timer.h"
#include "peer/reach/dialer_attempt.h"

namespace confab::peer {

Dialer::Dialer(DialerParams params, Clock& clock, Transports& transports, Directory& directory,
               ContactBook& contacts, const std::set<std::string>& revoked_keys)
    : params_(std::move(params)),
      clock_(clock),
      transports_(transports),
      directory_(directory),
      contacts_(contacts),
      revoked_keys_(revoked_keys) {}

Dialer::~Dialer() = default;

Status Dialer::Reach(Request request, Requester* requester) {
  if (closed_)
    return Status::Unavailable("shutting down");
  Key key{request.name, static_cast<int>(request.initiator.purpose), requester};
  if (attempts_.count(key) != 0)
    return Status::Ok();  // joined: the one in flight answers
  if (auto held = held_until_ms_.find(key); held != held_until_ms_.end()) {
    if (clock_.NowMs() < held->second)
      return Status::Unavailable(fmt::format("no direct path to {}; next try in {} s", request.name,
                                             (held->second - clock_.NowMs() + 999) / 1000));
    held_until_ms_.erase(held);
  }
  auto owned = std::make_unique<Attempt>();
  Attempt& a = *owned;
  a.key = key;
  a.request = std::move(request);
  a.requester = requester;
  a.tcp.next = State::kLookup;
  attempts_.emplace(key, std::move(owned));
  Run(a, a.tcp, Rv::kOk);
  return Status::Ok();
}

bool Dialer::InFlight(const std::string& name, proto::Purpose purpose, Requester* requester) const {
  return attempts_.count(Key{name, static_cast<int>(purpose), requester}) != 0;
}

void Dialer::RetryNow(const std::string& name) {
  for (auto it = held_until_ms_.begin(); it != held_until_ms_.end();) {
    if (std::get<0>(it->first) == name)
      it = held_until_ms_.erase(it);
    else
      ++it;
  }
}

void Dialer::OnLookupResult(const proto::LookupResult& result) {
  auto found = lookups_.find(result.request_id());
  if (found == lookups_.end())
    return;
  const Key key = found->second;
  lookups_.erase(found);
  auto it = attempts_.find(key);
  if (it == attempts_.end() || it->second->tcp.next != State::kLookupComplete)
    return;
  Attempt& a = *it->second;
  a.answer = result;
  a.fresh = true;
  a.tcp.waiting = false;
  Run(a, a.tcp, Rv::kOk);
}

void Dialer::Cancel(Requester* requester) {
  for (auto it = attempts_.begin(); it != attempts_.end();) {
    if (std::get<2>(it->first) == requester)
      it = attempts_.erase(it);  // its dials and alarms are abandoned with it
    else
      ++it;
  }
  for (auto it = held_until_ms_.begin(); it != held_until_ms_.end();) {
    if (std::get<2>(it->first) == requester)
      it = held_until_ms_.erase(it);
    else
      ++it;
  }
  for (auto it = lookups_.begin(); it != lookups_.end();) {
    if (std::get<2>(it->second) == requester)
      it = lookups_.erase(it);  // its answer, if it comes, is ignored
    else
      ++it;
  }
}

void Dialer::Close() {
  closed_ = true;
  attempts_.clear();
  lookups_.clear();
}

// ---- the state machine -------------------------------------------------------

void Dialer::Run(Attempt& a, Lane& lane, Rv rv) {
  DoLoop(a, lane, rv);
  Settle(a);  // may destroy `a`: last
}

Dialer::Rv Dialer::DoLoop(Attempt& a, Lane& lane, Rv rv) {
  do {
    const State state = lane.next;
    lane.next = State::kNone;
    switch (state) {
      case State::kLookup:
        rv = DoLookup(a);
        break;
      case State::kLookupComplete:
        rv = DoLookupComplete(a);
        break;
      case State::kDialTcp:
        rv = DoDialTcp(a);
        break;
      case State::kDialTcpComplete:
        rv = DoDialTcpComplete(a, rv);
        break;
      case State::kPunchUdp:
        rv = DoPunchUdp(a);
        break;
      case State::kDialUdpComplete:
        rv = DoDialUdpComplete(a, rv);
        break;
      case State::kDialRelay:
        rv = DoDialRelay(a);
        break;
      case State::kDialRelayComplete:
        rv = DoDialRelayComplete(a, rv);
        break;
      case State::kDone:
      case State::kNone:
        return rv;
    }
  } while (rv != Rv::kPending && lane.next != State::kNone);
  lane.waiting = rv == Rv::kPending;
  return rv;
}

Dialer::Rv Dialer::DoLookup(Attempt& a) {
  const std::string& name = a.request.name;
  a.tcp.next = State::kLookupComplete;
  Result<uint64_t> id = directory_.RequestLookup(name);
  if (id.ok()) {
    lookups_[*id] = a.key;
    return Rv::kPending;
  }
  std::optional<proto::LookupResult> kept = directory_.CachedLookup(name);
  if (!kept) {
    a.tcp.next = State::kNone;
    a.stopped = Status::Unavailable("cannot reach " + name + " yet: " + id.status().ToString());
    return Rv::kError;
  }
  spdlog::info("no lookup ({}); trying {}'s last known endpoints", id.status().ToString(), name);
  a.answer = std::move(*kept);
  a.fresh = false;
  return Rv::kOk;
}

Dialer::Rv Dialer::DoLookupComplete(Attempt& a) {
  const std::string& name = a.request.name;
  if (a.fresh && !a.answer.found()) {
    // Revoked or unknown: a held request waits, not every retry tick.
    a.stopped =
        Status::NotFound("the tracker's lookup of " + name + " failed: " + a.answer.error());
    a.stopped_path =
        PathReport{Transport::kNone, "", "the tracker's lookup failed: " + a.answer.error()};
    return Rv::kError;
  }
  Result<ContactRoute> route =
      RouteFromLookup(a.answer, name, params_.org_public_key, revoked_keys_, contacts_,
                      clock_.NowUnix(), clock_.NowMs());
  if (!route.ok()) {
    if (route.status().code() == Status::Code::kAuthFailed) {
      spdlog::error("NOT CONNECTING to {}: {} (their identity key changed)", name,
                    route.status().ToString());
      directory_.OnKeyChange(name, route.status());
    } else {
      spdlog::info("cannot reach {} ({}): {}", name,
                   a.fresh ? "from the tracker" : "kept from an earlier lookup",
                   route.status().ToString());
    }
    a.stopped = route.status();
    return Rv::kError;
  }
  a.route = std::move(*route);
  a.request.initiator.remote_static = a.route.remote_static;
  if (params_.paths == PathPolicy::kUdpOnly || params_.paths == PathPolicy::kRelayOnly ||
      (a.request.prefer_udp && !a.route.udp_candidates.empty()))
    a.route.endpoints.clear();
  if (params_.paths == PathPolicy::kTcpOnly || params_.paths == PathPolicy::kRelayOnly)
    a.route.udp_candidates.clear();
  ArmRelay(a);
  if (a.fresh)
    directory_.OnLookupVerified(name, a.answer);
  if (!a.route.udp_candidates.empty()) {
    a.udp.next = State::kPunchUdp;
    if (!a.route.endpoints.empty()) {
      // Happy eyeballs: UDP gets going shortly after TCP, not after it. The
      // punch request goes now: by the time our handshake leaves, their
      // datagrams have opened their NAT to it (else it waits for the
      // handshake's one-second resend).
      RequestPunch(a);
      Attempt* raw = &a;
      a.udp.alarm = clock_.NewAlarm([this, raw] {
        raw->udp.waiting = false;
        raw->udp.alarm.reset();  // allowed from inside: no call follows
        Run(*raw, raw->udp, Rv::kOk);
      });
      a.udp.alarm->Start(params_.udp_head_start_ms);
      a.udp.waiting = true;
    }
  }
  a.tcp.next = State::kDialTcp;
  return Rv::kOk;
}

Dialer::Rv Dialer::DoDialTcp(Attempt& a) {
  while (a.next_endpoint < a.route.endpoints.size()) {
    const net::Address to = a.route.endpoints[a.next_endpoint++];
    Attempt* raw = &a;
    Result<std::unique_ptr<Transports::Pending>> dial = transports_.DialTcp(
        to, a.request.initiator, a.request.tcp_options,
        [this, raw](Result<std::unique_ptr<channel::ChannelConnection>> result) {
          OnDialDone(*raw, raw->tcp, std::move(result));
        });
    if (!dial.ok()) {
      spdlog::info("dialing {} at {}: {}", a.request.name, to.ToString(), dial.status().ToString());
      a.failures.push_back("tcp " + to.ToString() + ": " + std::string(dial.status().message()));
      continue;
    }
    a.tcp.dial = std::move(*dial);
    a.tcp_address = to.ToString();
    a.tcp.alarm = clock_.NewAlarm([this, raw] {
      raw->tcp.alarm.reset();
      OnDialDone(*raw, raw->tcp, Status::Unavailable("no answer in time"));
    });
    a.tcp.alarm->Start(params_.tcp_dial_timeout_ms);
    a.tcp.next = State::kDialTcpComplete;
    return Rv::kPending;
  }
  return Rv::kError;  // nothing (more) to try over TCP
}

Dialer::Rv Dialer::DoDialTcpComplete(Attempt& a, Rv rv) {
  a.tcp.alarm.reset();
  a.tcp.dial.reset();  // abandons a dial that timed out
  if (rv == Rv::kOk && a.tcp.result.ok()) {
    a.connection = std::move(*a.tcp.result);
    a.won = Transport::kTcp;
    a.tcp.next = State::kDone;
    return Rv::kOk;
  }
  const Status why = a.tcp.result.status();
  spdlog::info("dialing {} at {}: {}", a.request.name, a.tcp_address, why.ToString());
  a.failures.push_back("tcp " + a.tcp_address + ": " + std::string(why.message()));
  a.tcp.next = State::kDialTcp;
  return Rv::kOk;
}

Dialer::Rv Dialer::DoPunchUdp(Attempt& a) {
  a.udp_started = true;
  RequestPunch(a);
  std::string where;
  for (const net::Address& address : a.route.udp_candidates)
    where += (where.empty() ? "" : ",") + address.ToString();
  a.udp_address = where;
  Attempt* raw = &a;
  Result<std::unique_ptr<Transports::Pending>> dial =
      transports_.DialUdp(a.route.udp_candidates, a.request.initiator, &a.session,
                          [this, raw](Result<std::unique_ptr<channel::ChannelConnection>> result) {
                            OnDialDone(*raw, raw->udp, std::move(result));
                          });
  if (!dial.ok()) {
    a.failures.push_back("udp " + where + ": " + std::string(dial.status().message()));
    return Rv::kError;
  }
  spdlog::info("reaching {} over UDP ({})", a.request.name, where);
  a.udp.dial = std::move(*dial);
  a.udp.alarm = clock_.NewAlarm([this, raw] {
    raw->udp.alarm.reset();
    OnDialDone(*raw, raw->udp, Status::Unavailable("no handshake in time"));
  });
  a.udp.alarm->Start(params_.udp_dial_timeout_ms);
  a.udp.next = State::kDialUdpComplete;
  return Rv::kPending;
}

Dialer::Rv Dialer::DoDialUdpComplete(Attempt& a, Rv rv) {
  a.udp.alarm.reset();
  a.udp.dial.reset();
  if (rv == Rv::kOk && a.udp.result.ok()) {
    a.connection = std::move(*a.udp.result);
    a.won = Transport::kUdp;
    a.udp.next = State::kDone;
    return Rv::kOk;
  }
  const Status why = a.udp.result.status();
  if (why.message() == kCrossedDial) {
    // Their session is ours as an inbound one: no failure, nothing to hold.
    a.stopped = why;
    return Rv::kError;
  }
  a.failures.push_back("udp " + a.udp_address + ": " + std::string(why.message()));
  return Rv::kError;
}

void Dialer::RequestPunch(Attempt& a) {
  // The peer's NAT must see datagrams from them to us before ours get in:
  // the tracker relays the request, they punch, our handshake retries.
  if (a.punch_requested)
    return;
  a.punch_requested = true;
  if (Status punch = directory_.RequestPunch(a.request.name); !punch.ok())
    spdlog::info("punch request for {}: {}", a.request.name, punch.ToString());
}

void Dialer::OnDialDone(Attempt& a, Lane& lane,
                        Result<std::unique_ptr<channel::ChannelConnection>> result) {
  const bool ok = result.ok();
  lane.result = std::move(result);
  lane.waiting = false;
  Run(a, lane, ok ? Rv::kOk : Rv::kError);
}

void Dialer::Settle(Attempt& a) {
  if (a.won != Transport::kNone || (a.stopped && a.stopped->message() == kCrossedDial)) {
    Finish(a);
    return;
  }
  if (a.tcp.ended() && a.udp.waiting && !a.udp_started && a.udp.next == State::kPunchUdp) {
    // TCP ran out before the head start: UDP now.
    a.udp.alarm.reset();
    a.udp.waiting = false;
    Run(a, a.udp, Rv::kOk);
    return;
  }
  if (a.tcp.ended() && a.udp.next == State::kPunchUdp && !a.udp_started) {
    Run(a, a.udp, Rv::kOk);  // no TCP endpoint: UDP at once
    return;
  }
  if (a.tcp.ended() && a.udp.ended() && a.relay.next == State::kDialRelay && !a.relay_started) {
    // Both direct lanes failed before relay_after_ms: the relay now.
    a.relay.alarm.reset();
    a.relay.waiting = false;
    Run(a, a.relay, Rv::kOk);
    return;
  }
  if (a.tcp.ended() && a.udp.ended() && a.relay.ended())
    Finish(a);
}

std::string Dialer::Tried(const Attempt& a) const {
  return fmt::format("{}", fmt::join(a.failures, "; "));
}

void Dialer::Finish(Attempt& a) {
  auto owned = attempts_.find(a.key);
  std::unique_ptr<Attempt> mine = std::move(owned->second);
  attempts_.erase(owned);  // the loser's dial and both alarms go with `mine`
  const bool tcp_was_dialing = mine->tcp.waiting && mine->tcp.dial != nullptr;
  mine->tcp.dial.reset();
  mine->udp.dial.reset();
  mine->relay.dial.reset();
  mine->tcp.alarm.reset();
  mine->udp.alarm.reset();
  mine->relay.alarm.reset();
  const std::string name = mine->request.name;
  Requester* requester = mine->requester;
  if (mine->won == Transport::kRelay) {
    const std::string tried = Tried(*mine);
    std::string reason = "relay (through the tracker)";
    if (!tried.empty())
      reason += " after: " + tried;
    else if (params_.paths == PathPolicy::kRelayOnly)
      reason += " (network.path = relay)";
    else
      reason += " (no direct path to try)";
    spdlog::info("reached {} for {} through the tracker's relay ({})", name,
                 proto::Purpose_Name(mine->request.initiator.purpose), reason);
    requester->OnReached(name, std::move(mine->connection),
                         PathReport{Transport::kRelay, "tracker", reason}, 0);
    return;
  }
  if (mine->won != Transport::kNone) {
    const bool udp = mine->won == Transport::kUdp;
    const std::string tried = Tried(*mine);
    std::string reason = udp ? "UDP hole punching" : "direct TCP";
    if (!tried.empty())
      reason += " after: " + tried;
    if (udp && tcp_was_dialing)
      reason += " (first to answer; tcp " + mine->tcp_address + " was still dialing)";
    else if (udp && tried.empty() && params_.paths == PathPolicy::kUdpOnly)
      reason += " (network.path = udp)";
    else if (udp && tried.empty())
      reason += " (no TCP endpoint)";
    PathReport path{mine->won, udp ? mine->udp_address : mine->tcp_address, reason};
    spdlog::info("reached {} for {} over {} ({})", name,
                 proto::Purpose_Name(mine->request.initiator.purpose), TransportName(mine->won),
                 reason);
    requester->OnReached(name, std::move(mine->connection), path, udp ? mine->session : 0);
    return;
  }
  if (mine->stopped) {
    if (mine->stopped_path && mine->request.hold_after_no_path)
      held_until_ms_[mine->key] = clock_.NowMs() + static_cast<int64_t>(params_.no_path_retry_ms);
    requester->OnNotReached(name, *mine->stopped, mine->stopped_path);
    return;
  }
  // Nothing left to try: no direct path this time.
  std::string tried = Tried(*mine);
  if (tried.empty())
    tried = "no address to try";
  if (mine->request.hold_after_no_path) {
    held_until_ms_[mine->key] = clock_.NowMs() + static_cast<int64_t>(params_.no_path_retry_ms);
    spdlog::warn("no direct path to {} ({}); next try in {} s", name, tried,
                 params_.no_path_retry_ms / 1000);
  } else {
    spdlog::warn("no direct path to {} ({})", name, tried);
  }
  const std::string reason = "no direct path (" + tried + ")";
  requester->OnNotReached(name, Status::Unavailable(reason),
                          PathReport{Transport::kNone, "", reason});
}

}  // namespace confab::peer
