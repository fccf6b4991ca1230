// The node's contact-book requests (proto/control.proto ContactsRequest,
// VerifyRequest, ExportRequest): `confab contacts`, `confab verify`,
// `confab export`. Part of Node (node.h); the rest is in node.cc.
#include <chrono>
#include <string>
#include <utility>

#include "common/base/member_name.h"
#include "common/base/wall_clock.h"
#include "peer/contacts/safety_number.h"
#include "peer/control/control_frame.h"
#include "peer/control/control_response.h"
#include "peer/node/node.h"

namespace confab::peer {
namespace {

void Fill(const Contact& c, proto::ContactEntry* e) {
  e->set_name(c.name);
  e->set_pinned(!c.identity_key.empty());
  e->set_verified(c.verified);
  e->set_blocked(c.blocked);
  e->set_key_change_pending(!c.pending_key.empty());
}

// Get, with a NotFound that says what to do.
Result<Contact> Known(ContactBook& contacts, const std::string& name) {
  Result<Contact> c = contacts.Get(name);
  if (!c.ok() && c.status().code() == Status::Code::kNotFound)
    return Status::NotFound(name + " is not a contact (see `confab contacts`)");
  return c;
}

}  // namespace

proto::Response Node::Contacts(const proto::ContactsRequest& request) {
  using Action = proto::ContactsRequest;
  const std::string& name = request.name();
  if (request.action() == Action::ACTION_LIST) {
    Result<std::vector<Contact>> all = contacts_->List();
    if (!all.ok())
      return Failure(all.status());
    proto::Response response;
    response.set_ok(true);
    for (const Contact& c : *all)
      Fill(c, response.add_contact_list());
    return response;
  }
  if (Status valid = ValidateMemberName(name); !valid.ok())
    return Failure(valid);
  if (name == name_)
    return Failure(Status::InvalidArgument("that is you"));
  Status done;
  switch (request.action()) {
    case Action::ACTION_ADD:
      // Records the contact, unpinned and unblocked, and follows their
      // presence; the key is pinned on the first direct session. An
      // existing contact is left as it is.
      if (contacts_->Get(name).ok())
        break;
      done = contacts_->Unblock(name);  // creates the contact (contact_book.h)
      if (done.ok())
        RefreshSubscriptions();
      break;
    case Action::ACTION_REMOVE:
      done = contacts_->Remove(name);
      if (done.code() == Status::Code::kNotFound)
        done = Status::NotFound(name + " is not a contact (see `confab contacts`)");
      break;
    case Action::ACTION_BLOCK:
      done = contacts_->Block(name);
      if (done.ok()) {  // at once: their open sessions go now, new ones are refused
        port_->Drop(name, Status::PermissionDenied(name + " was blocked"));
        sessions_->DropSessions(name, Status::PermissionDenied(name + " was blocked"));
        transfers_->DropPeer(name, Status::PermissionDenied(name + " was blocked"));
      }
      break;
    case Action::ACTION_UNBLOCK:
      if (Result<Contact> c = Known(*contacts_, name); !c.ok())
        return Failure(c.status());
      done = contacts_->Unblock(name);
      if (done.ok())
        sessions_->DeliverSoon(name);  // anything queued for them meanwhile
      break;
    default:
      return Failure(Status::InvalidArgument("an unknown contacts action"));
  }
  if (!done.ok())
    return Failure(done);
  proto::Response response;
  response.set_ok(true);
  if (request.action() != Action::ACTION_REMOVE) {
    Result<Contact> c = contacts_->Get(name);
    if (!c.ok())
      return Failure(c.status());
    Fill(*c, response.add_contact_list());
  }
  return response;
}

proto::Response Node::Verify(const proto::VerifyRequest& request) {
  if (Status valid = ValidateMemberName(request.name()); !valid.ok())
    return Failure(valid);
  Result<Contact> c = Known(*contacts_, request.name());
  if (!c.ok())
    return Failure(c.status());
  if (c->identity_key.empty()) {
    return Failure(Status::FailedPrecondition("no key is pinned for " + request.name() +
                                              " yet; exchange a message first"));
  }
  proto::Response response;
  if (!c->pending_key.empty()) {
    Result<std::string> fresh = SafetyNumber(identity_key_, c->pending_key);
    if (!fresh.ok())
      return Failure(fresh.status());
    response.set_new_safety_number(*fresh);
  }
  if (request.accept_new_key()) {
    if (Status accepted = contacts_->AcceptKeyChange(request.name(), NowMs()); !accepted.ok())
      return Failure(accepted);
    sessions_->DeliverSoon(request.name());  // sending was held while the change was pending
  } else if (request.mark()) {
    if (Status marked = contacts_->MarkVerified(request.name()); !marked.ok())
      return Failure(marked);
  }
  c = contacts_->Get(request.name());
  if (!c.ok())
    return Failure(c.status());
  Result<std::string> number = SafetyNumber(identity_key_, c->identity_key);
  if (!number.ok())
    return Failure(number.status());
  response.set_ok(true);
  response.set_safety_number(*number);
  Fill(*c, response.add_contact_list());
  return response;
}

proto::Response Node::Export(const proto::ExportRequest& request) {
  proto::Response response;
  Status done = history_->Export(request.since_unix_ms(), [&](const StoredMessage& m) {
    proto::HistoryEntry* e = response.add_history();
    const bool out = m.direction == Direction::kOut;
    e->set_id(ToHex(m.id));
    e->set_from(out ? name_ : m.conversation);
    e->set_to(out ? m.conversation : name_);
    e->set_text(m.text);
    e->set_state(std::string(MessageStateName(m.state)));
    e->set_time_unix_ms(m.sent_ms);
    e->set_seq(m.seq);
    return Status::Ok();
  });
  if (!done.ok())
    return Failure(done);
  response.set_ok(true);
  if (response.ByteSizeLong() + 64 > kMaxControlMessageBytes) {
    return Failure(Status::ResourceExhausted(
        "the history is too large for one answer; export it in parts with --since"));
  }
  return response;
}

}  // namespace confab::peer
