// Internal to ChatSessions: one chat connection (sessions.cc, and
// sessions_udp.cc for the UDP path).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/channel/channel_connection.h"
#include "common/udp/endpoint.h"
#include "peer/chat/reconcile_session.h"
#include "peer/chat/sessions.h"
#include "proto/peer.pb.h"

namespace confab::peer {

// One established chat connection, either direction: handed over by the
// Dialer (outbound) or by the PeerPort (inbound), both after the handshake
// and the checks, so `peer` is the contact's checked name from the start.
class ChatSessions::Link final : public channel::ChannelConnection::Delegate {
 public:
  Link(ChatSessions& owner, std::string peer_name) : owner_(owner), peer(std::move(peer_name)) {}

  ChatSessions& owner_;
  std::string peer;
  Transport transport = Transport::kTcp;
  udp::SessionId udp_session = 0;
  // Every outbox message up to this seq went out on this connection (the
  // outbox is sent in seq order); the rest are still to send here.
  uint64_t sent_through_seq = 0;
  // Chat messages read since the last flush: stored in one commit, then
  // acknowledged in one Ack (group commit).
  std::vector<proto::ChatMessage> inbox;
  std::unique_ptr<channel::ChannelConnection> conn;
  // Protocol 2: created once the peer's hello is in.
  std::unique_ptr<chat::ReconcileSession> reconcile;
  bool hello_sent = false;
  bool peer_outdated = false;  // protocol 1: refused, waiting for its ack of the notice

 private:
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("the PeerPort answers hellos");
  }
  Status OnWelcome(channel::ChannelConnection&, ByteView) override {
    return Status::FailedPrecondition("a welcome after the Dialer handed the channel over");
  }
  Status OnMessage(channel::ChannelConnection&, ByteView plaintext) override {
    return owner_.HandleMessage(*this, plaintext);
  }
  void OnWritable(channel::ChannelConnection&) override { owner_.SendPending(*this); }
  void OnClosed(channel::ChannelConnection&, Status status) override {
    owner_.OnLinkClosed(*this, status);  // destroys us: last
  }
};

}  // namespace confab::peer
