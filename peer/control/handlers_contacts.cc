// ContactHandlers: `confab contacts`, `confab verify`.
#include <string>

#include "common/base/member_name.h"
#include "common/base/wall_clock.h"
#include "peer/contacts/safety_number.h"
#include "peer/control/control_handlers.h"
#include "peer/control/control_response.h"
#include "peer/control/entries.h"

namespace confab::peer {
namespace {

// Get, with a NotFound that says what to do.
Result<Contact> Known(ContactBook& contacts, const std::string& name) {
  Result<Contact> c = contacts.Get(name);
  if (!c.ok() && c.status().code() == Status::Code::kNotFound)
    return Status::NotFound(name + " is not a contact (see `confab contacts`)");
  return c;
}

}  // namespace

proto::Response ContactHandlers::Contacts(const proto::ContactsRequest& request) {
  using Action = proto::ContactsRequest;
  ContactBook& contacts = p_.contacts;
  const std::string& name = request.name();
  if (request.action() == Action::ACTION_LIST) {
    Result<std::vector<Contact>> all = contacts.List();
    if (!all.ok())
      return Failure(all.status());
    proto::Response response;
    response.set_ok(true);
    for (const Contact& c : *all)
      FillContact(c, response.add_contact_list());
    return response;
  }
  if (Status valid = ValidateMemberName(name); !valid.ok())
    return Failure(valid);
  if (name == p_.self_name)
    return Failure(Status::InvalidArgument("that is you"));
  Status done;
  switch (request.action()) {
    case Action::ACTION_ADD:
      // Records the contact, unpinned and unblocked, and follows their
      // presence; the key is pinned on the first direct session. An
      // existing contact is left as it is.
      if (contacts.Get(name).ok())
        break;
      done = contacts.Unblock(name);  // creates the contact (contact_book.h)
      if (done.ok())
        p_.correspondents.Refresh();
      break;
    case Action::ACTION_REMOVE:
      done = contacts.Remove(name);
      if (done.code() == Status::Code::kNotFound)
        done = Status::NotFound(name + " is not a contact (see `confab contacts`)");
      break;
    case Action::ACTION_BLOCK:
      done = contacts.Block(name);
      if (done.ok())  // at once: their open connections go now, new ones are refused
        p_.access.CutOff(name, Status::PermissionDenied(name + " was blocked"));
      break;
    case Action::ACTION_UNBLOCK:
      if (Result<Contact> c = Known(contacts, name); !c.ok())
        return Failure(c.status());
      done = contacts.Unblock(name);
      if (done.ok())
        p_.sessions.DeliverSoon(name);  // anything queued for them meanwhile
      break;
    default:
      return Failure(Status::InvalidArgument("an unknown contacts action"));
  }
  if (!done.ok())
    return Failure(done);
  proto::Response response;
  response.set_ok(true);
  if (request.action() != Action::ACTION_REMOVE) {
    Result<Contact> c = contacts.Get(name);
    if (!c.ok())
      return Failure(c.status());
    FillContact(*c, response.add_contact_list());
  }
  return response;
}

proto::Response ContactHandlers::Verify(const proto::VerifyRequest& request) {
  if (Status valid = ValidateMemberName(request.name()); !valid.ok())
    return Failure(valid);
  Result<Contact> c = Known(p_.contacts, request.name());
  if (!c.ok())
    return Failure(c.status());
  if (c->identity_key.empty()) {
    return Failure(Status::FailedPrecondition("no key is pinned for " + request.name() +
                                              " yet; exchange a message first"));
  }
  proto::Response response;
  if (!c->pending_key.empty()) {
    Result<std::string> fresh = SafetyNumber(p_.identity_key, c->pending_key);
    if (!fresh.ok())
      return Failure(fresh.status());
    response.set_new_safety_number(*fresh);
  }
  if (request.accept_new_key()) {
    if (Status accepted = p_.contacts.AcceptKeyChange(request.name(), NowMs()); !accepted.ok())
      return Failure(accepted);
    p_.sessions.DeliverSoon(request.name());  // sending was held while the change was pending
  } else if (request.mark()) {
    if (Status marked = p_.contacts.MarkVerified(request.name()); !marked.ok())
      return Failure(marked);
  }
  c = p_.contacts.Get(request.name());
  if (!c.ok())
    return Failure(c.status());
  Result<std::string> number = SafetyNumber(p_.identity_key, c->identity_key);
  if (!number.ok())
    return Failure(number.status());
  response.set_ok(true);
  response.set_safety_number(*number);
  FillContact(*c, response.add_contact_list());
  return response;
}

}  // namespace confab::peer
