// messaging_bench: durable messages per second through Messenger::Receive
// (validate, seal each body with XChaCha20-Poly1305, insert, ONE commit with
// synchronous=FULL per batch, build the Ack), for batches of 1, 16, 256 and
// 4096, beside raw SQLite inserts of the same texts into a table of the same
// shape with the same settings (WAL, synchronous=FULL, one transaction per
// batch), measured in the same run on the same disk. The ratio column is
// confab / raw: the cost of encryption, validation and the ack on top of
// SQLite. Issue 4 asks for at least 20,000 durable messages/s; batching is
// how the node gets there.
//
// Usage: messaging_bench [seconds_per_row] [dir]   (default 1.0, $TMPDIR)
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/crypto/sodium.h"
#include "peer/chat/body_cipher.h"
#include "peer/chat/history_store.h"
#include "peer/chat/messenger.h"
#include "peer/contacts/contact_book.h"
#include "peer/store/peer_database.h"

namespace {

namespace peer = confab::peer;
using Clock = std::chrono::steady_clock;

constexpr int64_t kNow = 1'800'000'000'000;
// A typical chat line.
const std::string kText =
    "Sounds good, I'll push the fix after lunch and ping you when the build is green again.";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "messaging_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string FreshDir(const std::string& base) {
  std::string t = base + "/confab-msgbench-XXXXXX";
  if (::mkdtemp(t.data()) == nullptr)
    Die("cannot create a temporary directory under " + base);
  return t;
}

std::vector<confab::proto::ChatMessage> MakeBatch(uint64_t* next, size_t size) {
  std::vector<confab::proto::ChatMessage> batch(size);
  for (auto& m : batch) {
    peer::MessageId id{};
    confab::crypto::RandomBytes(id);
    m.set_id(id.data(), id.size());
    m.set_seq(++*next);
    m.set_sent_unix_ms(kNow);
    m.set_text(kText);
  }
  return batch;
}

// Messenger::Receive, batch after batch, for `seconds`; messages/second.
double MeasureMessenger(const std::string& base, size_t batch_size, double seconds) {
  std::string dir = FreshDir(base);
  double rate = 0;
  {
    auto db = peer::OpenPeerDatabase(dir + "/confab.db");
    if (!db.ok())
      Die(db.status().ToString());
    auto cipher = peer::BodyCipher::FromIdentitySeed(confab::Bytes(32, 7));
    auto history = peer::HistoryStore::Open(db->get(), std::move(cipher).value());
    auto contacts = peer::ContactBook::Open(db->get());
    if (!history.ok() || !contacts.ok())
      Die("cannot open the stores");
    peer::Messenger messenger(**history, **contacts);
    uint64_t seq = 0;
    uint64_t messages = 0;
    const auto start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      // Building the protobufs counts too: the node builds them when parsing.
      auto batch = MakeBatch(&seq, batch_size);
      auto r = messenger.Receive("alice", batch, kNow);
      if (!r.ok())
        Die(r.status().ToString());
      if (r->ack.ids_size() != static_cast<int>(batch_size))
        Die("short ack");
      messages += batch_size;
    }
    rate =
        static_cast<double>(messages) / std::chrono::duration<double>(Clock::now() - start).count();
  }
  std::filesystem::remove_all(dir);
  return rate;
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    Die(std::string(what) + ": " + sqlite3_errmsg(db));
}

// The baseline: the same rows (random 16-byte id, conversation, seq, times,
// the text unencrypted) with plain sqlite3 calls.
double MeasureRawSqlite(const std::string& base, size_t batch_size, double seconds) {
  std::string dir = FreshDir(base);
  sqlite3* db = nullptr;
  Check(sqlite3_open((dir + "/raw.db").c_str(), &db), db, "open");
  Check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE messages (row INTEGER PRIMARY KEY, id BLOB NOT NULL, "
                     "conversation TEXT NOT NULL, seq INTEGER NOT NULL, sent_ms INTEGER NOT NULL,"
                     " received_ms INTEGER NOT NULL, body BLOB NOT NULL, "
                     "UNIQUE (conversation, id));",
                     nullptr, nullptr, nullptr),
        db, "schema");
  sqlite3_stmt* insert = nullptr;
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO messages (id, conversation, seq, sent_ms, received_ms, "
                           "body) VALUES (?1, 'alice', ?2, ?3, ?3, ?4)",
                           -1, &insert, nullptr),
        db, "prepare");
  uint64_t seq = 0;
  uint64_t messages = 0;
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    for (size_t i = 0; i < batch_size; ++i) {
      uint8_t id[16];
      confab::crypto::RandomBytes(id);
      sqlite3_bind_blob(insert, 1, id, sizeof(id), SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert, 2, static_cast<int64_t>(++seq));
      sqlite3_bind_int64(insert, 3, kNow);
      sqlite3_bind_blob(insert, 4, kText.data(), static_cast<int>(kText.size()), SQLITE_TRANSIENT);
      Check(sqlite3_step(insert), db, "insert");
      sqlite3_reset(insert);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    messages += batch_size;
  }
  double rate =
      static_cast<double>(messages) / std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (seconds <= 0)
    seconds = 1.0;
  std::string base = argc > 2 ? argv[2] : std::filesystem::temp_directory_path().string();
  if (!confab::crypto::InitSodium().ok())
    Die("libsodium failed to start");

  std::printf("durable messages/s (synchronous=FULL, WAL), %.1f s per row, in %s\n", seconds,
              base.c_str());
  std::printf("%-8s %16s %16s %8s\n", "batch", "Receive", "raw sqlite", "ratio");
  for (size_t batch : {size_t{1}, size_t{16}, size_t{256}, size_t{4096}}) {
    double confab_rate = MeasureMessenger(base, batch, seconds);
    double raw_rate = MeasureRawSqlite(base, batch, seconds);
    std::printf("%-8zu %16.0f %16.0f %8.2f\n", batch, confab_rate, raw_rate,
                confab_rate / raw_rate);
  }
  return 0;
}
