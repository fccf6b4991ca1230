// Replicas over a real confab.db per node, for tests: a node, and one
// reconcile pass between two nodes made of the ReplicaView calls a
// reconcile session makes (vectors, MissingFor, Receive, OnAcked).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "peer/chat/replicas.h"
#include "peer/store/peer_database.h"

#include "chat_fixture.h"

namespace confab::peer::chat::testing {

class Dir {
 public:
  Dir() {
    std::string t = (std::filesystem::temp_directory_path() / "replicas.XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path_ = t;
  }
  ~Dir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline uint8_t SeedOf(const std::string& name) {
  const char* names[] = {"alice", "bob", "carol", "dave", "erin"};
  for (uint8_t i = 0; i < 5; ++i) {
    if (name == names[i])
      return static_cast<uint8_t>(i + 1);
  }
  FAIL("unknown person " << name);
  return 0;
}

// One person's node: its confab.db, store and Replicas.
struct Node {
  Node(const Dir& dir, const People& people, std::string person,
       ConversationStore::Options options = {})
      : name(std::move(person)), path(dir.path() + "/" + name + ".db"), people_(people) {
    Open(std::move(options));
  }
  void Open(ConversationStore::Options options = {}) {
    auto d = OpenPeerDatabase(path);
    REQUIRE(d.ok());
    db = std::move(*d);
    auto s = ConversationStore::Open(
        db.get(), *BodyCipher::FromIdentitySeed(Bytes(32, SeedOf(name))), name, std::move(options));
    REQUIRE(s.ok());
    store = std::move(*s);
    replicas = std::make_unique<Replicas>(store.get(), &people_.key(name), people_.lookup());
  }
  void Restart() {
    replicas.reset();
    store.reset();
    db.reset();
    Open();
  }
  Replicas& r() { return *replicas; }

  std::string name;
  std::string path;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<ConversationStore> store;
  std::unique_ptr<Replicas> replicas;

 private:
  const People& people_;
};

// One reconcile pass from `from` to `to`: what `to` lacks, received and
// acknowledged. Returns the entries `to` refused.
inline size_t Sync(Node& from, Node& to, int64_t now = 5000) {
  auto shared = from.r().SharedWith(to.name);
  REQUIRE(shared.ok());
  size_t refused = 0;
  for (const auto& [conv, digest] : *shared) {
    Result<Vector> theirs = to.r().VectorOf(from.name, conv);
    const Vector v = theirs.ok() ? *theirs : Vector{};
    auto missing = from.r().MissingFor(to.name, conv, v, kEntriesPerBatch);
    REQUIRE(missing.ok());
    if (missing->empty())
      continue;
    proto::EntryBatch batch;
    for (auto& e : *missing)
      *batch.add_entries() = e;
    auto got = to.r().Receive(from.name, batch, now);
    REQUIRE(got.ok());
    refused += got->refused;
    REQUIRE(from.r().OnAcked(to.name, got->ack, now).ok());
  }
  return refused;
}

inline std::vector<std::string> Texts(const std::vector<HistoryEntry>& h) {
  std::vector<std::string> out;
  for (const auto& e : h) {
    if (e.entry.kind == proto::ENTRY_TEXT)
      out.push_back(e.entry.author + ": " + e.entry.text);
  }
  return out;
}

inline const HistoryEntry& LastText(const std::vector<HistoryEntry>& h) {
  for (auto it = h.rbegin(); it != h.rend(); ++it) {
    if (it->entry.kind == proto::ENTRY_TEXT)
      return *it;
  }
  FAIL("no text entry");
  return h.front();
}

}  // namespace confab::peer::chat::testing
