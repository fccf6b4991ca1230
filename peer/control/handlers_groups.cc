// GroupHandlers: `confab group ...`, `confab groups`, and "#NAME" for
// `confab msg` and `confab history` (issue 12), over chat::Replicas.
#include <algorithm>
#include <set>
#include <utility>

#include "common/base/member_name.h"
#include "common/base/wall_clock.h"
#include "peer/chat/messenger.h"
#include "peer/control/control_frame.h"
#include "peer/control/control_handlers.h"
#include "peer/control/control_response.h"

namespace confab::peer {

std::string GroupName(std::string_view typed) {
  if (!typed.empty() && typed.front() == '#')
    typed.remove_prefix(1);
  return std::string(typed);
}

namespace {

void Fill(const chat::GroupInfo& g, const std::string& self, proto::GroupEntry* e) {
  e->set_name(g.name);
  e->set_id(ToHex(g.id));
  for (const std::string& m : g.membership.members)
    e->add_members(m);
  for (const std::string& a : g.membership.admins)
    e->add_admins(a);
  e->set_role(g.membership.admins.count(self)    ? "admin"
              : g.membership.members.count(self) ? "member"
                                                 : "left");
}

Status CheckGroupText(std::string_view text) {
  if (text.empty())
    return Status::InvalidArgument("a message needs some text");
  if (text.size() > kMaxTextBytes) {
    return Status::InvalidArgument("a message's text is at most " + std::to_string(kMaxTextBytes) +
                                   " bytes");
  }
  if (!IsValidUtf8(text))
    return Status::InvalidArgument("a message's text must be UTF-8");
  return Status::Ok();
}

}  // namespace

void GroupHandlers::Reach(const chat::GroupInfo& g) {
  // Everyone who may now lack something of ours: the members, and after a
  // removal those still members (the removed one is sent nothing more).
  std::set<std::string> others;
  for (const std::string& m : g.membership.members) {
    if (m != p_.self_name) {
      others.insert(m);
      p_.correspondents.Follow(m);
    }
  }
  p_.sessions.DeliverAll(others);
  p_.retry.Arm();
}

proto::Response GroupHandlers::Group(const proto::GroupRequest& request) {
  const std::string name = GroupName(request.name());
  const std::vector<std::string> members(request.members().begin(), request.members().end());
  for (const std::string& m : members) {
    if (Status valid = ValidateMemberName(m); !valid.ok())
      return Failure(valid);
  }
  const int64_t now = NowMs();
  proto::Response response;
  if (request.action() == proto::GroupRequest::ACTION_LIST) {
    Result<std::vector<chat::GroupInfo>> all = p_.replicas.Groups();
    if (!all.ok())
      return Failure(all.status());
    Result<std::map<std::string, int64_t>> unread = p_.history.UnreadCounts();
    if (!unread.ok())
      return Failure(unread.status());
    response.set_ok(true);
    for (const chat::GroupInfo& g : *all) {
      proto::GroupEntry* e = response.add_groups();
      Fill(g, p_.self_name, e);
      if (auto n = unread->find("#" + g.name); n != unread->end())
        e->set_unread(static_cast<uint32_t>(n->second));
    }
    return response;
  }
  if (request.action() == proto::GroupRequest::ACTION_CREATE) {
    Result<Bytes> id = p_.replicas.CreateGroup(name, members, now);
    if (!id.ok())
      return Failure(id.status());
    for (const std::string& m : members) {
      if (m != p_.self_name)
        p_.correspondents.Follow(m);
    }
  } else {
    Result<chat::GroupInfo> g = p_.replicas.GroupNamed(name);
    if (!g.ok())
      return Failure(g.status());
    Status done = Status::Ok();
    switch (request.action()) {
      case proto::GroupRequest::ACTION_ADD:
        done = p_.replicas.AddMembers(g->id, members, now);
        break;
      case proto::GroupRequest::ACTION_REMOVE:
        done = p_.replicas.RemoveMembers(g->id, members, now);
        break;
      case proto::GroupRequest::ACTION_LEAVE:
        done = p_.replicas.Leave(g->id, now);
        break;
      case proto::GroupRequest::ACTION_PROMOTE:
        done = p_.replicas.Promote(g->id, members, now);
        break;
      default:
        break;
    }
    if (!done.ok())
      return Failure(done);
  }
  Result<chat::GroupInfo> after = p_.replicas.GroupNamed(name);
  if (!after.ok())
    return Failure(after.status());
  Reach(*after);
  response.set_ok(true);
  Fill(*after, p_.self_name, response.add_groups());
  return response;
}

proto::Response GroupHandlers::Send(const std::string& to, std::span<const std::string> texts) {
  for (const std::string& t : texts) {
    if (Status valid = CheckGroupText(t); !valid.ok())
      return Failure(valid);
  }
  Result<chat::GroupInfo> g = p_.replicas.GroupNamed(GroupName(to));
  if (!g.ok())
    return Failure(g.status());
  Result<std::vector<chat::HistoryEntry>> written = p_.replicas.ComposeBatch(g->id, texts, NowMs());
  if (!written.ok())
    return Failure(written.status());
  chat::ConversationInfo info;
  info.id = g->id;
  info.name = g->name;
  p_.feed.OnEntries(info, *written);
  Reach(*g);
  proto::Response response;
  response.set_ok(true);
  if (written->size() == 1)
    response.set_message_id(ToHex(written->front().entry.id));
  for (const chat::HistoryEntry& h : *written)
    response.add_message_ids(ToHex(h.entry.id));
  return response;
}

proto::Response GroupHandlers::History(const proto::HistoryRequest& request) {
  const std::string name = GroupName(request.contact());
  Result<chat::GroupInfo> g = p_.replicas.GroupNamed(name);
  if (!g.ok())
    return Failure(g.status());
  Result<std::vector<chat::HistoryEntry>> all = p_.replicas.History(g->id);
  if (!all.ok())
    return Failure(all.status());
  std::vector<const chat::HistoryEntry*> shown;
  for (const chat::HistoryEntry& h : *all) {
    if (h.entry.kind == proto::ENTRY_TEXT && h.entry.received_ms >= request.since_unix_ms())
      shown.push_back(&h);
  }
  const size_t limit = request.limit() == 0 ? 100 : request.limit();
  if (shown.size() > limit)
    shown.erase(shown.begin(), shown.end() - static_cast<std::ptrdiff_t>(limit));
  if (request.mark_read()) {
    if (Status marked = p_.history.MarkRead("#" + g->name); !marked.ok())
      return Failure(marked);
  }
  proto::Response response;
  response.set_ok(true);
  for (const chat::HistoryEntry* h : shown) {
    proto::HistoryEntry* e = response.add_history();
    e->set_id(ToHex(h->entry.id));
    e->set_from(h->entry.author);
    e->set_to("#" + g->name);
    e->set_text(h->entry.text);
    e->set_state(std::string(MessageStateName(h->entry.state)));
    e->set_time_unix_ms(h->entry.sent_ms);
    e->set_seq(h->entry.seq);
    for (const std::string& d : h->delivered_to)
      e->add_delivered_to(d);
  }
  if (response.ByteSizeLong() + 64 > kMaxControlMessageBytes) {
    return Failure(Status::ResourceExhausted(
        "that history is too large for one answer; ask for fewer with --limit or --since"));
  }
  return response;
}

}  // namespace confab::peer
