#include "tracker/presence.h"

#include <algorithm>
#include <utility>

namespace confab::tracker {
namespace {

bool SameView(const PresenceEntry& a, const PresenceEntry& b) {
  return a.status == b.status && a.text == b.text;
}

}  // namespace

Presence::Presence(PresenceLimits limits) : limits_(limits) {}

PresenceEntry Presence::ViewOf(std::string_view name, const Online* online) const {
  PresenceEntry entry;
  entry.name = std::string(name);
  auto seen = last_seen_.find(entry.name);
  entry.last_seen_unix = seen == last_seen_.end() ? 0 : seen->second;
  if (online == nullptr || online->status == proto::PRESENCE_INVISIBLE) {
    entry.status = proto::PRESENCE_OFFLINE;
    return entry;
  }
  entry.status = online->status;
  entry.text = online->text;
  return entry;
}

PresenceEntry Presence::View(std::string_view name) const {
  auto it = online_.find(std::string(name));
  if (it == online_.end()) {
    auto remote = remote_.find(std::string(name));
    if (remote != remote_.end() && remote->second.status != proto::PRESENCE_OFFLINE &&
        remote->second.status != proto::PRESENCE_INVISIBLE) {
      PresenceEntry entry = ViewOf(name, nullptr);
      entry.status = remote->second.status;
      entry.text = remote->second.text;
      return entry;
    }
  }
  return ViewOf(name, it == online_.end() ? nullptr : &it->second);
}

std::vector<std::string> Presence::RemoteNames() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : remote_)
    names.push_back(name);
  return names;
}

void Presence::SetRemote(std::string_view name, std::optional<RemoteEntry> entry,
                         int64_t now_unix) {
  PresenceEntry before = View(name);
  const std::string key(name);
  if (entry) {
    remote_[key] = std::move(*entry);
  } else if (remote_.erase(key) > 0 && !online_.contains(key)) {
    last_seen_[key] = now_unix;
  }
  Publish(name, before);
}

void Presence::Publish(std::string_view name, const PresenceEntry& before) {
  PresenceEntry after = View(name);
  if (SameView(before, after))
    return;
  auto followers = followers_.find(std::string(name));
  if (followers == followers_.end())
    return;
  for (const std::string& follower : followers->second) {
    auto it = online_.find(follower);
    if (it != online_.end())
      pending_.push_back({it->second.session, after});
  }
}

std::optional<SessionId> Presence::Attach(std::string_view name, SessionId session,
                                          int64_t now_unix) {
  PresenceEntry before = View(name);
  std::string key(name);
  std::optional<SessionId> replaced;
  auto it = online_.find(key);
  if (it != online_.end()) {
    replaced = it->second.session;
    Unfollow(key, it->second.following);
    it->second = Online{};
    it->second.session = session;
  } else {
    Online fresh;
    fresh.session = session;
    online_.emplace(key, std::move(fresh));
  }
  last_seen_[key] = now_unix;
  Publish(name, before);
  return replaced;
}

void Presence::Detach(std::string_view name, SessionId session, int64_t now_unix) {
  std::string key(name);
  auto it = online_.find(key);
  if (it == online_.end() || it->second.session != session)
    return;
  PresenceEntry before = View(name);
  Unfollow(key, it->second.following);
  online_.erase(it);
  last_seen_[key] = now_unix;
  Publish(name, before);
}

Status Presence::SetStatus(std::string_view name, proto::PresenceStatus status,
                           std::string_view text, int64_t now_unix) {
  switch (status) {
    case proto::PRESENCE_ONLINE:
    case proto::PRESENCE_AWAY:
    case proto::PRESENCE_BUSY:
    case proto::PRESENCE_INVISIBLE:
      break;
    default:
      return Status::InvalidArgument("a member can be online, away, busy or invisible");
  }
  if (text.size() > kMaxStatusTextBytes) {
    return Status::InvalidArgument("status text is longer than 140 bytes");
  }
  auto it = online_.find(std::string(name));
  if (it == online_.end())
    return Status::FailedPrecondition("not online");
  PresenceEntry before = View(name);
  it->second.status = status;
  it->second.text = std::string(text);
  last_seen_[it->first] = now_unix;
  Publish(name, before);
  return Status::Ok();
}

Status Presence::SetEndpoints(std::string_view name, std::vector<proto::Endpoint> endpoints) {
  if (endpoints.size() > kMaxEndpointsPerMember) {
    return Status::InvalidArgument("too many endpoints");
  }
  auto it = online_.find(std::string(name));
  if (it == online_.end())
    return Status::FailedPrecondition("not online");
  it->second.endpoints = std::move(endpoints);
  return Status::Ok();
}

void Presence::Unfollow(const std::string& follower, const std::vector<std::string>& targets) {
  for (const std::string& target : targets) {
    auto it = followers_.find(target);
    if (it == followers_.end())
      continue;
    if (it->second.erase(follower) > 0)
      --subscription_count_;
    if (it->second.empty())
      followers_.erase(it);
  }
}

Result<std::vector<PresenceEntry>> Presence::Subscribe(std::string_view name,
                                                       const std::vector<std::string>& names) {
  if (names.size() > limits_.max_subscriptions_per_member) {
    return Status::ResourceExhausted("subscription list is over the limit of " +
                                     std::to_string(limits_.max_subscriptions_per_member));
  }
  std::string key(name);
  auto it = online_.find(key);
  if (it == online_.end())
    return Status::FailedPrecondition("not online");

  std::vector<std::string> wanted = names;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  std::vector<std::string>& following = it->second.following;  // kept sorted

  std::vector<std::string> dropped;
  std::set_difference(following.begin(), following.end(), wanted.begin(), wanted.end(),
                      std::back_inserter(dropped));
  std::vector<std::string> added;
  std::set_difference(wanted.begin(), wanted.end(), following.begin(), following.end(),
                      std::back_inserter(added));
  Unfollow(key, dropped);

  std::vector<PresenceEntry> initial;
  initial.reserve(added.size());
  for (const std::string& target : added) {
    if (followers_[target].insert(key).second)
      ++subscription_count_;
    initial.push_back(View(target));
  }
  following = std::move(wanted);
  return initial;
}

std::vector<proto::Endpoint> Presence::Endpoints(std::string_view name) const {
  auto it = online_.find(std::string(name));
  if (it == online_.end()) {
    auto remote = remote_.find(std::string(name));
    if (remote != remote_.end() && View(name).status != proto::PRESENCE_OFFLINE)
      return remote->second.endpoints;
    return {};
  }
  if (it->second.status == proto::PRESENCE_INVISIBLE)
    return {};
  return it->second.endpoints;
}

std::optional<SessionId> Presence::SessionOf(std::string_view name) const {
  auto it = online_.find(std::string(name));
  if (it == online_.end())
    return std::nullopt;
  return it->second.session;
}

std::vector<Notification> Presence::TakeNotifications() {
  return std::exchange(pending_, {});
}

}  // namespace confab::tracker
