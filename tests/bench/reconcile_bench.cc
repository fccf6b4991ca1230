// Idle reconcile (issue 12, benchmarks): the bytes two nodes exchange in one
// reconcile round over N shared conversations when nothing, one or ten of
// them changed. Two ReconcileSessions back to back over the tests'
// in-memory ReplicaView (the real Conversation rules), every message
// serialized as it would go in a PeerMessage. Prints a table.
// Flags: --max N (largest conversation count, default 10000).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "peer/chat/reconcile_session.h"

#include "tests/unit/chat/memory_replicas.h"

using namespace confab;
using namespace confab::peer::chat;

namespace {

struct Totals {
  size_t messages = 0;
  size_t bytes = 0;
  double ms = 0;
};

Bytes GroupN(size_t n) {
  Bytes id(kGroupIdBytes, 0x5a);
  for (size_t i = 0; i < 4; ++i)
    id[i] = static_cast<uint8_t>(n >> (8 * i));
  return id;
}

// One round from both sides' Start to quiet.
Totals Round(testing::MemoryReplicas& a_view, testing::MemoryReplicas& b_view) {
  ReconcileSession a(a_view, b_view.self()), b(b_view, a_view.self());
  Totals t;
  auto start = std::chrono::steady_clock::now();
  if (!a.Start().ok() || !b.Start().ok())
    std::abort();
  std::deque<proto::ReconcileMessage> to_a, to_b;
  auto collect = [&] {
    for (auto& m : a.TakeOutgoing()) {
      t.bytes += m.ByteSizeLong();
      ++t.messages;
      to_b.push_back(std::move(m));
    }
    for (auto& m : b.TakeOutgoing()) {
      t.bytes += m.ByteSizeLong();
      ++t.messages;
      to_a.push_back(std::move(m));
    }
  };
  collect();
  while (!to_a.empty() || !to_b.empty()) {
    if (!to_b.empty()) {
      if (!b.OnMessage(to_b.front(), 0).ok())
        std::abort();
      to_b.pop_front();
    }
    collect();
    if (!to_a.empty()) {
      if (!a.OnMessage(to_a.front(), 0).ok())
        std::abort();
      to_a.pop_front();
    }
    collect();
  }
  if (a.rounds_done() != 1 || b.rounds_done() != 1)
    std::abort();
  t.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  size_t max = 10000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--max") == 0)
      max = std::strtoul(argv[i + 1], nullptr, 10);
  }
  testing::People people;
  std::printf("| shared conversations | changed since last round | messages | bytes | ms |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (size_t n = 10; n <= max; n *= 10) {
    testing::MemoryReplicas alice(people, "alice"), bob(people, "bob");
    std::vector<Bytes> ids;
    for (size_t i = 0; i < n; ++i) {
      ids.push_back(alice.CreateGroup(GroupN(i), {"bob"}));
      alice.Write(ids.back());
      bob.CopyFrom(alice, ids.back());
    }
    size_t changed = 0;
    for (size_t want : {size_t{0}, size_t{1}, size_t{10}}) {
      for (; changed < want; ++changed)
        alice.Write(ids[changed * (n / 10)], "new");
      Totals t = Round(alice, bob);
      std::printf("| %zu | %zu | %zu | %zu | %.1f |\n", n, want, t.messages, t.bytes, t.ms);
      changed = 0;  // the round made them equal again; the next count is fresh
    }
  }
  return 0;
}
