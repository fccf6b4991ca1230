// TrackerLink's mailbox calls (issue 14) against the real tracker on
// loopback: deposit, the notice to an online recipient, fetch and
// acknowledge, an envelope that outlives a tracker restart, the tracker's
// refusals passed on, and the local refusals that send nothing.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/protocol/tracker_features.h"
#include "peer/tracker_link/tracker_link.h"
#include "tracker/mailbox_store.h"

#include "tests/unit/tracker_link/tracker_fixture.h"

namespace confab::peer {
namespace {

using namespace confab::peer::testing;  // NOLINT: the fixture

Bytes Sealed(const std::string& text) {
  return ToBytes(AsBytes(text));
}

tracker::MailboxTotals Held(Fixture& f) {
  auto totals = f.tracker.state().directory().mailbox()->Totals();
  REQUIRE(totals.ok());
  return *totals;
}

TEST_CASE(
    "TrackerLink deposits an envelope that the online recipient hears of, fetches and "
    "acknowledges",
    "[tracker_link][mailbox]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  a.link->Start();
  b.link->Start();
  REQUIRE(f.Run([&] { return a.link->connected() && b.link->connected(); }));
  REQUIRE(a.link->MailboxOffered().ok());

  auto request = a.link->DepositMailbox("bob", Sealed("sealed bytes"));
  REQUIRE(request.ok());
  REQUIRE(f.Run([&] { return !a.rec.deposits.empty() && !b.rec.notices.empty(); }));
  const proto::MailboxDepositAnswer& answer = a.rec.deposits[0];
  CHECK(answer.request_id() == *request);
  REQUIRE(answer.stored());
  CHECK(b.rec.notices[0].id() == answer.id());
  CHECK(b.rec.notices[0].author() == "alice");
  CHECK(Held(f).envelopes == 1);

  REQUIRE(b.link->FetchMailbox(0).ok());
  REQUIRE(f.Run([&] { return !b.rec.pages.empty(); }));
  const proto::MailboxEnvelopes& page = b.rec.pages[0];
  REQUIRE(page.envelopes_size() == 1);
  CHECK(page.envelopes(0).id() == answer.id());
  CHECK(page.envelopes(0).envelope() == "sealed bytes");
  CHECK(page.envelopes(0).author() == "alice");

  REQUIRE(b.link->AckMailbox({answer.id()}).ok());
  REQUIRE(f.Run([&] { return Held(f).envelopes == 0; }));
  CHECK(a.rec.errors.empty());
  CHECK(b.rec.errors.empty());
}

TEST_CASE("An envelope for an offline member outlives a tracker restart and is fetched later",
          "[tracker_link][mailbox]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  a.link->Start();
  REQUIRE(f.Run([&] { return a.link->connected(); }));
  REQUIRE(a.link->DepositMailbox("bob", Sealed("one")).ok());
  REQUIRE(a.link->DepositMailbox("bob", Sealed("two")).ok());
  REQUIRE(f.Run([&] { return a.rec.deposits.size() == 2; }));
  REQUIRE(a.rec.deposits[0].stored());
  REQUIRE(a.rec.deposits[1].stored());
  CHECK(a.rec.deposits[0].id() < a.rec.deposits[1].id());

  f.tracker.Restart();
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  b.link->Start();
  REQUIRE(f.Run([&] { return b.link->connected(); }));
  CHECK(b.rec.notices.empty());
  REQUIRE(b.link->FetchMailbox(0).ok());
  REQUIRE(f.Run([&] { return !b.rec.pages.empty(); }));
  REQUIRE(b.rec.pages[0].envelopes_size() == 2);
  CHECK(b.rec.pages[0].envelopes(0).envelope() == "one");
  CHECK(b.rec.pages[0].envelopes(1).envelope() == "two");
  CHECK_FALSE(b.rec.pages[0].more());
}

TEST_CASE("TrackerLink passes on the tracker's refusal of a deposit", "[tracker_link][mailbox]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  a.link->Start();
  REQUIRE(f.Run([&] { return a.link->connected(); }));
  REQUIRE(a.link->DepositMailbox("nobody", Sealed("x")).ok());
  REQUIRE(a.link->DepositMailbox("alice", Sealed("x")).ok());
  REQUIRE(f.Run([&] { return a.rec.deposits.size() == 2; }));
  CHECK_FALSE(a.rec.deposits[0].stored());
  CHECK(a.rec.deposits[0].refusal() == "not a member");
  CHECK(a.rec.deposits[1].refusal() == "mailbox to self");
  CHECK(Held(f).envelopes == 0);
}

TEST_CASE("TrackerLink refuses locally what the tracker cannot take, and sends nothing",
          "[tracker_link][mailbox][error]") {
  SECTION("no session yet") {
    Fixture f;
    MemberKeys alice = f.tracker.Enroll("alice");
    Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
    CHECK(a.link->MailboxOffered().code() == Status::Code::kUnavailable);
    CHECK(a.link->DepositMailbox("bob", Sealed("x")).status().code() == Status::Code::kUnavailable);
  }
  SECTION("a tracker with the mailbox disabled") {
    Fixture f([](config::Writer& w) { w.SetBool("mailbox.enabled", false); });
    MemberKeys alice = f.tracker.Enroll("alice");
    f.tracker.Enroll("bob");
    Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
    a.link->Start();
    REQUIRE(f.Run([&] { return a.link->connected(); }));
    CHECK(a.link->MailboxOffered().message() == "mailbox: disabled on the tracker");
    CHECK(a.link->DepositMailbox("bob", Sealed("x")).status().message() ==
          "mailbox: disabled on the tracker");
    CHECK(a.link->FetchMailbox(0).message() == "mailbox: disabled on the tracker");
    f.RunFor(100);
    CHECK(a.rec.deposits.empty());
    CHECK(a.rec.errors.empty());  // nothing reached the tracker to refuse
  }
  SECTION("an empty or oversize envelope, and an ack of too many") {
    Fixture f;
    MemberKeys alice = f.tracker.Enroll("alice");
    Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
    a.link->Start();
    REQUIRE(f.Run([&] { return a.link->connected(); }));
    CHECK(a.link->DepositMailbox("bob", Bytes{}).status().code() == Status::Code::kInvalidArgument);
    CHECK(a.link->DepositMailbox("bob", Bytes(protocol::kMaxMailboxEnvelopeBytes + 1, 1))
              .status()
              .code() == Status::Code::kInvalidArgument);
    CHECK(a.link->AckMailbox({}).code() == Status::Code::kInvalidArgument);
    CHECK(a.link->AckMailbox(std::vector<uint64_t>(protocol::kMaxMailboxAckIds + 1, 1)).code() ==
          Status::Code::kInvalidArgument);
    f.RunFor(100);
    CHECK(a.rec.deposits.empty());
    CHECK(a.link->connected());
  }
}

TEST_CASE("TrackerLink carries a frame-sized envelope both ways", "[tracker_link][mailbox]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  a.link->Start();
  b.link->Start();
  REQUIRE(f.Run([&] { return a.link->connected() && b.link->connected(); }));
  const Bytes big(protocol::kMaxMailboxEnvelopeBytes, 0xab);
  REQUIRE(a.link->DepositMailbox("bob", big).ok());
  REQUIRE(f.Run([&] { return !a.rec.deposits.empty(); }));
  REQUIRE(a.rec.deposits[0].stored());
  REQUIRE(b.link->FetchMailbox(0).ok());
  REQUIRE(f.Run([&] { return !b.rec.pages.empty(); }));
  REQUIRE(b.rec.pages[0].envelopes_size() == 1);
  CHECK(b.rec.pages[0].envelopes(0).envelope().size() == big.size());
  CHECK(a.link->connected());
  CHECK(b.link->connected());
}

}  // namespace
}  // namespace confab::peer
