// ReconcileSession: the reconcile protocol of one chat connection, sans I/O
// (docs/design.md, "Conversations", steps 1-5). Both ends run the same
// machine; neither is a client.
//
//   state            we sent        waiting for       on it
//   kIdle            -              a root            start a round, then as kAwaitRoot
//   kAwaitRoot       root           root              equal: round done; else send digests
//   kAwaitDigests    digests        digests (parts)   send vectors of the differing ones
//   kAwaitVectors    vectors        vectors (parts)   record them, start sending entries
//   kExchanging      entries, done  batches, acks,    ack each batch after the view's commit;
//                                   the peer's done   done both ways: round done
//   kFailed          -              nothing           every input is refused
//
// In kExchanging each side sends the entries the other lacks, oldest first,
// at most kEntriesPerBatch (and kMaxBatchBytes) per batch and at most
// kMaxBatchesInFlight batches unacknowledged; once its last batch is
// acknowledged it sends `done`. The stream keeps the order, so each message
// of the peer arrives in the state written above it; any other is a
// protocol error, as is every count beyond its named bound. A protocol
// error or a failed store ends the session (kFailed) and OnMessage returns
// the reason: the caller closes the connection with it.
//
// Inputs: Start(), OnMessage(), OnLocalChange() (new entries were written
// here: a new round, coalesced with one under way). Outputs: TakeOutgoing()
// (messages to send, in order) and TakeEvents(). Nothing here touches a
// socket or a clock; the view does the storing.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "peer/chat/replica_view.h"

namespace confab::peer::chat {

inline constexpr size_t kMaxBatchesInFlight = 2;
// The bytes of one EntryBatch's entries: with the ReconcileMessage and
// PeerMessage framing it stays under a frame's 65,519-byte plaintext.
// An entry is at most kMaxEntryBytes (65,280) signed bytes, so one always fits.
inline constexpr size_t kMaxBatchBytes = 65400;
// Digests per Digests part (about 46 bytes each for a direct conversation).
inline constexpr size_t kDigestsPerPart = 1024;
// The bytes of one Vectors part's items.
inline constexpr size_t kMaxVectorPartBytes = 60000;
// Authors in one conversation's vector: members come and go, so more than
// kMaxGroupMembers may have written.
inline constexpr size_t kMaxVectorAuthors = 4 * kMaxGroupMembers;
// Ids in one EntryAck: at most a batch's entries.
inline constexpr size_t kMaxAckIds = kEntriesPerBatch;

struct ReconcileEvent {
  enum class Kind {
    kRoundDone,   // both sides hold what the other could give; `count` = rounds so far
    kPeerVector,  // the peer's vector of `conversation` is known or advanced
    kReceived,    // a batch was committed here; `count` = ids acknowledged
    kProtocolError,
  };
  Kind kind;
  Bytes conversation;
  size_t count = 0;
  Status error;
};

class ReconcileSession {
 public:
  enum class State { kIdle, kAwaitRoot, kAwaitDigests, kAwaitVectors, kExchanging, kFailed };

  // `peer` is the authenticated person at the other end; `view` outlives us.
  ReconcileSession(ReplicaView& view, std::string peer);

  // Starts a round now (the connection is up). While one runs, the same as
  // OnLocalChange.
  [[nodiscard]] Status Start();
  // New entries were written here: a new round when this one ends.
  [[nodiscard]] Status OnLocalChange();
  // One message from the peer. An error is the reason to close.
  [[nodiscard]] Status OnMessage(const proto::ReconcileMessage& message, int64_t now_ms);

  std::vector<proto::ReconcileMessage> TakeOutgoing();
  std::vector<ReconcileEvent> TakeEvents();

  State state() const { return state_; }
  size_t batches_in_flight() const { return in_flight_.size(); }
  size_t rounds_done() const { return rounds_done_; }
  const std::string& peer() const { return peer_; }

 private:
  struct SentEntry {
    Bytes conversation;
    std::string author;
    uint64_t seq;
    Bytes id;
  };
  using Batch = std::vector<SentEntry>;

  // One function per message kind; each checks the state first.
  Status OnRoot(const std::string& root);
  Status OnDigests(const proto::ReconcileDigests& digests);
  Status OnVectors(const proto::ReconcileVectors& vectors);
  Status OnEntries(const proto::EntryBatch& batch, int64_t now_ms);
  Status OnAck(const proto::EntryAck& ack, int64_t now_ms);
  Status OnDone();

  Status BeginRound();
  Status SendDigests();
  Status SendVectors(const std::vector<Bytes>& differing);
  // Conversations the peer holds exactly as we do (equal digests): their
  // vector is ours, told to the view.
  Status RecordInSync(const std::vector<Bytes>& ids);
  // Fills batches while fewer than kMaxBatchesInFlight are unacked; sends
  // done when nothing is left and everything is acked. Ends the round when
  // the peer's done is in too.
  Status Pump();
  Status FillBatch(proto::EntryBatch& batch, Batch& record);
  Status MaybeFinish();
  Status Fail(Status why);
  void Send(proto::ReconcileMessage m) { outgoing_.push_back(std::move(m)); }

  ReplicaView& view_;
  const std::string peer_;
  State state_ = State::kIdle;
  bool round_wanted_ = false;  // a change during a round: another after it
  size_t rounds_done_ = 0;

  // This round.
  DigestMap mine_;
  proto::ReconcileDigests their_digests_;  // parts so far
  std::map<Bytes, Vector> their_vectors_;  // parts so far, then advanced by acks
  size_t their_vector_items_ = 0;
  std::vector<Bytes> to_send_;    // conversations to offer, in order
  size_t send_cursor_ = 0;        // into to_send_: the ones before are exhausted
  std::map<Bytes, Vector> sent_;  // their vector plus what is in flight
  std::deque<Batch> in_flight_;
  bool done_sent_ = false;
  bool peer_done_ = false;

  std::vector<proto::ReconcileMessage> outgoing_;
  std::vector<ReconcileEvent> events_;
};

const char* StateName(ReconcileSession::State s);

}  // namespace confab::peer::chat
