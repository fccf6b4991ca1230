#include "peer/transfer/transfers.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <utility>

#include <sodium.h>

#include "common/base/member_name.h"
#include "common/base/proto_bytes.h"
#include "common/base/wall_clock.h"

namespace confab::peer::transfer {
namespace {

constexpr size_t kMaxTypeBytes = 100;

std::string TypeFor(const std::string& name) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {"txt", "text/plain"},      {"pdf", "application/pdf"},
      {"png", "image/png"},       {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},     {"zip", "application/zip"},
      {"gz", "application/gzip"}, {"iso", "application/x-iso9660-image"}};
  auto it = kTypes.find(ExtensionOf(name));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

}  // namespace

Bytes ControlPlaintext(const proto::FileFrame& frame) {
  Bytes out = {kFrameControl};
  AppendSerialized(frame, &out);
  return out;
}

Transfers::Transfers(net::Loop& loop, TransfersParams params, store::Database* db,
                     ContactBook& contacts, Delegate* delegate)
    : loop_(loop),
      params_(std::move(params)),
      store_(db),
      contacts_(contacts),
      delegate_(delegate) {}

Transfers::~Transfers() = default;

Result<std::unique_ptr<Transfers>> Transfers::Create(net::Loop& loop, TransfersParams params,
                                                     store::Database* db, ContactBook& contacts,
                                                     Delegate* delegate) {
  if (mkdir(params.quarantine_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IoError("cannot create " + params.quarantine_dir);
  std::unique_ptr<Transfers> t(new Transfers(loop, std::move(params), db, contacts, delegate));
  CONFAB_ASSIGN_OR_RETURN(t->retry_timer_, net::Timer::Create(loop, t.get()));
  t->progress_hook_.transfers = t.get();
  CONFAB_ASSIGN_OR_RETURN(t->progress_timer_, net::Timer::Create(loop, &t->progress_hook_));
  CONFAB_ASSIGN_OR_RETURN(std::vector<TransferRecord> all, t->store_.List());
  for (TransferRecord& r : all) {
    if (IsFinal(r.state))
      continue;
    t->announced_[r.id] = r.state;  // told of in an earlier run
    if (r.state == State::kActive)
      t->reported_[r.id] = r.bytes_done;
    const TransferId id = r.id;
    if (r.direction == Direction::kOut)
      t->outgoing_.emplace(id, std::make_shared<Outgoing>(*t, std::move(r)));
    else
      t->incoming_.emplace(id, std::make_shared<Incoming>(*t, std::move(r)));
  }
  if (!t->outgoing_.empty())
    t->ArmRetry();
  return t;
}

void Transfers::Save(TransferRecord& record) {
  record.updated_ms = NowMs();
  if (Status s = store_.Put(record); !s.ok())
    spdlog::error("saving transfer {}: {}", IdHex(record.id), s.ToString());
  Announce(record);
}

void Transfers::Announce(const TransferRecord& record) {
  auto known = announced_.find(record.id);
  const bool fresh = known == announced_.end();
  if (!fresh && known->second == record.state)
    return;
  announced_[record.id] = record.state;
  if (record.state == State::kActive) {
    reported_.emplace(record.id, record.bytes_done);
    if (!closed_ && observer_ != nullptr && !progress_timer_->active())
      (void)progress_timer_->Start(params_.progress_every_ms, params_.progress_every_ms);
  } else {
    reported_.erase(record.id);
  }
  if (observer_ == nullptr)
    return;
  std::optional<TransferEventKind> kind;
  switch (record.state) {
    case State::kOffered:
      kind = TransferEventKind::kOffered;
      break;
    case State::kActive:  // an auto-accepted offer; otherwise progress tells
      if (fresh)
        kind = TransferEventKind::kOffered;
      break;
    case State::kCompleted:
      kind = TransferEventKind::kCompleted;
      break;
    case State::kQuarantined:
      kind = TransferEventKind::kQuarantined;
      break;
    case State::kFailed:
      kind = TransferEventKind::kFailed;
      break;
    case State::kRejected:
    case State::kCancelled:
      kind = TransferEventKind::kStopped;
      break;
  }
  if (kind)
    observer_->OnTransferEvent(*kind, ViewOf(record, NowMs()));
}

void Transfers::set_observer(Observer* observer) {
  observer_ = observer;
  if (!closed_ && observer_ != nullptr && !reported_.empty() && !progress_timer_->active())
    (void)progress_timer_->Start(params_.progress_every_ms, params_.progress_every_ms);
}

void Transfers::ReportProgress() {
  if (reported_.empty() || observer_ == nullptr) {
    progress_timer_->Stop();  // nothing active: no timer until the next one
    return;
  }
  const int64_t now = NowMs();
  for (auto& [id, told] : reported_) {
    std::optional<TransferView> view;
    if (auto o = outgoing_.find(id); o != outgoing_.end())
      view = ViewOf(o->second->record(), now);
    else if (auto i = incoming_.find(id); i != incoming_.end())
      view = ViewOf(i->second->record(), now);
    if (!view || view->bytes_done == told)
      continue;
    told = view->bytes_done;
    observer_->OnTransferEvent(TransferEventKind::kProgress, *view);
  }
}

TransferView Transfers::ViewOf(TransferRecord r, int64_t now_ms) const {
  TransferView v;
  v.bytes_done = r.bytes_done;
  if (auto o = outgoing_.find(r.id); o != outgoing_.end()) {
    r = o->second->record();
    v.bytes_done = o->second->bytes_done();
    v.rate_bytes_per_s = o->second->rate_bytes_per_s(now_ms);
  } else if (auto i = incoming_.find(r.id); i != incoming_.end()) {
    r = i->second->record();
    v.bytes_done = i->second->bytes_done();
    v.rate_bytes_per_s = i->second->rate_bytes_per_s(now_ms);
  }
  if (r.state == State::kCompleted)
    v.bytes_done = r.size;
  v.record = std::move(r);
  return v;
}

void Transfers::ArmRetry() {
  if (!closed_ && !retry_timer_->active())
    (void)retry_timer_->Start(0, params_.retry_ms);
}

void Transfers::OnTimer() {
  const int64_t now = NowMs();
  bool waiting = false;
  for (auto& [id, out] : outgoing_) {
    if (IsFinal(out->record().state))
      continue;
    waiting = true;
    if (out->retry_due(now))
      Reach(*out);
  }
  if (!waiting)
    retry_timer_->Stop();
}

void Transfers::OnPeerOnline(const std::string& name) {
  const int64_t now = NowMs();
  for (auto& [id, out] : outgoing_) {
    if (out->record().peer != name)
      continue;
    out->OnPeerOnline();
    if (out->retry_due(now))
      Reach(*out);
  }
}

void Transfers::DropPeer(const std::string& name, const Status& why) {
  for (auto& [id, out] : outgoing_) {
    if (out->record().peer == name)
      out->Disconnect(why);
  }
  for (auto& [id, in] : incoming_) {
    if (in->record().peer == name)
      in->Disconnect(why);
  }
}

void Transfers::Reach(Outgoing& outgoing) {
  if (!closed_)
    outgoing.Reach(NowMs());
}

bool Transfers::ReachedOverUdp(const std::string& name) {
  return delegate_ != nullptr && delegate_->ReachedOverUdp(name);
}

// ---- control ---------------------------------------------------------------

Result<TransferId> Transfers::Send(const std::string& to, const std::string& path,
                                   const std::string& name) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(to));
  if (to == params_.self_name)
    return Status::InvalidArgument("you cannot send a file to yourself");
  CONFAB_ASSIGN_OR_RETURN(bool blocked, contacts_.IsBlocked(to));
  if (blocked)
    return Status::PermissionDenied(to + " is blocked; `confab contacts unblock " + to + "` first");
  if (path.empty() || path[0] != '/')
    return Status::InvalidArgument("the file's path must be absolute");
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return Status::NotFound("cannot read " + path);
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument(path + " is not a regular file");
  TransferRecord r;
  randombytes_buf(r.id.data(), r.id.size());
  r.direction = Direction::kOut;
  r.peer = to;
  r.name = name.empty() ? path.substr(path.find_last_of('/') + 1) : name;
  r.size = static_cast<uint64_t>(st.st_size);
  r.type = TypeFor(r.name);
  r.state = State::kOffered;
  r.source = path;
  r.created_ms = NowMs();
  Save(r);
  const TransferId id = r.id;
  auto outgoing = std::make_shared<Outgoing>(*this, std::move(r));
  outgoing_.emplace(id, outgoing);
  Reach(*outgoing);
  ArmRetry();
  return id;
}

Result<std::vector<TransferView>> Transfers::List(std::optional<TransferId> id) {
  std::vector<TransferRecord> records;
  if (id) {
    CONFAB_ASSIGN_OR_RETURN(TransferRecord r, store_.Get(*id));
    records.push_back(std::move(r));
  } else {
    CONFAB_ASSIGN_OR_RETURN(records, store_.List());
  }
  const int64_t now = NowMs();
  std::vector<TransferView> out;
  for (TransferRecord& r : records)
    out.push_back(ViewOf(std::move(r), now));
  return out;
}

Status Transfers::Accept(const TransferId& id, const std::string& dest_dir) {
  auto it = incoming_.find(id);
  if (it == incoming_.end())
    return Status::NotFound("no incoming transfer " + IdHex(id) + " waiting for an answer");
  if (!dest_dir.empty() && dest_dir[0] != '/')
    return Status::InvalidArgument("the directory must be absolute");
  return it->second->Accept(dest_dir);
}

Status Transfers::Reject(const TransferId& id) {
  auto it = incoming_.find(id);
  if (it == incoming_.end())
    return Status::NotFound("no incoming transfer " + IdHex(id) + " waiting for an answer");
  return it->second->Reject("rejected by " + params_.self_name);
}

Status Transfers::Cancel(const TransferId& id) {
  if (auto o = outgoing_.find(id); o != outgoing_.end()) {
    if (IsFinal(o->second->record().state))
      return Status::FailedPrecondition("transfer " + IdHex(id) + " has ended");
    o->second->Cancel("cancelled by " + params_.self_name);
    return Status::Ok();
  }
  if (auto i = incoming_.find(id); i != incoming_.end())
    return i->second->Cancel("cancelled by " + params_.self_name);
  return Status::NotFound("no unfinished transfer " + IdHex(id));
}

Status Transfers::Resume(const TransferId& id) {
  if (auto o = outgoing_.find(id); o != outgoing_.end()) {
    if (IsFinal(o->second->record().state))
      return Status::FailedPrecondition("transfer " + IdHex(id) + " has ended");
    o->second->RetryNow();
    if (o->second->retry_due(NowMs()))
      Reach(*o->second);
    return Status::Ok();
  }
  if (auto i = incoming_.find(id); i != incoming_.end()) {
    if (IsFinal(i->second->record().state))
      return Status::FailedPrecondition("transfer " + IdHex(id) + " has ended");
    return Status::Ok();  // the sender dials; nothing to do here but wait
  }
  return Status::NotFound("no unfinished transfer " + IdHex(id));
}

void Transfers::Close() {
  if (closed_)
    return;
  closed_ = true;
  retry_timer_->Close();
  progress_timer_->Close();
  for (auto& [id, out] : outgoing_)
    out->Close();
  for (auto& [id, in] : incoming_)
    in->Close();
}

// ---- inbound ---------------------------------------------------------------

Status Transfers::OnPeerChannel(PeerChannel& channel, ByteView first_message) {
  if (closed_)
    return Status::Unavailable("shutting down");
  proto::FileFrame frame;
  if (first_message.empty() || first_message[0] != kFrameControl ||
      !ParseFromBytes(first_message.subspan(1), &frame) ||
      frame.body_case() != proto::FileFrame::kOffer) {
    return Status::Corruption("a file connection must open with an offer");
  }
  return HandleOffer(channel, frame.offer());
}

Status Transfers::HandleOffer(PeerChannel& channel, const proto::FileOffer& offer) {
  const std::string peer = channel.peer;
  TransferId id{};
  if (offer.id().size() != id.size())
    return Status::InvalidArgument("a transfer id is 16 bytes");
  std::copy(offer.id().begin(), offer.id().end(), id.begin());

  std::shared_ptr<Incoming> incoming;
  if (auto it = incoming_.find(id); it != incoming_.end()) {
    incoming = it->second;
  } else if (Result<TransferRecord> known = store_.Get(id); known.ok()) {
    incoming = std::make_shared<Incoming>(*this, std::move(*known));
  } else {
    TransferRecord r;
    r.id = id;
    r.direction = Direction::kIn;
    r.peer = peer;
    r.name = SanitiseName(offer.name());
    r.size = offer.size();
    r.type = offer.type().substr(0, kMaxTypeBytes);
    r.created_ms = NowMs();
    const OfferVerdict verdict = CheckOffer(params_.policy, peer, r.name, r.size);
    switch (verdict.decision) {
      case OfferDecision::kRefuse:
        r.state = State::kRejected;
        r.error = verdict.reason;
        break;
      case OfferDecision::kAutoAccept:
        r.state = State::kActive;
        r.dest_dir = params_.policy.download_dir;
        break;
      case OfferDecision::kAsk:
        r.state = State::kOffered;
        break;
    }
    Save(r);
    spdlog::info("transfer {} from {}: {} ({} bytes) {}", IdHex(id), peer, r.name, r.size,
                 StateName(r.state));
    incoming = std::make_shared<Incoming>(*this, std::move(r));
  }
  if (incoming->record().direction != Direction::kIn || incoming->record().peer != peer)
    return Status::PermissionDenied("that transfer id is not " + peer + "'s");
  // Refused here, the connection stays the PeerPort's to close; Attach
  // takes it.
  if (offer.size() != incoming->record().size)
    return Status::InvalidArgument("an offer that differs from the one on record");
  incoming_[id] = incoming;
  return incoming->Attach(std::move(channel.connection), offer);
}

}  // namespace confab::peer::transfer
