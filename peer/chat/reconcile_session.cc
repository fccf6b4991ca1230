#include "peer/chat/reconcile_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace confab::peer::chat {
namespace {

bool ValidConversationId(const std::string& id) {
  return IsDirectId(AsBytes(id)) || IsGroupId(AsBytes(id));
}

// Wire bytes an item adds to a repeated field: tag, length, payload.
size_t FieldBytes(size_t payload) {
  size_t varint = 1;
  for (size_t n = payload; n >= 0x80; n >>= 7)
    ++varint;
  return 1 + varint + payload;
}

}  // namespace

const char* StateName(ReconcileSession::State s) {
  switch (s) {
    case ReconcileSession::State::kIdle:
      return "idle";
    case ReconcileSession::State::kAwaitRoot:
      return "awaiting the root";
    case ReconcileSession::State::kAwaitDigests:
      return "awaiting digests";
    case ReconcileSession::State::kAwaitVectors:
      return "awaiting vectors";
    case ReconcileSession::State::kExchanging:
      return "exchanging entries";
    case ReconcileSession::State::kFailed:
      return "failed";
  }
  return "?";
}

ReconcileSession::ReconcileSession(ReplicaView& view, std::string peer)
    : view_(view), peer_(std::move(peer)) {}

std::vector<proto::ReconcileMessage> ReconcileSession::TakeOutgoing() {
  std::vector<proto::ReconcileMessage> out;
  out.swap(outgoing_);
  return out;
}

std::vector<ReconcileEvent> ReconcileSession::TakeEvents() {
  std::vector<ReconcileEvent> out;
  out.swap(events_);
  return out;
}

Status ReconcileSession::Fail(Status why) {
  state_ = State::kFailed;
  spdlog::warn("reconcile with {}: {}", peer_, why.ToString());
  events_.push_back({ReconcileEvent::Kind::kProtocolError, {}, 0, why});
  return why;
}

Status ReconcileSession::Start() {
  if (state_ == State::kFailed)
    return Status::FailedPrecondition("the reconcile session has failed");
  if (state_ != State::kIdle) {
    round_wanted_ = true;
    return Status::Ok();
  }
  return BeginRound();
}

Status ReconcileSession::OnLocalChange() {
  return Start();
}

// Step 1: our root over everything we share with the peer.
Status ReconcileSession::BeginRound() {
  round_wanted_ = false;
  mine_.clear();
  their_digests_.Clear();
  their_vectors_.clear();
  their_vector_items_ = 0;
  to_send_.clear();
  send_cursor_ = 0;
  sent_.clear();
  in_flight_.clear();
  done_sent_ = false;
  peer_done_ = false;
  Result<DigestMap> shared = view_.SharedWith(peer_);
  if (!shared.ok())
    return Fail(shared.status());
  mine_ = std::move(*shared);
  proto::ReconcileMessage m;
  m.set_root(std::string(AsChars(RootDigest(mine_))));
  Send(std::move(m));
  state_ = State::kAwaitRoot;
  return Status::Ok();
}

Status ReconcileSession::OnMessage(const proto::ReconcileMessage& message, int64_t now_ms) {
  if (state_ == State::kFailed)
    return Status::FailedPrecondition("the reconcile session has failed");
  switch (message.body_case()) {
    case proto::ReconcileMessage::kRoot:
      return OnRoot(message.root());
    case proto::ReconcileMessage::kDigests:
      return OnDigests(message.digests());
    case proto::ReconcileMessage::kVectors:
      return OnVectors(message.vectors());
    case proto::ReconcileMessage::kEntries:
      return OnEntries(message.entries(), now_ms);
    case proto::ReconcileMessage::kAck:
      return OnAck(message.ack(), now_ms);
    case proto::ReconcileMessage::kDone:
      return OnDone();
    case proto::ReconcileMessage::BODY_NOT_SET:
      break;
  }
  return Fail(Status::InvalidArgument("an empty or unknown reconcile message"));
}

Status ReconcileSession::OnRoot(const std::string& root) {
  if (root.size() != kDigestBytes)
    return Fail(
        Status::InvalidArgument("a root digest of " + std::to_string(root.size()) + " bytes"));
  if (state_ == State::kIdle) {
    // The peer started a round: ours starts with it.
    if (Status s = BeginRound(); !s.ok())
      return s;
  }
  if (state_ != State::kAwaitRoot)
    return Fail(Status::InvalidArgument(std::string("a root while ") + StateName(state_)));
  if (ToBytes(AsBytes(root)) == RootDigest(mine_)) {
    // Equal: the peer holds our vector of every shared conversation. Told
    // to the view on a connection's first round (what an earlier connection
    // committed but never acknowledged); later rounds are kept by acks.
    if (rounds_done_ == 0) {
      std::vector<Bytes> all;
      for (const auto& [id, digest] : mine_)
        all.push_back(id);
      if (Status s = RecordInSync(all); !s.ok())
        return s;
    }
    state_ = State::kIdle;
    ++rounds_done_;
    events_.push_back({ReconcileEvent::Kind::kRoundDone, {}, rounds_done_, Status::Ok()});
    return round_wanted_ ? BeginRound() : Status::Ok();
  }
  return SendDigests();
}

// Step 2: the short digest of every shared conversation, in parts.
Status ReconcileSession::SendDigests() {
  proto::ReconcileMessage all = DigestsMessage(mine_);
  const auto& items = all.digests().items();
  size_t i = 0;
  do {
    proto::ReconcileMessage part;
    proto::ReconcileDigests* d = part.mutable_digests();
    for (size_t n = 0; n < kDigestsPerPart && i < static_cast<size_t>(items.size()); ++n, ++i)
      *d->add_items() = items[static_cast<int>(i)];
    d->set_more(i < static_cast<size_t>(items.size()));
    Send(std::move(part));
  } while (i < static_cast<size_t>(items.size()));
  state_ = State::kAwaitDigests;
  return Status::Ok();
}

Status ReconcileSession::OnDigests(const proto::ReconcileDigests& digests) {
  if (state_ != State::kAwaitDigests)
    return Fail(Status::InvalidArgument(std::string("digests while ") + StateName(state_)));
  if (static_cast<size_t>(their_digests_.items_size()) + digests.items_size() > kMaxConversations)
    return Fail(Status::InvalidArgument("digests name more than " +
                                        std::to_string(kMaxConversations) + " conversations"));
  for (const proto::ConversationDigest& d : digests.items())
    *their_digests_.add_items() = d;
  if (digests.more())
    return Status::Ok();
  Result<std::vector<Bytes>> differing = Differing(mine_, their_digests_);
  if (!differing.ok())
    return Fail(differing.status());
  // The ones whose digests match: the peer holds our vector of them.
  std::set<Bytes> differ(differing->begin(), differing->end());
  std::vector<Bytes> same;
  for (const auto& [id, digest] : mine_) {
    if (!differ.count(id))
      same.push_back(id);
  }
  if (Status s = RecordInSync(same); !s.ok())
    return s;
  return SendVectors(*differing);
}

Status ReconcileSession::RecordInSync(const std::vector<Bytes>& ids) {
  for (const Bytes& id : ids) {
    Result<Vector> v = view_.VectorOf(peer_, id);
    if (!v.ok()) {
      if (v.status().code() == Status::Code::kNotFound)
        continue;
      return Fail(v.status());
    }
    if (Status s = view_.OnPeerVector(peer_, id, *v); !s.ok())
      return Fail(s);
    events_.push_back({ReconcileEvent::Kind::kPeerVector, id, v->size(), Status::Ok()});
  }
  return Status::Ok();
}

// Step 3: our vectors of the conversations whose digests differ.
Status ReconcileSession::SendVectors(const std::vector<Bytes>& differing) {
  proto::ReconcileMessage part;
  size_t part_bytes = 0;
  auto flush = [&](bool more) {
    part.mutable_vectors()->set_more(more);
    Send(std::move(part));
    part = proto::ReconcileMessage();
    part.mutable_vectors();
    part_bytes = 0;
  };
  part.mutable_vectors();
  for (const Bytes& id : differing) {
    Result<Vector> v = view_.VectorOf(peer_, id);
    if (!v.ok()) {
      if (v.status().code() == Status::Code::kNotFound)
        continue;  // no longer shared
      return Fail(v.status());
    }
    to_send_.push_back(id);
    proto::ConversationVector* cv = part.mutable_vectors()->add_items();
    cv->set_conversation(std::string(AsChars(id)));
    part_bytes += FieldBytes(id.size());
    for (const auto& [author, seq] : *v) {
      size_t item = FieldBytes(author.size()) + 11;
      if (part_bytes + item > kMaxVectorPartBytes) {
        flush(true);
        cv = part.mutable_vectors()->add_items();
        cv->set_conversation(std::string(AsChars(id)));
        part_bytes = FieldBytes(id.size());
      }
      proto::VectorItem* vi = cv->add_items();
      vi->set_author(author);
      vi->set_seq(seq);
      part_bytes += item;
    }
  }
  flush(false);
  state_ = State::kAwaitVectors;
  return Status::Ok();
}

Status ReconcileSession::OnVectors(const proto::ReconcileVectors& vectors) {
  if (state_ != State::kAwaitVectors)
    return Fail(Status::InvalidArgument(std::string("vectors while ") + StateName(state_)));
  for (const proto::ConversationVector& cv : vectors.items()) {
    if (!ValidConversationId(cv.conversation()))
      return Fail(Status::InvalidArgument("a vector of a malformed conversation id"));
    Bytes id = ToBytes(AsBytes(cv.conversation()));
    auto [it, fresh] = their_vectors_.try_emplace(id);
    if (fresh && their_vectors_.size() > kMaxConversations)
      return Fail(Status::InvalidArgument("vectors of more than " +
                                          std::to_string(kMaxConversations) + " conversations"));
    for (const proto::VectorItem& item : cv.items()) {
      if (item.author().empty() || item.author().size() > kMaxNameBytes || item.seq() == 0)
        return Fail(Status::InvalidArgument("a malformed vector item"));
      if (!it->second.emplace(item.author(), item.seq()).second)
        return Fail(Status::InvalidArgument("a vector names " + item.author() + " twice"));
      if (it->second.size() > kMaxVectorAuthors)
        return Fail(Status::InvalidArgument("a vector of more than " +
                                            std::to_string(kMaxVectorAuthors) + " authors"));
    }
  }
  if (vectors.more())
    return Status::Ok();
  // A conversation we named but they did not: they hold none of it (e.g. a
  // group they have not learnt yet). One they named that we share but do
  // not differ on cannot happen unless digests collide; offer it too.
  std::set<Bytes> named(to_send_.begin(), to_send_.end());
  for (const auto& [id, theirs] : their_vectors_) {
    if (mine_.count(id) && !named.count(id)) {
      to_send_.push_back(id);
      named.insert(id);
    }
  }
  for (const Bytes& id : to_send_) {
    const Vector& theirs = their_vectors_[id];
    if (Status s = view_.OnPeerVector(peer_, id, theirs); !s.ok())
      return Fail(s);
    events_.push_back({ReconcileEvent::Kind::kPeerVector, id, theirs.size(), Status::Ok()});
    sent_[id] = theirs;
  }
  state_ = State::kExchanging;
  return Pump();
}

// Step 4: batches of what the peer lacks, conversation by conversation.
Status ReconcileSession::FillBatch(proto::EntryBatch& batch, Batch& record) {
  size_t bytes = 0;
  while (send_cursor_ < to_send_.size() &&
         static_cast<size_t>(batch.entries_size()) < kEntriesPerBatch) {
    const Bytes& id = to_send_[send_cursor_];
    Vector& sent = sent_[id];
    size_t room = kEntriesPerBatch - static_cast<size_t>(batch.entries_size());
    Result<std::vector<proto::Entry>> missing = view_.MissingFor(peer_, id, sent, room);
    if (!missing.ok()) {
      if (missing.status().code() == Status::Code::kNotFound) {
        ++send_cursor_;  // no longer shared (e.g. they were removed)
        continue;
      }
      return missing.status();
    }
    if (missing->empty()) {
      ++send_cursor_;
      continue;
    }
    for (proto::Entry& e : *missing) {
      size_t size = FieldBytes(e.ByteSizeLong());
      if (bytes + size > kMaxBatchBytes && batch.entries_size() > 0)
        return Status::Ok();  // full by bytes: the rest in the next batch
      proto::EntryBody body;
      if (!body.ParseFromString(e.signed_()))
        return Status::Corruption("an entry of ours that does not parse");
      EntryId eid = EntryIdOf(AsBytes(e.signed_()));
      record.push_back({id, body.author(), body.seq(), Bytes(eid.begin(), eid.end())});
      uint64_t& through = sent[body.author()];
      through = std::max(through, body.seq());
      bytes += size;
      *batch.add_entries() = std::move(e);
    }
  }
  return Status::Ok();
}

Status ReconcileSession::Pump() {
  while (state_ == State::kExchanging && in_flight_.size() < kMaxBatchesInFlight &&
         send_cursor_ < to_send_.size()) {
    proto::ReconcileMessage m;
    Batch record;
    if (Status s = FillBatch(*m.mutable_entries(), record); !s.ok())
      return Fail(s);
    if (record.empty())
      break;
    in_flight_.push_back(std::move(record));
    Send(std::move(m));
  }
  return MaybeFinish();
}

Status ReconcileSession::MaybeFinish() {
  if (state_ != State::kExchanging)
    return Status::Ok();
  if (!done_sent_ && in_flight_.empty() && send_cursor_ >= to_send_.size()) {
    proto::ReconcileMessage m;
    m.mutable_done();
    Send(std::move(m));
    done_sent_ = true;
  }
  if (done_sent_ && peer_done_) {
    state_ = State::kIdle;
    ++rounds_done_;
    events_.push_back({ReconcileEvent::Kind::kRoundDone, {}, rounds_done_, Status::Ok()});
    if (round_wanted_)
      return BeginRound();
  }
  return Status::Ok();
}

// Step 5, receiving: one durable commit per batch, then one EntryAck.
Status ReconcileSession::OnEntries(const proto::EntryBatch& batch, int64_t now_ms) {
  if (state_ != State::kExchanging)
    return Fail(Status::InvalidArgument(std::string("entries while ") + StateName(state_)));
  if (peer_done_)
    return Fail(Status::InvalidArgument("entries after the peer's done"));
  if (static_cast<size_t>(batch.entries_size()) > kEntriesPerBatch)
    return Fail(Status::InvalidArgument("a batch of " + std::to_string(batch.entries_size()) +
                                        " entries (at most " + std::to_string(kEntriesPerBatch) +
                                        ")"));
  if (batch.entries_size() == 0)
    return Fail(Status::InvalidArgument("an empty entry batch"));
  // Whoever sends (author, seq) holds that author's entries up to seq (a
  // node offers only what it holds contiguously): never send them back. Only
  // what we send is skipped; their vector, which drives delivered_to,
  // advances by their acks alone.
  for (const proto::Entry& e : batch.entries()) {
    proto::EntryBody body;
    if (!body.ParseFromString(e.signed_()))
      continue;  // the view refuses it
    auto it = sent_.find(ToBytes(AsBytes(body.conversation())));
    if (it != sent_.end()) {
      uint64_t& through = it->second[body.author()];
      through = std::max(through, body.seq());
    }
  }
  Result<ReceivedBatch> received = view_.Receive(peer_, batch, now_ms);
  if (!received.ok())
    return Fail(received.status());
  if (received->refused > 0)
    spdlog::info("{} of {} entries from {} refused", received->refused, batch.entries_size(),
                 peer_);
  size_t acked = static_cast<size_t>(received->ack.ids_size());
  proto::ReconcileMessage m;
  *m.mutable_ack() = std::move(received->ack);
  Send(std::move(m));
  events_.push_back({ReconcileEvent::Kind::kReceived, {}, acked, Status::Ok()});
  return Status::Ok();
}

// Step 5, sending: the oldest batch in flight is durable on the peer.
Status ReconcileSession::OnAck(const proto::EntryAck& ack, int64_t now_ms) {
  if (state_ != State::kExchanging || in_flight_.empty())
    return Fail(Status::InvalidArgument("an entry ack with no batch in flight"));
  if (static_cast<size_t>(ack.ids_size()) > kMaxAckIds)
    return Fail(
        Status::InvalidArgument("an ack of more than " + std::to_string(kMaxAckIds) + " ids"));
  Batch batch = std::move(in_flight_.front());
  in_flight_.pop_front();
  std::set<Bytes> ids;
  for (const std::string& raw : ack.ids()) {
    if (raw.size() != kEntryIdBytes)
      return Fail(Status::InvalidArgument("an ack of a malformed entry id"));
    ids.insert(ToBytes(AsBytes(raw)));
  }
  proto::EntryAck ours;  // only what we sent in this batch
  std::set<Bytes> advanced;
  for (const SentEntry& e : batch) {
    if (!ids.count(e.id))
      continue;
    ours.add_ids(std::string(AsChars(e.id)));
    uint64_t& have = their_vectors_[e.conversation][e.author];
    if (e.seq == have + 1) {
      have = e.seq;
      advanced.insert(e.conversation);
    }
  }
  if (ours.ids_size() > 0) {
    if (Status s = view_.OnAcked(peer_, ours, now_ms); !s.ok())
      return Fail(s);
  }
  for (const Bytes& id : advanced) {
    if (Status s = view_.OnPeerVector(peer_, id, their_vectors_[id]); !s.ok())
      return Fail(s);
    events_.push_back(
        {ReconcileEvent::Kind::kPeerVector, id, their_vectors_[id].size(), Status::Ok()});
  }
  return Pump();
}

Status ReconcileSession::OnDone() {
  if (state_ != State::kExchanging)
    return Fail(Status::InvalidArgument(std::string("done while ") + StateName(state_)));
  if (peer_done_)
    return Fail(Status::InvalidArgument("a second done in one round"));
  peer_done_ = true;
  return MaybeFinish();
}

}  // namespace confab::peer::chat
