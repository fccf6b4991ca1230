#include "peer/control/correspondents.h"

#include <vector>

namespace confab::peer {

void Correspondents::Subscribe() {
  link_.Subscribe({names_.begin(), names_.end()});
}

void Correspondents::Refresh() {
  const size_t before = names_.size();
  if (Result<std::vector<Contact>> all = contacts_.List(); all.ok()) {
    for (const Contact& c : *all)
      names_.insert(c.name);
  }
  if (Result<std::set<std::string>> people = people_(); people.ok())
    names_.insert(people->begin(), people->end());
  if (names_.size() != before || before == 0)
    Subscribe();
}

void Correspondents::Follow(const std::string& name) {
  if (names_.insert(name).second)
    Subscribe();
}

}  // namespace confab::peer
