// The mailbox through TrackerService (issue 14): the feature in the welcome,
// deposits and their refusals, the notice to an online recipient, fetches
// and acknowledgements of one's own envelopes only, the frame bounds,
// expiry and the counters. Sans-I/O: the service is driven directly, over a
// real directory.db.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/channel/secure_channel.h"
#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "common/protocol/tracker_features.h"
#include "tracker/service.h"

#include "service_world.h"

namespace confab::tracker {
namespace {

using testing::kNow;
using testing::Serialize;

struct MailWorld : testing::ServiceWorld {
  using ServiceWorld::ServiceWorld;

  // A protocol 2 session, with what its first frame brings out of the way.
  SessionId Connect(const Member& m) {
    SessionId id = ServiceWorld::Connect(m, 2);
    service->TakeOutgoing();
    return id;
  }

  // Deposits and returns the answer (the first outgoing message, to `from`).
  proto::MailboxDepositAnswer Deposit(SessionId from, const std::string& to, const Bytes& envelope,
                                      int64_t now = kNow) {
    proto::ToTracker m;
    m.mutable_mailbox_deposit()->set_request_id(++request_id);
    m.mutable_mailbox_deposit()->set_recipient(to);
    m.mutable_mailbox_deposit()->set_envelope(std::string(AsChars(envelope)));
    REQUIRE(Send(from, m, now).ok());
    last = service->TakeOutgoing();
    REQUIRE_FALSE(last.empty());
    REQUIRE(last[0].to == from);
    REQUIRE(last[0].message.has_mailbox_deposited());
    CHECK(last[0].message.mailbox_deposited().request_id() == request_id);
    return last[0].message.mailbox_deposited();
  }

  std::vector<Outgoing> Fetch(SessionId who, uint64_t after = 0) {
    proto::ToTracker m;
    m.mutable_mailbox_fetch()->set_after_id(after);
    REQUIRE(Send(who, m).ok());
    return service->TakeOutgoing();
  }

  proto::MailboxEnvelopes FetchPage(SessionId who, uint64_t after = 0) {
    auto out = Fetch(who, after);
    REQUIRE(out.size() == 1);
    REQUIRE(out[0].message.has_mailbox_envelopes());
    return out[0].message.mailbox_envelopes();
  }

  void Ack(SessionId who, const std::vector<uint64_t>& ids) {
    proto::ToTracker m;
    for (uint64_t id : ids)
      m.mutable_mailbox_ack()->add_ids(id);
    REQUIRE(Send(who, m).ok());
  }

  std::vector<Outgoing> last;
  uint64_t request_id = 0;
};

Bytes Sealed(size_t size, uint8_t fill = 0x5a) {
  return Bytes(size, fill);
}

TEST_CASE("The welcome offers the mailbox at protocol 3", "[service][mailbox]") {
  MailWorld w;
  w.Connect(w.Enroll("alice"));
  CHECK(w.welcome.protocol_version() == 3);
  CHECK(protocol::MailboxOffered(w.welcome).ok());
  CHECK(protocol::RelayOffered(w.welcome).ok());
}

TEST_CASE("A tracker with the mailbox disabled neither offers it nor stores or serves envelopes",
          "[service][mailbox][error]") {
  MailWorld w("[mailbox]\nenabled = false");
  auto alice = w.Enroll("alice");
  w.Enroll("bob");
  SessionId a = w.Connect(alice);
  CHECK(protocol::MailboxOffered(w.welcome).message() == "mailbox: disabled on the tracker");
  auto answer = w.Deposit(a, "bob", Sealed(10));
  CHECK_FALSE(answer.stored());
  CHECK(answer.refusal() == "mailbox disabled");
  auto out = w.Fetch(a);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].message.has_error());
  CHECK(out[0].message.error().message().find("mailbox disabled") != std::string::npos);
  CHECK(w.state->directory().mailbox()->Totals()->envelopes == 0);
  CHECK(w.service->TakeToClose().empty());
}

TEST_CASE("A deposit is stored before it is answered and an online recipient is told at once",
          "[service][mailbox]") {
  MailWorld w;
  auto alice = w.Enroll("alice");
  auto bob = w.Enroll("bob");
  SessionId a = w.Connect(alice);
  SessionId b = w.Connect(bob);
  auto answer = w.Deposit(a, "bob", Sealed(300, 1));
  REQUIRE(answer.stored());
  CHECK(answer.refusal().empty());
  // Durable when answered: another directory connection sees it.
  auto held = w.state->directory().mailbox()->Fetch("bob", 0, 10, 1 << 20);
  REQUIRE(held.ok());
  REQUIRE(held->envelopes.size() == 1);
  CHECK(held->envelopes[0].id == answer.id());
  CHECK(held->envelopes[0].author == "alice");

  REQUIRE(w.last.size() == 2);
  CHECK(w.last[1].to == b);
  REQUIRE(w.last[1].message.has_mailbox_notice());
  CHECK(w.last[1].message.mailbox_notice().id() == answer.id());
  CHECK(w.last[1].message.mailbox_notice().author() == "alice");

  proto::MailboxEnvelopes page = w.FetchPage(b);
  REQUIRE(page.envelopes_size() == 1);
  CHECK_FALSE(page.more());
  CHECK(page.envelopes(0).id() == answer.id());
  CHECK(page.envelopes(0).author() == "alice");
  CHECK(page.envelopes(0).deposited_unix() == kNow);
  CHECK(page.envelopes(0).envelope() == std::string(300, '\x01'));
  // Fetched is not deleted: only an acknowledgement deletes.
  CHECK(w.FetchPage(b).envelopes_size() == 1);
  w.Ack(b, {answer.id()});
  CHECK(w.FetchPage(b).envelopes_size() == 0);
  const MailboxCounters& c = w.service->mailbox_counters();
  CHECK(c.deposits == 1);
  CHECK(c.acked == 1);
  CHECK(c.fetches == 3);
  CHECK(c.envelopes == 0);
  CHECK(c.bytes == 0);
}

TEST_CASE("An offline recipient gets no notice and fetches the envelopes in order when it comes",
          "[service][mailbox]") {
  MailWorld w;
  auto alice = w.Enroll("alice");
  auto bob = w.Enroll("bob");
  SessionId a = w.Connect(alice);
  std::vector<uint64_t> ids;
  for (uint8_t i = 1; i <= 3; ++i) {
    auto answer = w.Deposit(a, "bob", Sealed(10, i));
    REQUIRE(answer.stored());
    CHECK(w.last.size() == 1);  // the answer only
    ids.push_back(answer.id());
  }
  // The tracker restarts in between: nothing acknowledged is lost.
  w.Restart();
  CHECK(w.service->mailbox_counters().envelopes == 3);
  CHECK(w.service->mailbox_counters().bytes == 30);
  SessionId b = w.Connect(bob);
  proto::MailboxEnvelopes page = w.FetchPage(b);
  REQUIRE(page.envelopes_size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(page.envelopes(i).id() == ids[static_cast<size_t>(i)]);
    CHECK(page.envelopes(i).envelope() == std::string(10, static_cast<char>(i + 1)));
  }
  CHECK(w.FetchPage(b, ids[1]).envelopes_size() == 1);
}

TEST_CASE("A member fetches and acknowledges only their own envelopes",
          "[service][mailbox][error]") {
  MailWorld w;
  auto alice = w.Enroll("alice");
  auto bob = w.Enroll("bob");
  auto carol = w.Enroll("carol");
  SessionId a = w.Connect(alice);
  SessionId c = w.Connect(carol);
  const uint64_t for_bob = w.Deposit(a, "bob", Sealed(10)).id();
  CHECK(w.FetchPage(c).envelopes_size() == 0);
  w.Ack(c, {for_bob});  // not hers: skipped
  CHECK(w.service->mailbox_counters().acked == 0);
  SessionId b = w.Connect(bob);
  REQUIRE(w.FetchPage(b).envelopes_size() == 1);
}

TEST_CASE("Deposits are refused with a reason and nothing is stored", "[service][mailbox][error]") {
  MailWorld w("[mailbox]\nmax_envelopes_per_recipient = 2");
  auto alice = w.Enroll("alice");
  auto bob = w.Enroll("bob");
  auto mallory = w.Enroll("mallory");
  SessionId a = w.Connect(alice);
  REQUIRE(w.state->directory().Revoke("mallory", kNow, "left").ok());
  (void)bob;
  (void)mallory;

  struct Case {
    std::string to;
    size_t size;
    std::string refusal;
  };
  const std::vector<Case> cases = {
      {"nobody", 10, "not a member"},
      {"not a name\n", 10, "not a member"},
      {"mallory", 10, "revoked"},
      {"alice", 10, "mailbox to self"},
      {"bob", kMaxEnvelopeBytes + 1, "too large"},
      {"bob", 0, "empty envelope"},
  };
  for (const Case& k : cases) {
    INFO(k.to << " " << k.size);
    auto answer = w.Deposit(a, k.to, Sealed(k.size));
    CHECK_FALSE(answer.stored());
    CHECK(answer.refusal() == k.refusal);
    CHECK(w.last.size() == 1);
  }
  CHECK(w.state->directory().mailbox()->Totals()->envelopes == 0);
  REQUIRE(w.Deposit(a, "bob", Sealed(10)).stored());
  REQUIRE(w.Deposit(a, "bob", Sealed(10)).stored());
  auto full = w.Deposit(a, "bob", Sealed(10));
  CHECK_FALSE(full.stored());
  CHECK(full.refusal() == "mailbox full");
  CHECK(w.state->directory().mailbox()->Totals()->envelopes == 2);
  const MailboxCounters& c = w.service->mailbox_counters();
  CHECK(c.refusals.at("not a member") == 2);
  CHECK(c.refusals.at("revoked") == 1);
  CHECK(c.refusals.at("mailbox full") == 1);
  CHECK(c.deposits == 2);
  CHECK(w.service->TakeToClose().empty());
}

TEST_CASE("An author who floods the mailbox is slowed down and may go on a second later",
          "[service][mailbox][error]") {
  MailWorld w("[mailbox]\nmax_envelopes_per_recipient = 100000");
  auto alice = w.Enroll("alice");
  w.Enroll("bob");
  SessionId a = w.Connect(alice);
  const int burst = static_cast<int>(kMailboxDepositBurst);
  for (int i = 0; i < burst; ++i)
    REQUIRE(w.Deposit(a, "bob", Sealed(8)).stored());
  auto slowed = w.Deposit(a, "bob", Sealed(8));
  CHECK_FALSE(slowed.stored());
  CHECK(slowed.refusal() == "too many deposits; slow down");
  // One second refills kMailboxDepositsPerSecond tokens.
  for (int i = 0; i < static_cast<int>(kMailboxDepositsPerSecond); ++i)
    REQUIRE(w.Deposit(a, "bob", Sealed(8), kNow + 1).stored());
  CHECK(w.Deposit(a, "bob", Sealed(8), kNow + 1).refusal() == "too many deposits; slow down");
  // A clock that goes back gives nothing.
  CHECK_FALSE(w.Deposit(a, "bob", Sealed(8), kNow - 100).stored());
}

TEST_CASE("A deposit may fill a frame, while other messages stay bounded at 16 KiB",
          "[service][mailbox][error]") {
  MailWorld w;
  auto alice = w.Enroll("alice");
  auto bob = w.Enroll("bob");
  SessionId a = w.Connect(alice);
  for (uint8_t i = 0; i < 3; ++i)
    REQUIRE(w.Deposit(a, "bob", Sealed(kMaxEnvelopeBytes, i)).stored());
  // The largest deposit serializes within one frame.
  proto::ToTracker biggest;
  biggest.mutable_mailbox_deposit()->set_request_id(UINT64_MAX);
  biggest.mutable_mailbox_deposit()->set_recipient(std::string(64, 'x'));
  biggest.mutable_mailbox_deposit()->set_envelope(std::string(kMaxEnvelopeBytes, 'e'));
  CHECK(biggest.ByteSizeLong() <= channel::kMaxPlaintextBytes);

  // A subscribe list past 16 KiB is refused and closes the session.
  proto::ToTracker big;
  for (int i = 0; i < 400; ++i)
    big.mutable_subscribe()->add_names(std::string(60, 'n'));
  REQUIRE(big.ByteSizeLong() > 16 * 1024);
  CHECK(w.Send(a, big).code() == Status::Code::kResourceExhausted);

  // Bob fetches one frame-sized envelope per answer, each within a frame.
  SessionId b = w.Connect(bob);
  uint64_t after = 0;
  for (int i = 0; i < 3; ++i) {
    auto out = w.Fetch(b, after);
    REQUIRE(out.size() == 1);
    const proto::MailboxEnvelopes& page = out[0].message.mailbox_envelopes();
    REQUIRE(page.envelopes_size() == 1);
    CHECK(page.more() == (i < 2));
    CHECK(out[0].message.ByteSizeLong() <= channel::kMaxPlaintextBytes);
    after = page.envelopes(0).id();
  }
}

TEST_CASE("A mailbox ack of too many ids is refused and the session goes on",
          "[service][mailbox][error]") {
  MailWorld w;
  auto alice = w.Enroll("alice");
  SessionId a = w.Connect(alice);
  std::vector<uint64_t> ids(kMaxMailboxAckIds + 1, 7);
  w.Ack(a, ids);
  auto out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].message.has_error());
  CHECK(w.service->TakeToClose().empty());
  CHECK(w.service->mailbox_counters().refusals.at("too many ids") == 1);
}

TEST_CASE("Envelopes unfetched after retain_days expire and are counted", "[service][mailbox]") {
  MailWorld w("[mailbox]\nretain_days = 1");
  auto alice = w.Enroll("alice");
  w.Enroll("bob");
  SessionId a = w.Connect(alice);
  REQUIRE(w.Deposit(a, "bob", Sealed(10)).stored());
  REQUIRE(w.Deposit(a, "bob", Sealed(20), kNow + 100).stored());
  w.service->ExpireMailbox(kNow + 86400 - 1);
  CHECK(w.service->mailbox_counters().expired == 0);
  // Not again within a minute, even though the first is now due.
  w.service->ExpireMailbox(kNow + 86400);
  CHECK(w.service->mailbox_counters().expired == 0);
  w.service->ExpireMailbox(kNow + 86400 + 60);
  CHECK(w.service->mailbox_counters().expired == 1);
  CHECK(w.service->mailbox_counters().envelopes == 1);
  CHECK(w.service->mailbox_counters().bytes == 20);
  w.service->ExpireMailbox(kNow + 86400 + 200);
  CHECK(w.service->mailbox_counters().expired == 2);
  CHECK(w.state->directory().mailbox()->Totals()->envelopes == 0);
}

}  // namespace
}  // namespace confab::tracker
