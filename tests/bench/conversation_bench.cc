// conversation_bench: issue 12's benchmarks of chat protocol 2 that a
// 2-core machine can run in one process: the real sans-I/O cores
// (Replicas over ConversationStore on a real confab.db per node, each
// commit synchronous=FULL, ReconcileSession on both ends), with the
// sessions' messages handed over in memory instead of over Noise and TCP.
// Each table has a baseline measured in the same run on the same disk.
//
//   1. durable messages/s: Replicas::ComposeBatch (sign with Ed25519, seal,
//      store, one commit per batch) and Replicas::Receive (verify, check the
//      author's key and membership, seal, store, one commit, the ack) of
//      signed entries, beside raw SQLite inserts of rows of the same size
//      (WAL, synchronous=FULL, one transaction per batch). Issue 12 keeps
//      issue 4's target of 20,000/s.
//   2. catch-up: bob's node was offline while alice wrote 10,000 entries
//      across 10 groups; bob opens his confab.db again (nothing loaded) and
//      one reconcile round with alice brings everything. Time, entries/s,
//      bytes of the ReconcileMessages, beside the entries' own bytes and
//      raw SQLite inserts of 10,000 rows in batches of kEntriesPerBatch.
//   3. fan-out: a group of 32 nodes (32 confab.db files); alice composes one
//      message and her 31 sessions pass it on, interleaved one message per
//      session per step as her loop would. Time from Compose until the last
//      member's commit, p50 and p99, beside 31 x one durable commit.
//
// What it leaves out: Noise, frames, sockets and the loops' wakeups (see
// delivery_bench for those), and the 32 processes of real `confab up`.
//
// Usage: conversation_bench [--seconds S] [--fanout-runs N] [--dir DIR]
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/crypto/identity.h"
#include "common/crypto/sodium.h"
#include "peer/chat/reconcile_session.h"
#include "peer/chat/replicas.h"
#include "peer/store/peer_database.h"

namespace {

namespace chat = confab::peer::chat;
using confab::Bytes;
using Clock = std::chrono::steady_clock;

constexpr int64_t kNow = 1'800'000'000'000;
// A typical chat line (as messaging_bench).
const std::string kText =
    "Sounds good, I'll push the fix after lunch and ping you when the build is green again.";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "conversation_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(confab::Result<T> r, const char* what) {
  if (!r.ok())
    Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}
void Must(const confab::Status& s, const char* what) {
  if (!s.ok())
    Die(std::string(what) + ": " + s.ToString());
}

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string FreshDir(const std::string& base) {
  std::string t = base + "/confab-convbench-XXXXXX";
  if (::mkdtemp(t.data()) == nullptr)
    Die("cannot create a temporary directory under " + base);
  return t;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The persons and their identity keys (the contact book's answer).
class People {
 public:
  const confab::crypto::SigningKey& Key(const std::string& name) {
    auto it = keys_.find(name);
    if (it == keys_.end()) {
      Bytes seed(32, 0);
      confab::crypto::RandomBytes(seed);
      it = keys_.emplace(name, Must(confab::crypto::SigningKey::FromSeed(seed), "key")).first;
    }
    return it->second;
  }
  chat::KeyLookup Lookup() const {
    return [this](const std::string& name) -> std::optional<confab::crypto::Ed25519PublicKey> {
      auto it = keys_.find(name);
      if (it == keys_.end())
        return std::nullopt;
      return it->second.public_key();
    };
  }

 private:
  std::map<std::string, confab::crypto::SigningKey> keys_;
};

// One person's node: its confab.db, ConversationStore and Replicas.
struct Node {
  Node(People& people, const std::string& dir, std::string person)
      : name(std::move(person)), path(dir + "/" + name + ".db"), people_(people) {
    people_.Key(name);
    Open();
  }
  void Open() {
    replicas.reset();
    store.reset();
    db = Must(confab::peer::OpenPeerDatabase(path), "open confab.db");
    Bytes seed(32, static_cast<uint8_t>(name.size()));
    auto cipher = Must(confab::peer::BodyCipher::FromIdentitySeed(seed), "cipher");
    store = Must(chat::ConversationStore::Open(db.get(), std::move(cipher), name), "store");
    replicas = std::make_unique<chat::Replicas>(store.get(), &people_.Key(name), people_.Lookup());
  }
  chat::Replicas& r() { return *replicas; }

  std::string name;
  std::string path;
  std::unique_ptr<confab::store::Database> db;
  std::unique_ptr<chat::ConversationStore> store;
  std::unique_ptr<chat::Replicas> replicas;

 private:
  People& people_;
};

// Two ReconcileSessions back to back, one per end of a connection.
struct Link {
  Link(Node& a_node, Node& b_node) : a(a_node.r(), b_node.name), b(b_node.r(), a_node.name) {}
  chat::ReconcileSession a, b;
  std::deque<confab::proto::ReconcileMessage> to_a, to_b;
  size_t messages = 0;
  size_t bytes = 0;

  void Collect() {
    for (auto& m : a.TakeOutgoing()) {
      bytes += m.ByteSizeLong();
      ++messages;
      to_b.push_back(std::move(m));
    }
    for (auto& m : b.TakeOutgoing()) {
      bytes += m.ByteSizeLong();
      ++messages;
      to_a.push_back(std::move(m));
    }
  }
  bool Quiet() const { return to_a.empty() && to_b.empty(); }
  // Hands over one message each way. Returns whether b committed a batch.
  bool Step() {
    bool b_received = false;
    if (!to_b.empty()) {
      Must(b.OnMessage(to_b.front(), kNow), "b.OnMessage");
      to_b.pop_front();
      for (const auto& e : b.TakeEvents()) {
        if (e.kind == chat::ReconcileEvent::Kind::kReceived)
          b_received = true;
      }
    }
    Collect();
    if (!to_a.empty()) {
      Must(a.OnMessage(to_a.front(), kNow), "a.OnMessage");
      to_a.pop_front();
      (void)a.TakeEvents();
    }
    Collect();
    return b_received;
  }
  void RunToQuiet() {
    Collect();
    while (!Quiet())
      Step();
  }
};

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    Die(std::string(what) + ": " + sqlite3_errmsg(db));
}

// The baseline: rows of `row_bytes` random bytes with a 32-byte id, plain
// sqlite3, WAL, synchronous=FULL, one transaction per batch.
class RawStore {
 public:
  explicit RawStore(const std::string& dir) : dir_(dir) {
    Check(sqlite3_open((dir + "/raw.db").c_str(), &db_), db_, "open");
    Check(sqlite3_exec(db_,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                       "CREATE TABLE entries (row INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,"
                       " conversation BLOB NOT NULL, author TEXT NOT NULL, seq INTEGER NOT NULL,"
                       " lamport INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
                       " body BLOB NOT NULL);",
                       nullptr, nullptr, nullptr),
          db_, "schema");
    Check(sqlite3_prepare_v2(db_,
                             "INSERT INTO entries (id, conversation, author, seq, lamport, "
                             "received_ms, body) VALUES (?1, x'00', 'alice', ?2, ?2, ?3, ?4)",
                             -1, &insert_, nullptr),
          db_, "prepare");
  }
  ~RawStore() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  void Batch(size_t n, size_t row_bytes) {
    Check(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db_, "begin");
    std::vector<uint8_t> body(row_bytes);
    for (size_t i = 0; i < n; ++i) {
      uint8_t id[32];
      confab::crypto::RandomBytes(id);
      confab::crypto::RandomBytes(body);
      sqlite3_bind_blob(insert_, 1, id, sizeof(id), SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert_, 2, static_cast<int64_t>(++seq_));
      sqlite3_bind_int64(insert_, 3, kNow);
      sqlite3_bind_blob(insert_, 4, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
      Check(sqlite3_step(insert_), db_, "insert");
      sqlite3_reset(insert_);
    }
    Check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), db_, "commit");
  }

 private:
  std::string dir_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  uint64_t seq_ = 0;
};

// ---- 1. durable messages/s ---------------------------------------------

// The stored size of one text entry: signed bytes plus signature.
size_t EntryBytes(const confab::proto::Entry& e) {
  return e.signed_().size() + e.signature().size();
}

double MeasureCompose(People& people, const std::string& base, size_t batch, double seconds) {
  std::string dir = FreshDir(base);
  double rate = 0;
  {
    Node alice(people, dir, "alice");
    Bytes conv = Must(alice.r().EnsureDirect("bob"), "direct");
    std::vector<std::string> texts(batch, kText);
    uint64_t n = 0;
    const auto start = Clock::now();
    while (MsSince(start) < seconds * 1000) {
      auto written = Must(alice.r().ComposeBatch(conv, texts, kNow), "ComposeBatch");
      n += written.size();
    }
    rate = static_cast<double>(n) / (MsSince(start) / 1000);
  }
  std::filesystem::remove_all(dir);
  return rate;
}

// alice's entries 1..n of her direct conversation with bob, signed ahead
// (the sender's work, not the receiver's).
std::vector<confab::proto::Entry> SignedPool(People& people, size_t n) {
  Bytes conv = Must(chat::DirectConversationId("alice", "bob"), "direct id");
  std::vector<confab::proto::Entry> pool;
  pool.reserve(n);
  for (size_t i = 1; i <= n; ++i) {
    confab::proto::EntryBody body;
    body.set_conversation(std::string(confab::AsChars(conv)));
    body.set_author("alice");
    body.set_seq(i);
    body.set_lamport(i);
    body.set_sent_unix_ms(kNow);
    body.set_kind(confab::proto::ENTRY_TEXT);
    body.set_text(kText);
    pool.push_back(Must(chat::SignEntry(people.Key("alice"), std::move(body)), "sign"));
  }
  return pool;
}

double MeasureReceive(People& people, const std::string& base,
                      const std::vector<confab::proto::Entry>& pool, size_t batch, double seconds) {
  std::string dir = FreshDir(base);
  double rate = 0;
  {
    Node bob(people, dir, "bob");
    (void)Must(bob.r().EnsureDirect("alice"), "direct");
    size_t next = 0;
    const auto start = Clock::now();
    while (MsSince(start) < seconds * 1000 && next + batch <= pool.size()) {
      confab::proto::EntryBatch b;
      for (size_t i = 0; i < batch; ++i)
        *b.add_entries() = pool[next + i];
      auto got = Must(bob.r().Receive("alice", b, kNow), "Receive");
      if (got.refused != 0 || got.ack.ids_size() != static_cast<int>(batch))
        Die("Receive refused or acked short");
      next += batch;
    }
    rate = static_cast<double>(next) / (MsSince(start) / 1000);
  }
  std::filesystem::remove_all(dir);
  return rate;
}

double MeasureRaw(const std::string& base, size_t batch, size_t row_bytes, double seconds) {
  std::string dir = FreshDir(base);
  double rate = 0;
  {
    RawStore raw(dir);
    uint64_t n = 0;
    const auto start = Clock::now();
    while (MsSince(start) < seconds * 1000) {
      raw.Batch(batch, row_bytes);
      n += batch;
    }
    rate = static_cast<double>(n) / (MsSince(start) / 1000);
  }
  std::filesystem::remove_all(dir);
  return rate;
}

void Throughput(People& people, const std::string& base, double seconds) {
  auto pool = SignedPool(people, 40000);
  const size_t row_bytes = EntryBytes(pool.front());
  std::printf("\n1. durable messages/s with signed entries (%zu B each stored), %.1f s per cell\n",
              row_bytes, seconds);
  std::printf(
      "| batch | Compose (sign+store) | Receive (verify+store+ack) | raw SQLite | "
      "Compose / raw | Receive / raw |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (size_t batch : {size_t{1}, size_t{16}, size_t{256}, size_t{4096}}) {
    double compose = MeasureCompose(people, base, batch, seconds);
    // A reconcile batch carries at most kEntriesPerBatch entries.
    double receive =
        batch <= chat::kEntriesPerBatch ? MeasureReceive(people, base, pool, batch, seconds) : 0;
    double raw = MeasureRaw(base, batch, row_bytes, seconds);
    if (receive > 0) {
      std::printf("| %zu | %.0f | %.0f | %.0f | %.2f | %.2f |\n", batch, compose, receive, raw,
                  compose / raw, receive / raw);
    } else {
      std::printf("| %zu | %.0f | (over kEntriesPerBatch) | %.0f | %.2f | |\n", batch, compose, raw,
                  compose / raw);
    }
    std::fflush(stdout);
  }
}

// ---- 2. catch-up ----------------------------------------------------------

void CatchUp(People& people, const std::string& base, size_t groups, size_t per_group) {
  std::string dir = FreshDir(base);
  {
    Node alice(people, dir, "alice"), bob(people, dir, "bob");
    std::vector<Bytes> ids;
    for (size_t g = 0; g < groups; ++g) {
      ids.push_back(
          Must(alice.r().CreateGroup("team" + std::to_string(g), {"bob"}, kNow), "group"));
    }
    {
      Link first(alice, bob);  // bob learns the groups, then goes offline
      Must(first.a.Start(), "start");
      Must(first.b.Start(), "start");
      first.RunToQuiet();
    }
    // Written while bob is offline: batches of 100 as `confab msg --stdin`
    // would, each one commit.
    size_t payload = 0;
    std::vector<std::string> texts(100);
    for (const Bytes& id : ids) {
      for (size_t done = 0; done < per_group; done += texts.size()) {
        for (size_t i = 0; i < texts.size(); ++i)
          texts[i] = kText + " #" + std::to_string(done + i);
        for (const auto& h : Must(alice.r().ComposeBatch(id, texts, kNow), "compose"))
          payload += h.entry.signed_bytes.size() + h.entry.signature.size();
      }
    }
    const size_t total = groups * per_group;
    bob.Open();  // bob's node starts again: nothing loaded
    Link link(alice, bob);
    const auto start = Clock::now();
    Must(link.a.Start(), "start");
    Must(link.b.Start(), "start");
    link.RunToQuiet();
    const double ms = MsSince(start);
    if (link.a.rounds_done() < 1 || link.b.rounds_done() < 1)
      Die("catch-up round did not finish");
    size_t held = 0;
    for (const Bytes& id : ids) {
      for (const auto& h : Must(bob.r().History(id), "history")) {
        if (h.entry.kind == confab::proto::ENTRY_TEXT)
          ++held;
      }
    }
    if (held != total)
      Die("bob holds " + std::to_string(held) + " of " + std::to_string(total));

    RawStore raw(dir);
    const size_t row = payload / total;
    const auto raw_start = Clock::now();
    for (size_t done = 0; done < total; done += chat::kEntriesPerBatch)
      raw.Batch(std::min(chat::kEntriesPerBatch, total - done), row);
    const double raw_ms = MsSince(raw_start);

    std::printf("\n2. catch-up: %zu entries across %zu groups, bob offline while written\n", total,
                groups);
    std::printf("| metric | confab | baseline |\n|---|---:|---:|\n");
    std::printf("| time until bob holds all (ms) | %.0f | %.0f (raw SQLite, batches of %zu) |\n",
                ms, raw_ms, chat::kEntriesPerBatch);
    std::printf("| entries/s | %.0f | %.0f |\n", total / (ms / 1000), total / (raw_ms / 1000));
    std::printf("| bytes exchanged (ReconcileMessages, both ways) | %zu | %zu (entries' own) |\n",
                link.bytes, payload);
    std::printf("| messages exchanged | %zu | |\n", link.messages);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
}

// ---- 3. fan-out -------------------------------------------------------------

// One small durable commit on this disk (the baseline unit), p50.
double CommitMs(const std::string& base) {
  std::string dir = FreshDir(base);
  std::vector<double> ms;
  {
    RawStore raw(dir);
    for (int i = 0; i < 200; ++i) {
      const auto t0 = Clock::now();
      raw.Batch(1, 64);
      ms.push_back(MsSince(t0));
    }
  }
  std::filesystem::remove_all(dir);
  return Percentile(ms, 0.5);
}

void FanOut(People& people, const std::string& base, size_t size, int runs) {
  std::string dir = FreshDir(base);
  {
    std::vector<std::unique_ptr<Node>> nodes;
    nodes.push_back(std::make_unique<Node>(people, dir, "alice"));
    std::vector<std::string> members;
    for (size_t i = 1; i < size; ++i) {
      char name[8];
      std::snprintf(name, sizeof(name), "m%02zu", i);
      members.push_back(name);
      nodes.push_back(std::make_unique<Node>(people, dir, name));
    }
    Node& alice = *nodes.front();
    Bytes group = Must(alice.r().CreateGroup("all", members, kNow), "group");
    std::vector<std::unique_ptr<Link>> links;
    for (size_t i = 1; i < size; ++i) {
      links.push_back(std::make_unique<Link>(alice, *nodes[i]));
      Must(links.back()->a.Start(), "start");
      Must(links.back()->b.Start(), "start");
      links.back()->RunToQuiet();  // every member holds the group
    }
    std::vector<double> samples;
    for (int run = 0; run < runs; ++run) {
      const auto start = Clock::now();
      (void)Must(alice.r().Compose(group, kText, kNow), "compose");
      for (auto& l : links) {
        Must(l->a.OnLocalChange(), "change");
        l->Collect();
      }
      // alice's loop: one message per connection per turn.
      size_t holding = 0;
      double last = 0;
      bool busy = true;
      while (busy) {
        busy = false;
        for (auto& l : links) {
          if (l->Quiet())
            continue;
          busy = true;
          if (l->Step()) {
            ++holding;
            last = MsSince(start);
          }
        }
      }
      if (holding != size - 1)
        Die("only " + std::to_string(holding) + " members got the message");
      samples.push_back(last);
    }
    const double commit = CommitMs(dir);
    std::printf("\n3. fan-out: one message to a group of %zu nodes, %d runs\n", size, runs);
    std::printf("| metric | ms |\n|---|---:|\n");
    std::printf("| Compose until all %zu others hold it durably, p50 | %.2f |\n", size - 1,
                Percentile(samples, 0.5));
    std::printf("| same, p99 | %.2f |\n", Percentile(samples, 0.99));
    std::printf("| one durable SQLite commit, p50 (baseline) | %.3f |\n", commit);
    std::printf("| %zu x one commit (baseline) | %.2f |\n", size - 1,
                static_cast<double>(size - 1) * commit);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  int fanout_runs = 50;
  std::string base = std::filesystem::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--fanout-runs") == 0)
      fanout_runs = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--dir") == 0)
      base = argv[i + 1];
    else
      Die(std::string("unknown flag ") + argv[i]);
  }
  if (seconds <= 0 || fanout_runs <= 0)
    Die("--seconds and --fanout-runs must be positive");
  if (!confab::crypto::InitSodium().ok())
    Die("libsodium failed to start");
  std::printf("conversation_bench in %s (WAL, synchronous=FULL)\n", base.c_str());
  People people;
  Throughput(people, base, seconds);
  CatchUp(people, base, 10, 1000);
  FanOut(people, base, 32, fanout_runs);
  return 0;
}
