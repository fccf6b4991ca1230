#include "peer/control/id_prefix.h"

#include <cctype>

namespace confab::peer {

Result<size_t> MatchIdPrefix(std::string_view prefix, const std::vector<std::string>& ids,
                             size_t full_digits, std::string_view what, std::string_view listing) {
  std::string lower(prefix);
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.size() < 4 || lower.size() > full_digits ||
      lower.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Status::InvalidArgument("a " + std::string(what) + " id is 4 to " +
                                   std::to_string(full_digits) + " hex digits, not \"" +
                                   std::string(prefix) + "\" (see `" + std::string(listing) + "`)");
  }
  std::vector<size_t> matches;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].compare(0, lower.size(), lower) == 0)
      matches.push_back(i);
  }
  if (matches.empty()) {
    return Status::NotFound("no " + std::string(what) + " has an id starting with " + lower +
                            " (see `" + std::string(listing) + "`)");
  }
  if (matches.size() > 1) {
    constexpr size_t kShown = 8;
    std::string list;
    for (size_t i = 0; i < matches.size() && i < kShown; ++i)
      list += (i == 0 ? "" : ", ") + ids[matches[i]];
    if (matches.size() > kShown)
      list += " and " + std::to_string(matches.size() - kShown) + " more";
    return Status::InvalidArgument(lower + " is ambiguous: " + std::to_string(matches.size()) +
                                   " " + std::string(what) + " ids start with it (" + list +
                                   "); give more digits");
  }
  return matches.front();
}

}  // namespace confab::peer
