#include "common/base/member_name.h"

#include <string>

namespace confab {
namespace {

bool LowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// The name in quotes, cut short: it may be anything a peer sent.
std::string Quote(std::string_view name) {
  return "'" + std::string(name.substr(0, kMaxMemberNameBytes)) + "'";
}

}  // namespace

Status ValidateMemberName(std::string_view name) {
  if (name.empty() || name.size() > kMaxMemberNameBytes) {
    return Status::InvalidArgument("a member name must be 1 to " +
                                   std::to_string(kMaxMemberNameBytes) + " characters");
  }
  if (!LowerAlnum(name[0])) {
    return Status::InvalidArgument("member name " + Quote(name) +
                                   " must start with a lower-case letter or digit");
  }
  for (char c : name) {
    if (!LowerAlnum(c) && c != '.' && c != '_' && c != '-') {
      return Status::InvalidArgument("member name " + Quote(name) +
                                     " may contain only a-z, 0-9, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

}  // namespace confab
