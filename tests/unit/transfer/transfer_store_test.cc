#include "peer/transfer/transfer_store.h"

#include <stdlib.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "peer/store/peer_database.h"

namespace confab::peer::transfer {
namespace {

struct Db {
  Db() {
    std::string t = (std::filesystem::temp_directory_path() / "confab-xfer-XXXXXX").string();
    dir = ::mkdtemp(t.data()) != nullptr ? t : "";
    auto opened = OpenPeerDatabase(dir + "/confab.db");
    REQUIRE(opened.ok());
    db = std::move(*opened);
  }
  ~Db() {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<store::Database> db;
};

TransferRecord Record(uint8_t fill, int64_t created_ms) {
  TransferRecord r;
  r.id.fill(fill);
  r.direction = Direction::kIn;
  r.peer = "alice";
  r.name = "a.txt";
  r.size = 12345;
  r.type = "text/plain";
  r.state = State::kOffered;
  r.created_ms = r.updated_ms = created_ms;
  return r;
}

TEST_CASE("Transfer records round-trip and list newest first", "[transfer][store]") {
  Db db;
  TransferStore store(db.db.get());
  TransferRecord a = Record(1, 100);
  TransferRecord b = Record(2, 200);
  b.direction = Direction::kOut;
  b.source = "/tmp/b";
  REQUIRE(store.Put(a).ok());
  REQUIRE(store.Put(b).ok());
  a.state = State::kCompleted;
  a.bytes_done = a.size;
  a.path = "/d/a.txt";
  a.digest = Bytes(32, 7);
  REQUIRE(store.Put(a).ok());
  auto got = store.Get(a.id);
  REQUIRE(got.ok());
  CHECK(got->state == State::kCompleted);
  CHECK(got->path == "/d/a.txt");
  CHECK(got->digest == Bytes(32, 7));
  CHECK(got->bytes_done == 12345);
  auto all = store.List();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == b.id);
  CHECK((*all)[0].direction == Direction::kOut);
  CHECK((*all)[0].source == "/tmp/b");
  TransferId unknown{};
  unknown.fill(9);
  CHECK(store.Get(unknown).status().code() == Status::Code::kNotFound);
}

TEST_CASE("State names and ids parse back", "[transfer][store]") {
  for (State s : {State::kOffered, State::kActive, State::kQuarantined, State::kCompleted,
                  State::kFailed, State::kRejected, State::kCancelled}) {
    CHECK(ParseState(StateName(s)) == s);
  }
  CHECK_FALSE(ParseState("done"));
  TransferId id{};
  id.fill(0xab);
  auto parsed = ParseId(IdHex(id));
  REQUIRE(parsed.ok());
  CHECK(*parsed == id);
  CHECK_FALSE(ParseId("abc").ok());
  CHECK_FALSE(ParseId(std::string(32, 'z')).ok());
  CHECK(IsFinal(State::kQuarantined));
  CHECK_FALSE(IsFinal(State::kActive));
}

}  // namespace
}  // namespace confab::peer::transfer
