// TransferStore: the durable record of every file transfer, in confab.db's
// `transfers` table (schema version 3, peer/store/peer_database.cc).
// Sans-I/O but for SQLite; the loop thread's only.
//
// A record is written whole (Put) on every state change and at each durable
// offset, so a restarted node finds each transfer where it was.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/store/database.h"

namespace confab::peer::transfer {

using TransferId = std::array<uint8_t, 16>;

enum class Direction { kIn = 0, kOut = 1 };

// The states `confab transfers` shows.
enum class State {
  kOffered,      // waiting for the receiver's person (or for the sender to dial again)
  kActive,       // accepted: data moving, or waiting to resume
  kQuarantined,  // all bytes in quarantine; digest or scan failed, or scanning
  kCompleted,    // released (receiver) / the receiver confirmed release (sender)
  kFailed,
  kRejected,
  kCancelled,
};

std::string_view StateName(State state);
std::optional<State> ParseState(std::string_view name);
// No more bytes will move for it.
bool IsFinal(State state);

struct TransferRecord {
  TransferId id{};
  Direction direction = Direction::kOut;
  std::string peer;
  std::string name;  // receiver: sanitised
  uint64_t size = 0;
  std::string type;
  State state = State::kOffered;
  uint64_t bytes_done = 0;
  std::string source;    // sender: the file sent
  std::string dest_dir;  // receiver: the release directory
  std::string path;      // receiver: the released file
  std::string error;
  Bytes digest;  // BLAKE3-256 once known
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

std::string IdHex(const TransferId& id);
// InvalidArgument unless 32 hex digits.
[[nodiscard]] Result<TransferId> ParseId(std::string_view hex);

class TransferStore {
 public:
  // `db` (with confab.db's schema) outlives the store.
  explicit TransferStore(store::Database* db) : db_(db) {}

  // Inserts or replaces the whole record (one statement).
  [[nodiscard]] Status Put(const TransferRecord& record);
  // NotFound for an unknown id.
  [[nodiscard]] Result<TransferRecord> Get(const TransferId& id);
  // Every record, newest first.
  [[nodiscard]] Result<std::vector<TransferRecord>> List();

 private:
  store::Database* db_;
};

}  // namespace confab::peer::transfer
