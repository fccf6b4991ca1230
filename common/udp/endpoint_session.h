// Internal to common/udp: what an Endpoint keeps per session, shared by
// endpoint.cc (data path, timer, API) and endpoint_handshake.cc (handshakes,
// cookies, rekeying).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/datagram/connection.h"
#include "common/datagram/handshake.h"
#include "common/datagram/keypairs.h"
#include "common/udp/endpoint.h"

namespace confab::udp {

// The first byte of our handshake payload, before the owner's bytes: a new
// session (followed by its slot, 4 bytes little-endian), or fresh keys for a
// session both sides already have (followed by the responder's session id,
// 4 bytes little-endian). A peer that restarts sends kNewSession, which
// replaces its old session in that slot; a rekey keeps the streams going.
inline constexpr uint8_t kNewSession = 0x00;
inline constexpr uint8_t kRekeySession = 0x01;

struct Endpoint::Session {
  enum class Phase {
    kInitiating,   // our initiation is out; waiting for a response
    kUnconfirmed,  // we responded; waiting for the initiator's first data packet
    kOpen,
  };
  SessionId id = 0;
  Phase phase = Phase::kInitiating;
  bool initiator = false;
  PublicKey remote_static{};
  uint32_t slot = 0;
  std::vector<net::Address> candidates;
  std::optional<net::Address> peer;
  uint64_t started_us = 0;
  uint64_t next_retry_us = 0;
  std::unique_ptr<datagram::HandshakeInitiator> handshake;
  Bytes payload;  // ours while initiating, then the peer's
  datagram::Keypairs keys;
  std::unique_ptr<datagram::Connection> conn;
  SessionId peer_session = 0;  // the id the peer gave this session
  // A rekey in progress (initiator side).
  std::unique_ptr<datagram::HandshakeInitiator> rekey;
  uint32_t rekey_index = 0;
  uint64_t rekey_next_retry_us = 0;
  uint32_t rekeys = 0;
  bool open_reported = false;
  std::array<bool, datagram::kMaxStreams> want_writable{};
  std::optional<Status> ended;  // set when the session is over
};

}  // namespace confab::udp
