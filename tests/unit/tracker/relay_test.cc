#include "tracker/relay.h"

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tracker/state.h"

#include "../store/temp_dir.h"

namespace confab::tracker {
namespace {

struct Members {
  std::map<std::string, MemberState> states{{"alice", MemberState::kMember},
                                            {"bob", MemberState::kMember},
                                            {"carol", MemberState::kMember},
                                            {"mallory", MemberState::kRevoked}};
  RelayCore::MemberLookup Lookup() {
    return [this](const std::string& name) {
      auto it = states.find(name);
      return it == states.end() ? MemberState::kUnknown : it->second;
    };
  }
};

RelayConfig Config() {
  RelayConfig c;
  c.max_pairs = 2;
  c.max_rate_per_pair = 1000;
  c.max_rate_total = 1500;
  return c;
}

TEST_CASE("Two members are paired through a slot the callee joins", "[relay]") {
  Members m;
  RelayCore relay(Config(), m.Lookup());
  auto req = relay.Request("alice", "bob", 0);
  REQUIRE(req.ok());
  CHECK(relay.pending_pairs() == 1);
  auto join = relay.Join(req.slot, "bob", 0);
  REQUIRE(join.ok());
  CHECK(relay.active_pairs() == 1);
  CHECK(relay.metrics().pairs_opened == 1);
  relay.Close(req.slot);
  CHECK(relay.active_pairs() == 0);
}

TEST_CASE("A non-member can neither ask for a relay nor be relayed to", "[relay]") {
  Members m;
  RelayCore relay(Config(), m.Lookup());
  CHECK(relay.Request("eve", "bob", 0).refusal == RelayRefusal::kNotMember);
  CHECK(relay.Request("alice", "eve", 0).refusal == RelayRefusal::kNotMember);
  CHECK(relay.metrics().refusals.at("not a member") == 2);
  CHECK(relay.pending_pairs() == 0);
}

TEST_CASE("A revoked member is refused, and revoking closes their relayed pairs", "[relay]") {
  Members m;
  RelayCore relay(Config(), m.Lookup());
  CHECK(relay.Request("mallory", "bob", 0).refusal == RelayRefusal::kRevoked);
  auto req = relay.Request("alice", "bob", 0);
  REQUIRE(relay.Join(req.slot, "bob", 0).ok());
  m.states["bob"] = MemberState::kRevoked;
  auto closed = relay.OnRevoked("bob");
  REQUIRE(closed.size() == 1);
  CHECK(closed[0] == req.slot);
  CHECK(relay.active_pairs() == 0);
  CHECK(relay.Allow(req.slot, 100, 10) == 0);
}

TEST_CASE("Only the named callee can take a slot, and only once", "[relay]") {
  Members m;
  RelayCore relay(Config(), m.Lookup());
  auto req = relay.Request("alice", "bob", 0);
  CHECK(relay.Join(req.slot, "carol", 0).refusal == RelayRefusal::kWrongSlot);
  CHECK(relay.Join(req.slot + 7, "bob", 0).refusal == RelayRefusal::kWrongSlot);
  REQUIRE(relay.Join(req.slot, "bob", 0).ok());
  CHECK(relay.Join(req.slot, "bob", 0).refusal == RelayRefusal::kWrongSlot);
  CHECK(relay.Request("alice", "alice", 0).refusal == RelayRefusal::kSelf);
}

TEST_CASE("The relay refuses beyond max_pairs and when disabled", "[relay]") {
  Members m;
  RelayCore relay(Config(), m.Lookup());
  REQUIRE(relay.Request("alice", "bob", 0).ok());
  REQUIRE(relay.Request("bob", "carol", 0).ok());
  CHECK(relay.Request("carol", "alice", 0).refusal == RelayRefusal::kTooManyPairs);
  auto off = Config();
  off.enabled = false;
  RelayCore disabled(off, m.Lookup());
  CHECK(disabled.Request("alice", "bob", 0).refusal == RelayRefusal::kDisabled);
  CHECK(RefusalName(RelayRefusal::kDisabled) == "relay disabled");
}

TEST_CASE("Bytes are limited per pair and in total, and refill with time", "[relay]") {
  Members m;
  RelayCore relay(Config(), m.Lookup());
  auto a = relay.Request("alice", "bob", 0);
  REQUIRE(relay.Join(a.slot, "bob", 0).ok());
  auto b = relay.Request("carol", "alice", 0);
  REQUIRE(relay.Join(b.slot, "alice", 0).ok());
  CHECK(relay.Allow(a.slot, 5000, 0) == 1000);  // per-pair burst
  CHECK(relay.Allow(a.slot, 5000, 0) == 0);
  CHECK(relay.Allow(b.slot, 5000, 0) == 500);   // what is left of the total
  CHECK(relay.Allow(a.slot, 100, 100) == 100);  // 100 ms refill: 100 bytes
  CHECK(relay.metrics().bytes_relayed == 1600);
}

TEST_CASE("A byte bucket says how long to wait for the next byte", "[relay]") {
  ByteBucket bucket(1000, 10, 0);
  CHECK(bucket.Take(50, 0) == 10);
  CHECK(bucket.WaitMs(0) == 1);
  CHECK(bucket.Take(50, 5) == 5);
}

TEST_CASE("tracker.toml's relay keys are read with defaults and checked", "[relay][config]") {
  store::TempDir tmp;
  const std::string dir = tmp.File("t");
  REQUIRE(TrackerState::Init(dir, "Example", "127.0.0.1:7650").ok());
  std::string original;
  {
    std::ifstream in(dir + "/tracker.toml");
    original.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto open_with = [&](const std::string& lines) {
    std::ofstream(dir + "/tracker.toml") << lines << "\n" << original;
    return TrackerState::Open(dir);
  };
  SECTION("absent: enabled, 64 pairs, 4 MiB/s per pair") {
    auto state = open_with("");
    REQUIRE(state.ok());
    CHECK((*state)->config().relay.enabled);
    CHECK((*state)->config().relay.max_pairs == 64);
    CHECK((*state)->config().relay.max_rate_per_pair == 4.0 * 1024 * 1024);
  }
  SECTION("set") {
    auto state =
        open_with("relay.enabled = false\nrelay.max_pairs = 3\nrelay.max_rate_total = 2048");
    REQUIRE(state.ok());
    CHECK_FALSE((*state)->config().relay.enabled);
    CHECK((*state)->config().relay.max_pairs == 3);
    CHECK((*state)->config().relay.max_rate_total == 2048.0);
  }
  SECTION("refused: a rate below 1 KiB/s, a string for a bool") {
    for (const char* line : {"relay.max_rate_per_pair = 10", "relay.enabled = 'yes'"}) {
      INFO(line);
      auto state = open_with(line);
      REQUIRE_FALSE(state.ok());
      CHECK(state.status().ToString().find("relay.") != std::string::npos);
    }
  }
}

TEST_CASE("Only the caller attaches its own leg to a slot, once", "[relay]") {
  Members m;
  RelayCore relay(Config(), m.Lookup());
  auto req = relay.Request("alice", "bob", 0);
  REQUIRE(req.ok());
  CHECK(relay.IsCaller(req.slot, "alice"));
  CHECK_FALSE(relay.IsCaller(req.slot, "bob"));
  CHECK(relay.JoinCaller(req.slot, "bob").refusal == RelayRefusal::kWrongSlot);
  CHECK(relay.JoinCaller(req.slot, "carol").refusal == RelayRefusal::kWrongSlot);
  REQUIRE(relay.JoinCaller(req.slot, "alice").ok());
  CHECK(relay.JoinCaller(req.slot, "alice").refusal == RelayRefusal::kWrongSlot);
  CHECK(relay.metrics().refusals.at("wrong slot") == 3);
  m.states["alice"] = MemberState::kRevoked;
  auto second = relay.Request("bob", "alice", 0);
  CHECK(second.refusal == RelayRefusal::kRevoked);
}

TEST_CASE("A slot whose two legs have not joined in time expires while a complete pair stays",
          "[relay]") {
  Members m;
  RelayCore relay(Config(), m.Lookup());
  auto lonely = relay.Request("alice", "bob", 1000);
  auto complete = relay.Request("carol", "alice", 1000);
  REQUIRE(relay.Join(lonely.slot, "bob", 1000).ok());  // the caller never comes
  REQUIRE(relay.Join(complete.slot, "alice", 1000).ok());
  REQUIRE(relay.JoinCaller(complete.slot, "carol").ok());
  CHECK(relay.ExpireIncomplete(5000, 10000).empty());
  CHECK(relay.ExpireIncomplete(11000, 10000) == std::vector<uint64_t>{lonely.slot});
  CHECK(relay.active_pairs() == 1);
  CHECK(relay.Allow(complete.slot, 10, 11000) == 10);
}

TEST_CASE("A byte bucket whose clock goes back waits as if no time had passed", "[relay]") {
  ByteBucket bucket(1000, 10, 5000);
  CHECK(bucket.Take(10, 5000) == 10);
  CHECK(bucket.Take(10, 1000) == 0);  // the clock went back 4 s
  CHECK(bucket.Take(10, 1005) == 5);  // and refills from there
}

}  // namespace
}  // namespace confab::tracker
