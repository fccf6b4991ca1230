// MemberCheck on a real loop, with the tracker's side played by the test:
// each lookup is recorded and answered (or not) by hand.
#include "peer/control/member_check.h"

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/net/net_test_util.h"

namespace confab::peer {
namespace {

using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;
using Verdict = MemberCheck::Verdict;

struct World {
  std::unique_ptr<net::Loop> loop = MakeLoop();
  std::vector<std::string> known = {"bob"};
  std::map<uint64_t, std::string> asked;  // request id -> name
  bool tracker_up = true;
  uint64_t next_id = 100;
  std::unique_ptr<MemberCheck> check = std::make_unique<MemberCheck>(
      MemberCheckParams{.loop = *loop,
                        .known =
                            [this](const std::string& name) {
                              return std::find(known.begin(), known.end(), name) != known.end();
                            },
                        .lookup = [this](const std::string& name) -> Result<uint64_t> {
                          if (!tracker_up)
                            return Status::Unavailable("no tracker session");
                          asked[next_id] = name;
                          return next_id++;
                        },
                        .timeout_ms = 50});

  ~World() {
    check.reset();
    CloseLoop(*loop);
  }
};

struct Outcome {
  bool done = false;
  Verdict verdict = Verdict::kUnknown;
  std::string why;
  MemberCheck::Done Catch() {
    return [this](Verdict v, const std::string& w) {
      REQUIRE_FALSE(done);  // once
      done = true;
      verdict = v;
      why = w;
    };
  }
};

proto::LookupResult Answer(uint64_t id, bool found, bool no_such_member, bool revoked) {
  proto::LookupResult result;
  result.set_request_id(id);
  result.set_found(found);
  result.set_no_such_member(no_such_member);
  result.set_revoked(revoked);
  return result;
}

TEST_CASE("a known name passes at once without asking the tracker", "[member_check]") {
  World w;
  Outcome out;
  w.check->Check("bob", out.Catch());
  CHECK(out.done);
  CHECK(out.verdict == Verdict::kMember);
  CHECK(w.asked.empty());
}

TEST_CASE("the tracker's answer decides member, no such member or revoked", "[member_check]") {
  World w;
  Outcome carol, bbo, dave;
  w.check->Check("carol", carol.Catch());
  w.check->Check("bbo", bbo.Catch());
  w.check->Check("dave", dave.Catch());
  REQUIRE(w.asked.size() == 3);
  CHECK_FALSE(carol.done);
  CHECK(w.check->pending() == 3);
  CHECK(w.check->OnLookupResult(Answer(100, true, false, false)));
  CHECK(w.check->OnLookupResult(Answer(101, false, true, false)));
  CHECK(w.check->OnLookupResult(Answer(102, false, false, true)));
  CHECK(carol.verdict == Verdict::kMember);
  CHECK(bbo.verdict == Verdict::kNoSuchMember);
  CHECK(dave.verdict == Verdict::kRevoked);
  CHECK(w.check->pending() == 0);
  // an answer it did not ask for, or a repeat, is not its business
  CHECK_FALSE(w.check->OnLookupResult(Answer(100, true, false, false)));
  CHECK_FALSE(w.check->OnLookupResult(Answer(7, false, true, false)));
}

TEST_CASE("an older tracker's error text is understood", "[member_check]") {
  World w;
  Outcome bbo, dave;
  w.check->Check("bbo", bbo.Catch());
  w.check->Check("dave", dave.Catch());
  proto::LookupResult typo = Answer(100, false, false, false);
  typo.set_error("no such member");
  proto::LookupResult gone = Answer(101, false, false, false);
  gone.set_error("revoked");
  CHECK(w.check->OnLookupResult(typo));
  CHECK(w.check->OnLookupResult(gone));
  CHECK(bbo.verdict == Verdict::kNoSuchMember);
  CHECK(dave.verdict == Verdict::kRevoked);
}

TEST_CASE("a tracker that cannot be asked, fails or stays silent gives unknown", "[member_check]") {
  World w;
  SECTION("no session") {
    w.tracker_up = false;
    Outcome out;
    w.check->Check("carol", out.Catch());
    CHECK(out.done);
    CHECK(out.verdict == Verdict::kUnknown);
    CHECK(out.why == "the tracker is not reachable");
  }
  SECTION("the session dropped with the lookup pending") {
    Outcome out;
    w.check->Check("carol", out.Catch());
    proto::LookupResult dropped = Answer(100, false, false, false);
    dropped.set_error("tracker session closed");
    CHECK(w.check->OnLookupResult(dropped));
    CHECK(out.verdict == Verdict::kUnknown);
    CHECK(out.why == "tracker session closed");
  }
  SECTION("no answer within the timeout") {
    Outcome out;
    w.check->Check("carol", out.Catch());
    REQUIRE(RunUntil(
        *w.loop, [&] { return out.done; }, 2000));
    CHECK(out.verdict == Verdict::kUnknown);
    CHECK(out.why == "the tracker did not answer in time");
    CHECK(w.check->pending() == 0);
    CHECK_FALSE(w.check->OnLookupResult(Answer(100, true, false, false)));  // too late
  }
}

TEST_CASE("two checks of one name share one lookup and both hear the answer", "[member_check]") {
  World w;
  Outcome first, second;
  w.check->Check("carol", first.Catch());
  w.check->Check("carol", second.Catch());
  CHECK(w.asked.size() == 1);
  CHECK(w.check->OnLookupResult(Answer(100, true, false, false)));
  CHECK(first.verdict == Verdict::kMember);
  CHECK(second.verdict == Verdict::kMember);
}

TEST_CASE("checks beyond the pending bound are unknown rather than queued", "[member_check]") {
  World w;
  std::vector<Outcome> outcomes(kMaxPendingMemberChecks + 1);
  for (size_t i = 0; i < outcomes.size(); ++i)
    w.check->Check("name" + std::to_string(i), outcomes[i].Catch());
  CHECK(w.check->pending() == kMaxPendingMemberChecks);
  CHECK(outcomes.back().done);
  CHECK(outcomes.back().verdict == Verdict::kUnknown);
  CHECK_FALSE(outcomes.front().done);
}

TEST_CASE("a check may start another from its callback", "[member_check]") {
  World w;
  Outcome inner;
  bool outer_done = false;
  w.check->Check("carol", [&](Verdict, const std::string&) {
    outer_done = true;
    w.check->Check("dave", inner.Catch());
  });
  CHECK(w.check->OnLookupResult(Answer(100, true, false, false)));
  CHECK(outer_done);
  CHECK(w.asked.size() == 2);
  CHECK(w.check->OnLookupResult(Answer(101, false, true, false)));
  CHECK(inner.verdict == Verdict::kNoSuchMember);
}

}  // namespace
}  // namespace confab::peer
