// TrackerService's part of the mailbox (issue 14; design.md "The mailbox"):
// deposits from a member's session, fetches and acknowledgements of the
// session member's own envelopes, the notice to an online recipient, and
// expiry. The envelopes are opaque here; MailboxStore keeps them.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/base/member_name.h"
#include "common/base/proto_bytes.h"
#include "tracker/service.h"

namespace confab::tracker {
namespace {

// What one FromTracker may carry (a frame's plaintext, less room for the
// message's own fields): a page of envelopes stops before it would exceed.
constexpr size_t kMaxEnvelopesMessageBytes = 65'400;
constexpr size_t kMaxEnvelopesPerFetch = 256;
constexpr int64_t kSecondsPerDay = 86400;

}  // namespace

bool TrackerService::mailbox_served() const {
  return state_.config().mailbox.enabled && state_.directory().mailbox() != nullptr;
}

bool TrackerService::TakeDepositToken(const std::string& author, int64_t now) {
  auto [it, fresh] = deposit_buckets_.try_emplace(author);
  DepositBucket& b = it->second;
  if (fresh)
    b.at = now;
  // A clock that goes back counts as no time passed.
  if (now > b.at) {
    b.tokens = std::min(kMailboxDepositBurst,
                        b.tokens + static_cast<double>(now - b.at) * kMailboxDepositsPerSecond);
    b.at = now;
  }
  if (b.tokens < 1)
    return false;
  b.tokens -= 1;
  return true;
}

std::string TrackerService::DepositRefusal(const Session& s, const proto::MailboxDeposit& m,
                                           int64_t now) {
  if (!mailbox_served())
    return "mailbox disabled";
  if (m.envelope().empty())
    return "empty envelope";
  if (m.envelope().size() > kMaxEnvelopeBytes)
    return "too large";
  if (m.recipient() == s.name)
    return "mailbox to self";
  // After the cheap checks and before the directory: a flood costs no reads.
  if (!TakeDepositToken(s.name, now))
    return "too many deposits; slow down";
  if (!ValidateMemberName(m.recipient()).ok())
    return "not a member";
  auto recipient = state_.directory().GetMember(m.recipient());
  if (!recipient.ok()) {
    if (recipient.status().code() == Status::Code::kNotFound)
      return "not a member";
    spdlog::warn("mailbox: cannot read member {}: {}", m.recipient().substr(0, 64),
                 recipient.status().ToString());
    return "storage failed";
  }
  if (recipient->revoked)
    return "revoked";
  return "";
}

void TrackerService::CountMailboxTotals() {
  if (mailbox_counted_ || state_.directory().mailbox() == nullptr)
    return;
  auto totals = state_.directory().mailbox()->Totals();
  if (!totals.ok()) {
    spdlog::warn("mailbox: cannot count envelopes: {}", totals.status().ToString());
    return;
  }
  mailbox_.envelopes = totals->envelopes;
  mailbox_.bytes = totals->bytes;
  mailbox_counted_ = true;
}

Status TrackerService::HandleDeposit(SessionId id, Session& s, const proto::MailboxDeposit& m,
                                     int64_t now) {
  CountMailboxTotals();
  proto::FromTracker answer;
  proto::MailboxDepositAnswer* a = answer.mutable_mailbox_deposited();
  a->set_request_id(m.request_id());
  std::optional<SessionId> notify;
  std::string refusal = DepositRefusal(s, m, now);
  if (refusal.empty()) {
    const TrackerConfig::Mailbox& config = state_.config().mailbox;
    const MailboxQuota quota{.max_bytes = config.max_bytes_per_recipient,
                             .max_envelopes = config.max_envelopes_per_recipient};
    // Answered only once the store committed: "stored" is durable.
    auto stored =
        state_.directory().mailbox()->Deposit(m.recipient(), s.name, AsBytes(m.envelope()), now,
                                              now + config.retain_days * kSecondsPerDay, quota);
    if (stored.ok()) {
      a->set_stored(true);
      a->set_id(*stored);
      ++mailbox_.deposits;
      ++mailbox_.envelopes;
      mailbox_.bytes += m.envelope().size();
      notify = presence_.SessionOf(m.recipient());
    } else if (stored.status().code() == Status::Code::kResourceExhausted) {
      refusal = "mailbox full";
    } else {
      spdlog::warn("mailbox: deposit from {} for {} not stored: {}", s.name, m.recipient(),
                   stored.status().ToString());
      refusal = "storage failed";
    }
  }
  if (!refusal.empty()) {
    ++mailbox_.refusals[refusal];
    a->set_refusal(refusal);
  }
  Send(id, std::move(answer));
  if (notify) {
    // Invisible recipients too: the notice tells no one else anything.
    proto::FromTracker notice;
    notice.mutable_mailbox_notice()->set_id(a->id());
    notice.mutable_mailbox_notice()->set_author(s.name);
    Send(*notify, std::move(notice));
  }
  return Status::Ok();
}

Status TrackerService::HandleFetch(SessionId id, Session& s, const proto::MailboxFetch& m) {
  if (!mailbox_served()) {
    ++mailbox_.refusals["mailbox disabled"];
    return Status::FailedPrecondition("mailbox disabled");
  }
  // Only the session's own member: the request names no one else.
  auto page = state_.directory().mailbox()->Fetch(s.name, m.after_id(), kMaxEnvelopesPerFetch,
                                                  kMaxEnvelopesMessageBytes);
  if (!page.ok()) {
    spdlog::warn("mailbox: fetch for {} failed: {}", s.name, page.status().ToString());
    ++mailbox_.refusals["storage failed"];
    return Status::Unavailable("mailbox: storage failed; fetch again later");
  }
  ++mailbox_.fetches;
  proto::FromTracker reply;
  proto::MailboxEnvelopes* out = reply.mutable_mailbox_envelopes();
  out->set_after_id(m.after_id());
  out->set_more(page->more);
  for (StoredEnvelope& e : page->envelopes) {
    proto::MailboxEnvelope next;
    next.set_id(e.id);
    next.set_author(std::move(e.author));
    next.set_deposited_unix(e.deposited_at);
    next.set_envelope(std::string(AsChars(e.envelope)));
    // The first always fits (kMaxEnvelopeBytes leaves room for its fields).
    if (out->envelopes_size() > 0 &&
        reply.ByteSizeLong() + next.ByteSizeLong() + 8 > kMaxEnvelopesMessageBytes) {
      out->set_more(true);
      break;
    }
    *out->add_envelopes() = std::move(next);
  }
  Send(id, std::move(reply));
  return Status::Ok();
}

Status TrackerService::HandleMailboxAck(Session& s, const proto::MailboxAck& m) {
  if (!mailbox_served()) {
    ++mailbox_.refusals["mailbox disabled"];
    return Status::FailedPrecondition("mailbox disabled");
  }
  if (m.ids_size() > static_cast<int>(kMaxMailboxAckIds)) {
    ++mailbox_.refusals["too many ids"];
    return Status::InvalidArgument("a mailbox ack names at most " +
                                   std::to_string(kMaxMailboxAckIds) + " envelopes");
  }
  CountMailboxTotals();
  const std::vector<uint64_t> ids(m.ids().begin(), m.ids().end());
  // Deletes only the session member's own: another's id is skipped.
  auto deleted = state_.directory().mailbox()->Acknowledge(s.name, ids);
  if (!deleted.ok()) {
    spdlog::warn("mailbox: ack from {} failed: {}", s.name, deleted.status().ToString());
    ++mailbox_.refusals["storage failed"];
    return Status::Unavailable("mailbox: storage failed; acknowledge again later");
  }
  mailbox_.acked += deleted->envelopes;
  mailbox_.envelopes -= std::min(mailbox_.envelopes, deleted->envelopes);
  mailbox_.bytes -= std::min(mailbox_.bytes, deleted->bytes);
  return Status::Ok();
}

void TrackerService::ExpireMailbox(int64_t now) {
  if (state_.directory().mailbox() == nullptr || now - mailbox_expired_at_ < kMailboxExpirySeconds)
    return;
  mailbox_expired_at_ = now;
  CountMailboxTotals();
  // Even while disabled: what was kept still goes when its time is up.
  auto expired = state_.directory().mailbox()->Expire(now);
  if (!expired.ok()) {
    spdlog::warn("mailbox: expiry failed: {}", expired.status().ToString());
    return;
  }
  if (expired->envelopes == 0)
    return;
  mailbox_.expired += expired->envelopes;
  mailbox_.envelopes -= std::min(mailbox_.envelopes, expired->envelopes);
  mailbox_.bytes -= std::min(mailbox_.bytes, expired->bytes);
  spdlog::info("mailbox: {} envelope(s), {} bytes, expired unfetched after {} days",
               expired->envelopes, expired->bytes, state_.config().mailbox.retain_days);
}

}  // namespace confab::tracker
