// libFuzzer: a hostile peer on one chat connection's reconcile session
// (peer/chat/reconcile_session.h). The input is a sequence of records
// [op byte][2-byte big-endian length][bytes]:
//   op % 4 == 0: the bytes are a ReconcileMessage from the peer;
//   op % 4 == 1: the bytes are an EntryBody that this target signs with
//                bob's fixed key (a fuzzer cannot forge signatures) and sends
//                as a one-entry batch, so the view's rules see well-signed
//                hostile entries;
//   op % 4 == 2: a local change (a round is wanted);
//   op % 4 == 3: alice writes an entry, then a local change.
// The view is the tests' in-memory one over the real Conversation. Every
// path must refuse or proceed without crashing, and a failed session must
// keep refusing.
#include <cstddef>
#include <cstdint>

#include "peer/chat/reconcile_session.h"

#include "tests/unit/chat/memory_replicas.h"

using namespace confab;
using namespace confab::peer::chat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 20))
    return 0;
  static const testing::People people;
  testing::MemoryReplicas alice(people, "alice");
  Bytes direct = alice.AddDirect("bob");
  Bytes group = alice.CreateGroup(testing::GroupIdOf(1), {"bob", "carol"});
  alice.Write(direct, "hello");
  alice.Write(group, "team");
  ReconcileSession session(alice, "bob");
  (void)session.Start();
  size_t at = 0;
  while (at + 3 <= size) {
    uint8_t op = data[at];
    size_t len = (size_t{data[at + 1]} << 8) | data[at + 2];
    at += 3;
    if (len > size - at)
      len = size - at;
    const uint8_t* bytes = data + at;
    at += len;
    Status s;
    switch (op % 4) {
      case 0: {
        proto::ReconcileMessage m;
        if (!m.ParseFromArray(bytes, static_cast<int>(len)))
          continue;
        s = session.OnMessage(m, 0);
        break;
      }
      case 1: {
        proto::EntryBody body;
        if (!body.ParseFromArray(bytes, static_cast<int>(len)))
          continue;
        body.set_author("bob");
        Result<proto::Entry> e = SignEntry(people.key("bob"), std::move(body));
        if (!e.ok())
          continue;
        proto::ReconcileMessage m;
        *m.mutable_entries()->add_entries() = std::move(*e);
        s = session.OnMessage(m, 0);
        break;
      }
      case 2:
        s = session.OnLocalChange();
        break;
      case 3:
        alice.Write(direct, "more");
        s = session.OnLocalChange();
        break;
    }
    bool failed = session.state() == ReconcileSession::State::kFailed;
    if (failed && s.ok())
      __builtin_trap();  // a failed session answered OK
    (void)session.TakeOutgoing();
    (void)session.TakeEvents();
  }
  return 0;
}
