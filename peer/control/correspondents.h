// Correspondents: whom the node follows on the tracker (presence pushes)
// and retries: every contact, everyone with queued messages, and everyone
// met in this run (a session, a message or a file sent to them).
//
// Lifetime: `contacts`, `messenger` and `link` outlive it. Loop thread.
#pragma once

#include <set>
#include <string>

#include "peer/chat/messenger.h"
#include "peer/contacts/contact_book.h"
#include "peer/tracker_link/tracker_link.h"

namespace confab::peer {

class Correspondents {
 public:
  Correspondents(ContactBook& contacts, Messenger& messenger, TrackerLink& link)
      : contacts_(contacts), messenger_(messenger), link_(link) {}

  // Adds every contact and everyone with an outbox; subscribes again when
  // the set grew (or on the first call).
  void Refresh();
  // Adds `name`, subscribing again if they are new.
  void Follow(const std::string& name);
  const std::set<std::string>& names() const { return names_; }

 private:
  void Subscribe();

  ContactBook& contacts_;
  Messenger& messenger_;
  TrackerLink& link_;
  std::set<std::string> names_;
};

}  // namespace confab::peer
