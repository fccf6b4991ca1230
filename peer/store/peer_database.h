// The node's confab.db: opened as DESIGN.md's "On disk" says (SQLite, WAL,
// synchronous=FULL so that a commit that returned OK, and so every Ack sent
// after it, survives power loss) and migrated to the current schema.
//
// ConversationStore, HistoryStore and ContactBook each borrow the one Database this returns;
// it must outlive both. The schema of every table lives in
// peer_database.cc, in one list of migrations, so the version in
// `PRAGMA user_version` describes the whole file.
#pragma once

#include <memory>
#include <string>

#include "common/base/result.h"
#include "common/store/database.h"

namespace confab::peer {

// The schema version OpenPeerDatabase migrates to (docs/design.md, "confab.db").
inline constexpr int kPeerSchemaVersion = 7;

// Opens (creating if missing, mode 0600) and migrates confab.db at `path`.
// Errors are those of store::Database::Open and store::Migrate
// (FailedPrecondition for a database written by a newer confab).
[[nodiscard]] Result<std::unique_ptr<store::Database>> OpenPeerDatabase(const std::string& path);

// The same, migrating only up to `version` (1..kPeerSchemaVersion): for
// tests that build a database as an older confab wrote it and then migrate
// it. InvalidArgument for a version out of range.
[[nodiscard]] Result<std::unique_ptr<store::Database>> OpenPeerDatabaseAtVersion(
    const std::string& path, int version);

}  // namespace confab::peer
