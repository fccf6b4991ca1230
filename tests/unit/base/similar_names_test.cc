#include "common/base/similar_names.h"

#include <catch2/catch.hpp>

namespace confab {
namespace {

TEST_CASE("edit distance counts insertions, deletions, substitutions and adjacent swaps") {
  CHECK(EditDistance("", "") == 0);
  CHECK(EditDistance("bob", "bob") == 0);
  CHECK(EditDistance("", "bob") == 3);
  CHECK(EditDistance("bob", "") == 3);
  CHECK(EditDistance("bbo", "bob") == 1);  // a swap
  CHECK(EditDistance("bob", "rob") == 1);  // a substitution
  CHECK(EditDistance("bo", "bob") == 1);   // an insertion
  CHECK(EditDistance("carol", "karl") == 2);
  CHECK(EditDistance("alice", "bob") == 5);
  CHECK(EditDistance("kitten", "sitting") == 3);
}

TEST_CASE("similar names are the near ones, nearest first, without the word itself") {
  const std::vector<std::string> known = {"alice", "bob", "rob", "bobby", "carol", "bob"};
  CHECK(SimilarNames("bbo", known) == std::vector<std::string>{"bob"});
  CHECK(SimilarNames("bob", known) == std::vector<std::string>{"rob"});
  CHECK(SimilarNames("alcie", known) == std::vector<std::string>{"alice"});
  CHECK(SimilarNames("caorl", known) == std::vector<std::string>{"carol"});
  CHECK(SimilarNames("zed", known).empty());
  CHECK(SimilarNames("bobb", known) == std::vector<std::string>{"bob", "bobby"});
  CHECK(SimilarNames("bobb", known, 1) == std::vector<std::string>{"bob"});
}

TEST_CASE("a typo of a subcommand suggests that subcommand") {
  const std::vector<std::string> commands{"init", "serve", "invite", "revoke", "users"};
  CHECK(ClosestName("user", commands) == "users");
  CHECK(ClosestName("usres", commands) == "users");
  CHECK(ClosestName("serv", commands) == "serve");
  CHECK(ClosestName("invit", commands) == "invite");
  CHECK(ClosestName("revok", commands) == "revoke");
}

TEST_CASE("a word far from every subcommand suggests nothing") {
  const std::vector<std::string> commands{"init", "serve", "invite", "revoke", "users"};
  CHECK(ClosestName("xyzzyplugh", commands).empty());
  CHECK(ClosestName("q", {}).empty());
}

TEST_CASE("an unknown first word gets the error naming the nearest command") {
  const std::vector<std::string> commands{"init", "serve", "invite", "revoke", "users"};
  CHECK_FALSE(UnknownCommand("confab-tracker", "users", commands).has_value());
  CHECK(UnknownCommand("confab-tracker", "usres", commands) ==
        "confab-tracker: unknown command 'usres'; did you mean 'users'?\n"
        "Run 'confab-tracker --help' for the list.");
  CHECK(UnknownCommand("confab", "xyzzyplugh", commands) ==
        "confab: unknown command 'xyzzyplugh'\nRun 'confab --help' for the list.");
}

TEST_CASE("did you mean reads as an English clause") {
  CHECK(DidYouMean({}).empty());
  const std::vector<std::string> one = {"bob"};
  CHECK(DidYouMean(one) == " (did you mean bob?)");
  const std::vector<std::string> two = {"bob", "rob"};
  CHECK(DidYouMean(two) == " (did you mean bob or rob?)");
  const std::vector<std::string> three = {"bob", "rob", "bobby"};
  CHECK(DidYouMean(three) == " (did you mean bob, rob or bobby?)");
}

}  // namespace
}  // namespace confab
