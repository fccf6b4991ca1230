#include "common/base/suggest.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace confab {
namespace {

TEST_CASE("edit distance counts insertions, deletions and substitutions") {
  CHECK(EditDistance("", "") == 0);
  CHECK(EditDistance("abc", "") == 3);
  CHECK(EditDistance("", "abc") == 3);
  CHECK(EditDistance("kitten", "sitting") == 3);
  CHECK(EditDistance("users", "users") == 0);
  CHECK(EditDistance("usres", "users") == 2);
}

TEST_CASE("a typo of a subcommand suggests that subcommand") {
  const std::vector<std::string> commands{"init", "serve", "invite", "revoke", "users"};
  CHECK(ClosestName("user", commands) == "users");
  CHECK(ClosestName("serv", commands) == "serve");
  CHECK(ClosestName("invit", commands) == "invite");
  CHECK(ClosestName("revok", commands) == "revoke");
}

TEST_CASE("a word far from every subcommand suggests nothing") {
  const std::vector<std::string> commands{"init", "serve", "invite", "revoke", "users"};
  CHECK(ClosestName("xyzzyplugh", commands).empty());
  CHECK(ClosestName("q", {}).empty());
}

}  // namespace
}  // namespace confab
