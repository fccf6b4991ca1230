#include "tracker/cluster_punch.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace confab::tracker {
namespace {

TEST_CASE("A cross-tracker punch payload reads back as written", "[cluster][issue-16]") {
  const ClusterPunch p{std::string(64, 'b'), 18446744073709551615ULL, std::string(64, 'a')};
  const std::string payload = PunchPayload(p);
  CHECK(payload.size() == kMaxPunchPayloadBytes);
  auto parsed = ParsePunchPayload(payload);
  REQUIRE(parsed);
  CHECK(*parsed == p);
  CHECK(PunchPayload({"bob", 7, "alice"}) == "bob\n7\nalice");
}

TEST_CASE("A malformed cross-tracker punch payload is refused", "[cluster][issue-16][error]") {
  const std::vector<std::string> refused = {"",
                                            "bob",
                                            "bob\n7",
                                            "\n7\nalice",
                                            "bob\n\nalice",
                                            "bob\n7\n",
                                            "bob\nx7\nalice",
                                            "bob\n-7\nalice",
                                            "bob\n18446744073709551616\nalice",
                                            "bob\n7\nal\nice",
                                            "b\tob\n7\nalice",
                                            std::string(65, 'b') + "\n7\nalice",
                                            "bob\n7\n" + std::string(65, 'a'),
                                            std::string(200, '\n')};
  for (const std::string& bad : refused) {
    INFO(bad);
    CHECK_FALSE(ParsePunchPayload(bad));
  }
}

}  // namespace
}  // namespace confab::tracker
