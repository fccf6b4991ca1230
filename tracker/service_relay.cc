// TrackerService's part of the relay (issue 15): relay requests on a member's
// session, and the hello of each relayed leg. The byte copying is
// relay_splice.h's; the decisions (slots, limits) are RelayCore's.
#include <string>
#include <utility>

#include "common/base/proto_bytes.h"
#include "tracker/service.h"

namespace confab::tracker {

MemberState TrackerService::RelayMemberState(const std::string& name) {
  auto member = state_.directory().GetMember(name);
  if (!member.ok())
    return MemberState::kUnknown;  // not found, or the directory failed: no relay
  return member->revoked ? MemberState::kRevoked : MemberState::kMember;
}

Status TrackerService::HandleRelayRequest(SessionId id, Session& s, const proto::RelayRequest& m,
                                          int64_t now) {
  proto::FromTracker answer;
  proto::RelayOffer* offer = answer.mutable_relay_offer();
  offer->set_request_id(m.request_id());
  offer->set_name(m.name().substr(0, 64));
  auto target = presence_.SessionOf(m.name());
  if (!target || presence_.View(m.name()).status == proto::PRESENCE_OFFLINE) {
    // Offline and invisible alike: a relay needs both members here.
    ++relay_refusals_["not online"];
    offer->set_refusal(m.name().substr(0, 64) + " is not online");
  } else if (RelayCore::Decision d =
                 relay_.Request(s.name, m.name(), static_cast<uint64_t>(now) * 1000);
             !d.ok()) {
    offer->set_refusal(std::string(RefusalName(d.refusal)));
  } else {
    offer->set_accepted(true);
    offer->set_slot(d.slot);
    proto::FromTracker to_callee;
    to_callee.mutable_relay_notice()->set_name(s.name);
    to_callee.mutable_relay_notice()->set_slot(d.slot);
    Send(*target, std::move(to_callee));
  }
  Send(id, std::move(answer));
  return Status::Ok();
}

Result<TrackerService::RelayAdmission> TrackerService::AdmitRelay(
    const crypto::noise::PublicKey& remote_static, ByteView payload, uint64_t now_ms) {
  proto::RelayHello hello;
  if (!ParseFromBytes(payload, &hello)) {
    return Refuse("relay_malformed", Status::Corruption("malformed relay hello"));
  }
  auto member = state_.directory().GetMemberByNoiseKey(remote_static);
  if (!member.ok()) {
    if (member.status().code() != Status::Code::kNotFound)
      return member.status();
    return Refuse("relay_outsider", Status::PermissionDenied("not a member's key"));
  }
  RelayAdmission admission;
  admission.slot = hello.slot();
  proto::RelayWelcome welcome;
  auto refuse = [&](std::string reason) {
    welcome.set_accepted(false);
    welcome.set_refusal(std::move(reason));
    admission.reply.payload = SerializeToBytes(welcome);
    admission.reply.close_after_reply = true;
    return admission;
  };
  if (member->revoked) {
    ++relay_refusals_["revoked"];
    return refuse("revoked");
  }
  if (!presence_.SessionOf(member->name)) {
    // Only members with a live tracker session may use the relay.
    ++relay_refusals_["no tracker session"];
    return refuse("no tracker session");
  }
  const RelayCore::Decision decision = relay_.IsCaller(hello.slot(), member->name)
                                           ? relay_.JoinCaller(hello.slot(), member->name)
                                           : relay_.Join(hello.slot(), member->name, now_ms);
  if (!decision.ok())
    return refuse(std::string(RefusalName(decision.refusal)));
  admission.accepted = true;
  welcome.set_accepted(true);
  admission.reply.payload = SerializeToBytes(welcome);
  return admission;
}

void TrackerService::ExpireRelays(uint64_t now_ms, uint64_t max_age_ms) {
  for (uint64_t slot : relay_.ExpireIncomplete(now_ms, max_age_ms))
    relays_to_close_.push_back(slot);
}

std::map<std::string, uint64_t> TrackerService::RelayRefusals() const {
  std::map<std::string, uint64_t> all = relay_.metrics().refusals;
  for (const auto& [reason, n] : relay_refusals_)
    all[reason] += n;
  return all;
}

}  // namespace confab::tracker
