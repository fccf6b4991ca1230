// ReplicaView: the node's replicated conversations as seen from one chat
// connection (docs/design.md, "Conversations", reconcile steps 1-5).
//
// It is the seam between the two halves of the replication: the reconcile
// session (sans I/O, one per connection: it decides what to send and when)
// asks these questions; the node's conversation model, over
// ConversationStore, answers them. Neither knows the other's internals, so
// each can be tested alone: the session against replicas built on the
// sans-I/O Conversation, the model against a real confab.db.
//
// `peer` is always the authenticated person at the other end (the channel's
// hello and certificate have been checked). Every answer is about the
// conversations `peer` is a member of as we know them now; entries written
// after a removal of `peer` are never offered to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "peer/chat/conversation.h"
#include "peer/chat/reconcile.h"
#include "proto/conversation.pb.h"

namespace confab::peer::chat {

// What a received batch did.
struct ReceivedBatch {
  // The ids now durable here (stored before, stored now, or held durably
  // for a gap), to send back as EntryAck. Valid only because the commit
  // has happened.
  proto::EntryAck ack;
  // Entries refused (bad signature, author not a member, claimed author's
  // key wrong, too far ahead, oversize, unknown group not by its creation
  // entry...). Each was logged by the view; nothing of it was stored. A
  // refusal does not end the connection: the rest of the batch counts.
  size_t refused = 0;
};

class ReplicaView {
 public:
  virtual ~ReplicaView() = default;

  // Step 1-2: conversation id -> vector digest (VectorDigest) for every
  // conversation we share with `peer`.
  [[nodiscard]] virtual Result<DigestMap> SharedWith(const std::string& peer) = 0;

  // Step 3: our vector of a shared conversation. NotFound if it is not one
  // we share with `peer` (or is unknown).
  [[nodiscard]] virtual Result<Vector> VectorOf(const std::string& peer, ByteView conversation) = 0;

  // Step 3, their side: `peer` holds `theirs` of `conversation`. Kept
  // (durably) so that delivered_to and "whom to dial" know what each member
  // lacks. A conversation we do not know is ignored (OK).
  [[nodiscard]] virtual Status OnPeerVector(const std::string& peer, ByteView conversation,
                                            const Vector& theirs) = 0;

  // Step 4: the entries of `conversation` that `peer` lacks given `theirs`
  // and may see, oldest first in total order, at most `limit`, as the
  // author's exact signed bytes. Legacy (migrated, unsigned) entries are
  // never offered.
  [[nodiscard]] virtual Result<std::vector<proto::Entry>> MissingFor(const std::string& peer,
                                                                     ByteView conversation,
                                                                     const Vector& theirs,
                                                                     size_t limit) = 0;

  // Step 5, receiving: checks and stores a batch from `peer` (any member
  // may pass on any member's entries) in ONE durable commit, then says what
  // to acknowledge. A learnt group is created here: its creation entry and
  // what follows wait in memory, unacknowledged, until the fold counts us
  // and `peer` as members (the add entry naming us may come in a later
  // batch of the round), and are dropped unwritten if it never does. An error (the store failed)
  // means nothing was stored and nothing may be acknowledged; the session closes the connection.
  [[nodiscard]] virtual Result<ReceivedBatch> Receive(const std::string& peer,
                                                      const proto::EntryBatch& batch,
                                                      int64_t now_ms) = 0;

  // Step 5, sending: `peer` acknowledged these entry ids (now durable on
  // its node): states move to sent/delivered and delivered_to gains `peer`.
  // Unknown ids are ignored.
  [[nodiscard]] virtual Status OnAcked(const std::string& peer, const proto::EntryAck& ack,
                                       int64_t now_ms) = 0;
};

}  // namespace confab::peer::chat
