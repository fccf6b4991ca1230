// Correspondents: whom the node follows on the tracker (presence pushes)
// and retries: every contact, everyone we share a conversation with (the
// members of our groups and direct conversations), and everyone met in this
// run (a session, a message or a file sent to them).
//
// Lifetime: `contacts` and `link` outlive it. Loop thread.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <utility>

#include "common/base/result.h"
#include "peer/contacts/contact_book.h"
#include "peer/tracker_link/tracker_link.h"

namespace confab::peer {

class Correspondents {
 public:
  // The persons of our conversations (Replicas::People).
  using People = std::function<Result<std::set<std::string>>()>;
  Correspondents(ContactBook& contacts, People people, TrackerLink& link)
      : contacts_(contacts), people_(std::move(people)), link_(link) {}

  // Adds every contact and every person of our conversations; subscribes
  // again when the set grew (or on the first call).
  void Refresh();
  // Adds `name`, subscribing again if they are new.
  void Follow(const std::string& name);
  const std::set<std::string>& names() const { return names_; }

 private:
  void Subscribe();

  ContactBook& contacts_;
  People people_;
  TrackerLink& link_;
  std::set<std::string> names_;
};

}  // namespace confab::peer
