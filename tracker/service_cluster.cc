// TrackerService's part in a cluster of trackers (issue 16): presence other
// trackers share, and revocations made on any tracker of the cluster.
#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tracker/service.h"

namespace confab::tracker {

void TrackerService::OnClusterResync(int64_t now) {
  if (cluster_ == nullptr)
    return;
  auto others = cluster_->ReadOthers();
  if (!others.ok()) {
    spdlog::warn("cluster presence unreadable: {}", others.status().ToString());
    return;
  }
  std::unordered_set<std::string> present;
  for (SharedPresence& p : *others) {
    present.insert(p.name);
    presence_.SetRemote(
        p.name, Presence::RemoteEntry{p.status, std::move(p.text), std::move(p.endpoints)}, now);
  }
  for (const std::string& name : presence_.RemoteNames())
    if (!present.contains(name))
      presence_.SetRemote(name, std::nullopt, now);
  DeliverPresence();
  // Revocations announced while the channel was down were not heard: check
  // every member with a session here (one directory read each).
  std::vector<std::string> here;
  for (const auto& [id, session] : sessions_)
    here.push_back(session.name);
  for (const std::string& name : here)
    OnClusterRevoked(name, now);
}

void TrackerService::OnClusterPresence(std::string_view name, int64_t now) {
  if (cluster_ == nullptr)
    return;
  auto shared = cluster_->Read(name);
  if (!shared.ok()) {
    spdlog::warn("cluster presence of {} unreadable: {}", name, shared.status().ToString());
    return;
  }
  if (*shared && (*shared)->tracker_id == cluster_->tracker_id())
    return;  // our own change, coming back
  std::optional<Presence::RemoteEntry> remote;
  if (*shared)
    remote = Presence::RemoteEntry{(*shared)->status, (*shared)->text, (*shared)->endpoints};
  presence_.SetRemote(name, std::move(remote), now);
  DeliverPresence();
}

Status TrackerService::Revoke(const std::string& name, const std::string& reason, int64_t now) {
  CONFAB_ASSIGN_OR_RETURN(Member member, state_.directory().GetMember(name));
  CONFAB_RETURN_IF_ERROR(state_.directory().Revoke(name, now, reason));
  // The directory's record of it, as the other trackers will read it.
  member.revoked = true;
  member.revoked_at = now;
  (void)ApplyRevocation(member, now);
  return Status::Ok();
}

void TrackerService::OnClusterRevoked(std::string_view name, int64_t now) {
  auto member = state_.directory().GetMember(name);
  if (!member.ok()) {
    spdlog::warn("revocation of {} announced, but the member is unreadable: {}", name,
                 member.status().ToString());
    return;
  }
  if (!member->revoked)
    return;  // reinstated since
  if (ApplyRevocation(*member, now))
    spdlog::info("{} was revoked on another tracker of the cluster: {}", name,
                 member->revoke_reason);
}

bool TrackerService::ApplyRevocation(const Member& member, int64_t now) {
  const std::string& name = member.name;
  auto applied = revocations_applied_.find(name);
  if (applied != revocations_applied_.end() && applied->second == member.revoked_at)
    return false;  // this tracker's own revocation, heard back from the cluster
  revocations_applied_[name] = member.revoked_at;
  if (auto session = presence_.SessionOf(name)) {
    to_close_.push_back(*session);
    OnClosed(*session, now);
  }
  // Their relayed streams close at once, pending or active.
  for (uint64_t slot : relay_.OnRevoked(name))
    relays_to_close_.push_back(slot);
  proto::FromTracker notice;
  notice.mutable_revoked()->set_name(name);
  notice.mutable_revoked()->set_identity_key(member.identity_key.data(),
                                             member.identity_key.size());
  for (const auto& [id, session] : sessions_)
    Send(id, notice);
  return true;
}

Status TrackerService::PunchAcrossCluster(SessionId id, const Session& s,
                                          const proto::PunchRequest& m) {
  if (cluster_ == nullptr)  // a remote entry without a cluster: cannot happen
    return Status::Unavailable(m.name().substr(0, 64) + " is not online");
  ClusterPunch punch{m.name(), m.request_id(), s.name};
  if (Status sent = cluster_->RequestPunch(punch); !sent.ok()) {
    ++counters_.refusals["cluster_punch_failed"];
    spdlog::warn("punch from {} to {} not passed to the cluster: {}", s.name, m.name(),
                 sent.ToString());
    return Status::Unavailable("cannot reach " + m.name() + "'s tracker now; try again");
  }
  proto::FromTracker to_requester;
  proto::PunchNotice* notice = to_requester.mutable_punch();
  notice->set_request_id(m.request_id());
  notice->set_name(m.name());
  for (proto::Endpoint& e : EndpointsOf(m.name()))
    *notice->add_endpoints() = std::move(e);
  Send(id, std::move(to_requester));
  return Status::Ok();
}

void TrackerService::OnClusterPunch(std::string_view payload) {
  std::optional<ClusterPunch> punch = ParsePunchPayload(payload);
  if (!punch) {
    ++counters_.refusals["cluster_punch_invalid"];
    spdlog::warn("ignored a punch announcement that does not parse ({} bytes)", payload.size());
    return;
  }
  auto target = presence_.SessionOf(punch->target);
  if (!target)
    return;  // not here (every tracker hears every announcement)
  proto::FromTracker to_target;
  proto::PunchNotice* notice = to_target.mutable_punch();
  notice->set_request_id(punch->request_id);
  notice->set_name(punch->requester);
  for (proto::Endpoint& e : EndpointsOf(punch->requester))
    *notice->add_endpoints() = std::move(e);
  Send(*target, std::move(to_target));
}

}  // namespace confab::tracker
