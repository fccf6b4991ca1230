// A node's messaging state in a temporary directory, reopened at will to
// stand in for a restart.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "peer/chat/body_cipher.h"
#include "peer/chat/history_store.h"
#include "peer/chat/messenger.h"
#include "peer/contacts/contact_book.h"
#include "peer/contacts/directory_cache.h"
#include "peer/store/peer_database.h"

namespace confab::peer {

inline constexpr int64_t kNow = 1'800'000'000'000;

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "confab-msg-XXXXXX").string();
    path_ = ::mkdtemp(t.data()) != nullptr ? t : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The history cipher of the identity whose seed is 32 bytes of `fill`.
inline BodyCipher CipherFor(uint8_t fill) {
  Bytes seed(32, fill);
  auto cipher = BodyCipher::FromIdentitySeed(seed);
  REQUIRE(cipher.ok());
  return std::move(cipher).value();
}

inline MessageId IdOf(uint8_t fill) {
  MessageId id;
  id.fill(fill);
  return id;
}

struct Node {
  explicit Node(uint8_t seed_fill = 1) : seed(seed_fill) { Reopen(); }

  // Closes everything and opens it again from the file, as a restart does.
  void Reopen(HistoryStore::Options options = {}) {
    messenger.reset();
    directory.reset();
    contacts.reset();
    history.reset();
    db.reset();
    auto opened = OpenPeerDatabase(path());
    REQUIRE(opened.ok());
    db = std::move(opened).value();
    auto h = HistoryStore::Open(db.get(), CipherFor(seed), std::move(options));
    REQUIRE(h.ok());
    history = std::move(h).value();
    auto c = ContactBook::Open(db.get());
    REQUIRE(c.ok());
    contacts = std::move(c).value();
    messenger = std::make_unique<Messenger>(*history, *contacts);
    auto d = DirectoryCache::Open(db.get());
    REQUIRE(d.ok());
    directory = std::move(d).value();
  }
  std::string path() const { return tmp.File("confab.db"); }
  int64_t Count(const std::string& sql) {
    auto n = db->QueryInt64(sql);
    REQUIRE(n.ok());
    return *n;
  }

  uint8_t seed;
  TempDir tmp;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<HistoryStore> history;
  std::unique_ptr<ContactBook> contacts;
  std::unique_ptr<Messenger> messenger;
  std::unique_ptr<DirectoryCache> directory;
};

inline proto::ChatMessage Chat(uint8_t id_fill, uint64_t seq, std::string text) {
  proto::ChatMessage m;
  MessageId id = IdOf(id_fill);
  m.set_id(id.data(), id.size());
  m.set_seq(seq);
  m.set_sent_unix_ms(kNow - 1000);
  m.set_text(std::move(text));
  return m;
}

}  // namespace confab::peer
