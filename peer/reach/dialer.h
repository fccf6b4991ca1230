// Dialer: the one way this node reaches a contact (docs/design.md,
// "Reaching a contact: the path order"). It turns "reach NAME for PURPOSE"
// into a connected, checked channel::ChannelConnection (established: we,
// the initiator, got the welcome) and hands it to whoever asked, with a
// PathReport saying how.
// Chat (ChatSessions) and files (Transfers' Outgoing) both dial through it;
// neither has a path policy of its own.
//
// One attempt, in order:
//   1. a tracker lookup (Directory::RequestLookup; the node forwards every
//      LookupResult to OnLookupResult), or, when the tracker cannot be
//      asked, the answer kept from an earlier lookup (CachedLookup), checked
//      exactly like a fresh one;
//   2. RouteFromLookup: the certificate (org key, name, validity), the pin
//      (a changed key is refused and Directory::OnKeyChange told), the
//      revoked keys; a fresh answer that checked out goes to
//      OnLookupVerified (the directory cache);
//   3. the TCP endpoints in order, LAN first, each given tcp_dial_timeout_ms;
//   4. a UDP session to the contact's UDP addresses, udp_head_start_ms
//      after the first TCP dial began (at once when there is no TCP
//      endpoint, or all failed sooner). The punch request goes through the
//      tracker as the TCP dials begin, so that the contact's datagrams have
//      opened their NAT by the time our handshake arrives.
// Steps 3 and 4 race (happy eyeballs): the first channel to establish wins
// and the other dial is abandoned: closed, its UDP session with it, and
// never reported. network.path = tcp or udp runs only that step. When both
// fail there is no direct path: the PathReport says what was tried, and
// (with Request::hold_after_no_path) the same request is refused for
// no_path_retry_ms unless RetryNow (a presence push) lifts the hold. A UDP
// dial that crossed the peer's own (kCrossedDial) is no failure: their
// session arrives as an inbound one, so the attempt ends (a TCP dial still
// in flight with it) without a hold.
//
// Each attempt is keyed by (name, purpose, requester). A second Reach for a
// key in flight joins it: one answer, once. Different requesters (two file
// transfers to the same contact) get attempts of their own, since each needs
// a connection of its own.
//
// The state machine is Chromium net's DoLoop: one function per State, run
// until one is pending, on two lanes (TCP, with the lookup ahead of it, and
// UDP). Sans-I/O but for ContactBook's SQLite: sockets, timers and the
// tracker are behind Clock, Transports and Directory, so tests fake them.
//
// Lifetime: everything passed to the constructor outlives the Dialer; a
// requester outlives its attempts (or calls Cancel). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/base/result.h"
#include "common/channel/channel_connection.h"
#include "common/crypto/identity.h"
#include "common/net/address.h"
#include "common/net/byte_stream.h"
#include "common/net/tcp_connection.h"
#include "common/udp/endpoint.h"
#include "peer/contacts/contact_book.h"
#include "peer/reach/contact_route.h"
#include "peer/reach/path_report.h"
#include "peer/reach/udp_paths.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

struct DialerParams {
  crypto::Ed25519PublicKey org_public_key{};
  PathPolicy paths = PathPolicy::kAuto;
  // A TCP dial not established after this gives way to the next endpoint (a
  // NAT that drops SYNs would otherwise hold it for minutes).
  uint64_t tcp_dial_timeout_ms = 3000;
  // The UDP punch and dial start this long after the TCP dials begin.
  uint64_t udp_head_start_ms = 300;
  // A UDP dial not established after this fails (UdpPaths gives up sooner
  // when no address answers; this bounds the channel handshake after it).
  uint64_t udp_dial_timeout_ms = 20000;
  // After "no direct path", a held request is refused this long.
  uint64_t no_path_retry_ms = 30000;
  // The relay through the tracker (issue 15), the third lane: tried once
  // both direct lanes failed, or this long after the route was known while
  // they still try, whichever comes first. Off: "no direct path" as before.
  bool relay = false;
  uint64_t relay_after_ms = 2000;
  // A relayed channel not established after this fails.
  uint64_t relay_dial_timeout_ms = 20000;
};

class Dialer {
 public:
  // Time, and one-shot alarms run from the loop.
  class Clock {
   public:
    class Alarm {
     public:
      virtual ~Alarm() = default;  // disarms: no call follows, even from inside it
      virtual void Start(uint64_t timeout_ms) = 0;
    };
    virtual ~Clock() = default;
    virtual int64_t NowMs() = 0;
    virtual int64_t NowUnix() = 0;
    virtual std::unique_ptr<Alarm> NewAlarm(std::function<void()> fire) = 0;
  };

  // How a transport dial ends: the established channel (its delegate is
  // the transport's until the taker calls set_delegate, which it must do at
  // once), or why not (the message kCrossedDial for a crossed UDP dial).
  using DialDone = std::function<void(Result<std::unique_ptr<channel::ChannelConnection>>)>;

  // Starting channel dials. Each returns a handle; destroying it abandons
  // the dial (the connection, and a UDP session with it, is closed and
  // freed in its own time) and `done` is never called. `done` runs at most
  // once, never from inside the Dial call.
  class Transports {
   public:
    class Pending {
     public:
      virtual ~Pending() = default;
    };
    virtual ~Transports() = default;
    virtual Result<std::unique_ptr<Pending>> DialTcp(const net::Address& to,
                                                     channel::InitiatorParams params,
                                                     const net::TcpConnectionOptions& options,
                                                     DialDone done) = 0;
    // `session` gets the UDP session's id.
    virtual Result<std::unique_ptr<Pending>> DialUdp(std::vector<net::Address> candidates,
                                                     channel::InitiatorParams params,
                                                     udp::SessionId* session, DialDone done) = 0;
    // The channel to `name` inside a stream relayed through the tracker.
    // Unavailable by default (no relay side).
    virtual Result<std::unique_ptr<Pending>> DialRelay(const std::string& /*name*/,
                                                       channel::InitiatorParams /*params*/,
                                                       DialDone /*done*/) {
      return Status::Unavailable("no relay side");
    }
  };

  // The tracker and the directory cache (the node: TrackerLink and
  // DirectoryCache).
  class Directory {
   public:
    virtual ~Directory() = default;
    // Asks the tracker for `name`; the answer comes to OnLookupResult with
    // the returned request id. Unavailable when the tracker is not reachable.
    virtual Result<uint64_t> RequestLookup(const std::string& name) = 0;
    // The kept answer for `name`, for when RequestLookup fails.
    virtual std::optional<proto::LookupResult> CachedLookup(const std::string& name) = 0;
    // A fresh answer for `name` checked out (certificate, pin): keep it.
    virtual void OnLookupVerified(const std::string& name, const proto::LookupResult& result) = 0;
    // Asks the tracker to have `name` punch towards us (before a UDP dial).
    virtual Status RequestPunch(const std::string& name) = 0;
    // `name` presented an identity key other than the pinned one.
    virtual void OnKeyChange(const std::string& name, const Status& why) = 0;
  };

  // Whoever asked. Upcalls come after the attempt is gone: they may Reach
  // again.
  class Requester {
   public:
    virtual ~Requester() = default;
    // `connection` is established; the requester owns it now and must
    // set_delegate before returning. `session`: the UDP session (0 on TCP).
    virtual void OnReached(const std::string& name,
                           std::unique_ptr<channel::ChannelConnection> connection,
                           const PathReport& path, udp::SessionId session) = 0;
    // Not reached, and why. `path` is set when there is an outcome worth
    // showing (the lookup failed, or no direct path), unset for "not now"
    // (no tracker and nothing kept, a key change, a crossed dial).
    virtual void OnNotReached(const std::string& name, const Status& why,
                              const std::optional<PathReport>& path) = 0;
  };

  struct Request {
    std::string name;
    // Our side of the handshake: purpose, keys, certificate, cipher; the
    // remote static key is filled in from the route.
    channel::InitiatorParams initiator;
    net::TcpConnectionOptions tcp_options;
    // The chat with them runs over UDP already: when they have UDP
    // addresses, skip TCP (it would only time out).
    bool prefer_udp = false;
    // After no direct path, refuse this request for no_path_retry_ms (chat;
    // file transfers keep a backoff of their own).
    bool hold_after_no_path = true;
    // Direct lanes only, never the relay: the background retry while a
    // contact is reached through the relay (ChatSessions, direct_retry_ms).
    bool direct_only = false;
  };

  Dialer(DialerParams params, Clock& clock, Transports& transports, Directory& directory,
         ContactBook& contacts, const std::set<std::string>& revoked_keys);
  ~Dialer();
  Dialer(const Dialer&) = delete;
  Dialer& operator=(const Dialer&) = delete;

  // Starts reaching `request.name` for `requester`, or joins the attempt in
  // flight for the same key. Unavailable (and no upcall) while the key is
  // held after no direct path, or after Close; otherwise the answer comes
  // through the requester, possibly before this returns when no tracker
  // can be asked (nothing kept, or a kept answer that fails its checks).
  Status Reach(Request request, Requester* requester);
  bool InFlight(const std::string& name, proto::Purpose purpose, Requester* requester) const;
  // Lifts every hold on `name` (they came online: their addresses may have
  // changed).
  void RetryNow(const std::string& name);
  // The tracker's answer to a RequestLookup; unknown ids are ignored.
  void OnLookupResult(const proto::LookupResult& result);
  // Abandons `requester`'s attempts; no upcall follows.
  void Cancel(Requester* requester);
  // Abandons every attempt; Reach is refused from then on. Idempotent.
  void Close();

  const DialerParams& params() const { return params_; }
  // Turns the relay lane on or off (the node: as the tracker's welcome
  // offers it) for attempts whose route is known from now on.
  void set_relay(bool on) { params_.relay = on; }
  size_t attempts_in_flight() const { return attempts_.size(); }

 private:
  enum class State {
    kNone,
    kLookup,           // ask the tracker, or take the kept answer
    kLookupComplete,   // check it: RouteFromLookup, the path policy
    kDialTcp,          // the next TCP endpoint
    kDialTcpComplete,  // established, failed or timed out
    kPunchUdp,         // the punch request (unless made already), the UDP dial
    kDialUdpComplete,  // established, failed, crossed or timed out
    kDialRelay,        // the relay through the tracker (dialer_relay.cc)
    kDialRelayComplete,
    kDone,  // this lane won
  };
  // What a state function returns: go on, wait, or stop the lane.
  enum class Rv { kOk, kPending, kError };
  using Key = std::tuple<std::string, int, Requester*>;  // name, purpose, requester
  struct Attempt;
  struct Lane;

  // Runs `lane` from its next state with `rv`, then settles the attempt
  // (which may destroy it): nothing may touch `a` after.
  void Run(Attempt& a, Lane& lane, Rv rv);
  Rv DoLoop(Attempt& a, Lane& lane, Rv rv);
  Rv DoLookup(Attempt& a);
  Rv DoLookupComplete(Attempt& a);
  Rv DoDialTcp(Attempt& a);
  Rv DoDialTcpComplete(Attempt& a, Rv rv);
  Rv DoPunchUdp(Attempt& a);
  Rv DoDialUdpComplete(Attempt& a, Rv rv);
  Rv DoDialRelay(Attempt& a);
  Rv DoDialRelayComplete(Attempt& a, Rv rv);
  // With the route known: the relay lane waits relay_after_ms (or for the
  // direct lanes to fail).
  void ArmRelay(Attempt& a);
  void RequestPunch(Attempt& a);  // once per attempt
  // Hands a winner over, or ends a lost attempt, or starts UDP early when
  // TCP ran out before the head start.
  void Settle(Attempt& a);
  // Erases the attempt and reports how it ended (last).
  void Finish(Attempt& a);
  void OnDialDone(Attempt& a, Lane& lane,
                  Result<std::unique_ptr<channel::ChannelConnection>> result);
  std::string Tried(const Attempt& a) const;

  DialerParams params_;  // const but for set_relay
  Clock& clock_;
  Transports& transports_;
  Directory& directory_;
  ContactBook& contacts_;
  const std::set<std::string>& revoked_keys_;  // raw key bytes
  std::map<Key, std::unique_ptr<Attempt>> attempts_;
  std::map<uint64_t, Key> lookups_;  // request id -> attempt
  std::map<Key, int64_t> held_until_ms_;
  bool closed_ = false;
};

// The real Clock (libuv timers, the wall clock) and Transports (TCP through
// ChannelConnection::Connect, UDP through UdpPaths::DialChannel).
class LoopClock final : public Dialer::Clock {
 public:
  explicit LoopClock(net::Loop& loop) : loop_(loop) {}
  int64_t NowMs() override;
  int64_t NowUnix() override;
  std::unique_ptr<Alarm> NewAlarm(std::function<void()> fire) override;

 private:
  net::Loop& loop_;
};

// Opens the caller's leg of a relay (the node: TrackerLink's RelayRequest,
// then peer/tracker_link/relay_stream.h). The stream is returned at once, not
// yet connected: OnConnected once the tracker took the leg, OnClosed with
// the refusal otherwise. An error: the relay cannot be asked at all (no
// tracker session, a tracker that does not relay).
class RelayOpener {
 public:
  virtual ~RelayOpener() = default;
  virtual Result<std::unique_ptr<net::ByteStream>> OpenRelay(const std::string& name) = 0;
};

class ChannelTransports final : public Dialer::Transports {
 public:
  // `udp` may be null (no UDP side: UDP dials fail) and must outlive this.
  ChannelTransports(net::Loop& loop, UdpPaths* udp);
  ~ChannelTransports() override;
  void set_udp(UdpPaths* udp) { udp_ = udp; }
  // `relay` may be null (no relay: relay dials fail) and must outlive this.
  void set_relay(RelayOpener* relay) { relay_ = relay; }
  Result<std::unique_ptr<Pending>> DialTcp(const net::Address& to, channel::InitiatorParams params,
                                           const net::TcpConnectionOptions& options,
                                           Dialer::DialDone done) override;
  Result<std::unique_ptr<Pending>> DialUdp(std::vector<net::Address> candidates,
                                           channel::InitiatorParams params, udp::SessionId* session,
                                           Dialer::DialDone done) override;
  Result<std::unique_ptr<Pending>> DialRelay(const std::string& name,
                                             channel::InitiatorParams params,
                                             Dialer::DialDone done) override;
  // Dials not yet finished or closed (abandoned ones until their close).
  size_t jobs() const { return jobs_.size(); }

 private:
  class Job;
  class Token;
  Result<std::unique_ptr<Pending>> Start(std::unique_ptr<Job> job);

  net::Loop& loop_;
  UdpPaths* udp_;
  RelayOpener* relay_ = nullptr;
  std::map<Job*, std::unique_ptr<Job>> jobs_;
};

}  // namespace confab::peer
