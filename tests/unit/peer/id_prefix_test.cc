#include "peer/control/id_prefix.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace confab::peer {
namespace {

const std::vector<std::string> kIds = {"3f9a00112233", "3f9b44556677", "3f9b4400aaaa",
                                       "c0ffee000000"};

std::string Message(const Result<size_t>& r) {
  return std::string(r.status().message());
}

TEST_CASE("A unique id prefix of 4 or more hex digits names its id, in either case",
          "[peer][id_prefix]") {
  CHECK(*MatchIdPrefix("3f9a", kIds, 12, "transfer", "confab transfers") == 0);
  CHECK(*MatchIdPrefix("C0FFEE", kIds, 12, "transfer", "confab transfers") == 3);
  CHECK(*MatchIdPrefix("3f9b4455", kIds, 12, "transfer", "confab transfers") == 1);
  CHECK(*MatchIdPrefix("3f9b4400aaaa", kIds, 12, "transfer", "confab transfers") == 2);
}

TEST_CASE("An ambiguous id prefix is refused, listing every id it starts", "[peer][id_prefix]") {
  Result<size_t> r = MatchIdPrefix("3f9b", kIds, 12, "transfer", "confab transfers");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(Message(r).find("ambiguous") != std::string::npos);
  CHECK(Message(r).find("3f9b44556677") != std::string::npos);
  CHECK(Message(r).find("3f9b4400aaaa") != std::string::npos);
  CHECK(Message(r).find("3f9a00112233") == std::string::npos);
}

TEST_CASE("An ambiguous prefix over many ids lists the first 8 and counts the rest",
          "[peer][id_prefix]") {
  std::vector<std::string> many;
  for (int i = 0; i < 11; ++i)
    many.push_back("abcd" + std::to_string(10 + i) + "000000");
  Result<size_t> r = MatchIdPrefix("abcd", many, 12, "transfer", "confab transfers");
  REQUIRE_FALSE(r.ok());
  CHECK(Message(r).find("11 transfer ids") != std::string::npos);
  CHECK(Message(r).find("and 3 more") != std::string::npos);
  CHECK(Message(r).find(many[7]) != std::string::npos);
  CHECK(Message(r).find(many[8]) == std::string::npos);
}

TEST_CASE("A short, long or non-hex id prefix is refused, and an unknown one is not found",
          "[peer][id_prefix][error]") {
  for (const char* bad : {"", "3f9", "3f9g", "3f9a001122330", "-3f9a"}) {
    INFO(bad);
    Result<size_t> r = MatchIdPrefix(bad, kIds, 12, "transfer", "confab transfers");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(Message(r).find("4 to 12 hex digits") != std::string::npos);
  }
  Result<size_t> none = MatchIdPrefix("dead", kIds, 12, "transfer", "confab transfers");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Status::Code::kNotFound);
  CHECK(Message(none).find("confab transfers") != std::string::npos);
  CHECK(MatchIdPrefix("3f9a", {}, 12, "transfer", "confab transfers").status().code() ==
        Status::Code::kNotFound);
}

}  // namespace
}  // namespace confab::peer
