#include "peer/store/peer_database.h"

#include <string_view>

#include "common/store/migration.h"

namespace confab::peer {
namespace {

// Append only: a released script is never edited (see store/migration.h).
constexpr std::string_view kSchema[] = {
    // Version 1.
    //
    // contacts: one row per person the node has heard of. identity_key is
    // NULL until first contact pins it (a person can be blocked before
    // that). pending_key holds a different key seen later, refused until
    // AcceptKeyChange. verified applies to the pinned key only.
    //
    // messages: both directions. `id` is unique within a conversation: an
    // incoming id seen twice is a retry. state: 0 received (incoming),
    // 1 queued, 2 sent, 3 delivered (outgoing). received_ms is this node's
    // clock when the row was written (composed or received): history,
    // retention and export use it, never the peer's clock. body is
    // BodyCipher-sealed text.
    //
    // The outbox is the outgoing rows not yet delivered; the partial index
    // keeps finding them cheap however long the history grows, and costs
    // nothing on incoming rows. Retention has no index of its own: a purge
    // runs about once a day and may scan, while every received message would
    // pay for one more b-tree on the hot path.
    R"sql(
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;
CREATE TABLE contacts (
  name TEXT PRIMARY KEY,
  identity_key BLOB CHECK (identity_key IS NULL OR length(identity_key) = 32),
  pinned_at INTEGER NOT NULL DEFAULT 0,
  verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
  blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
  pending_key BLOB CHECK (pending_key IS NULL OR length(pending_key) = 32),
  pending_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE conversations (
  name TEXT PRIMARY KEY,
  next_out_seq INTEGER NOT NULL CHECK (next_out_seq >= 1)
) STRICT;
CREATE TABLE messages (
  row INTEGER PRIMARY KEY,
  id BLOB NOT NULL CHECK (length(id) = 16),
  conversation TEXT NOT NULL,
  direction INTEGER NOT NULL CHECK (direction IN (0, 1)),
  seq INTEGER NOT NULL CHECK (seq >= 1),
  sent_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
  state_ms INTEGER NOT NULL,
  body BLOB NOT NULL,
  UNIQUE (conversation, id)
) STRICT;
CREATE INDEX messages_outbox ON messages (conversation, seq) WHERE state IN (1, 2);
CREATE INDEX messages_by_time ON messages (conversation, received_ms);
)sql",
    // Version 2.
    //
    // directory_cache: the last lookup answer (a serialized
    // proto::LookupResult: the certificate as the tracker sent it, and
    // endpoints) per contact reached, to dial known contacts while the
    // tracker is down. revoked_keys: every identity key the tracker announced
    // as revoked, refused from then on (DirectoryCache).
    R"sql(
CREATE TABLE directory_cache (
  name TEXT PRIMARY KEY,
  lookup BLOB NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE revoked_keys (
  identity_key BLOB PRIMARY KEY CHECK (length(identity_key) = 32),
  name TEXT NOT NULL,
  revoked_ms INTEGER NOT NULL
) STRICT;
)sql",
    // Version 3: file transfers (peer/transfer/transfer_store.h), both
    // directions. id: 16 bytes chosen by the sender. direction: 0 in, 1 out.
    // bytes_done: for an incoming transfer, the durable offset (the data
    // before it is fsynced in quarantine/<id hex>.part); for an outgoing one,
    // what the receiver confirmed (informative). source: the sender's file.
    // dest_dir: where an accepted file is released. path: the released file.
    R"sql(
CREATE TABLE transfers (
  id BLOB PRIMARY KEY CHECK (length(id) = 16),
  direction INTEGER NOT NULL CHECK (direction IN (0, 1)),
  peer TEXT NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  type TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  bytes_done INTEGER NOT NULL DEFAULT 0,
  source TEXT NOT NULL DEFAULT '',
  dest_dir TEXT NOT NULL DEFAULT '',
  path TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  digest BLOB NOT NULL DEFAULT x'',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;
)sql",
    // Version 4: read markers (HistoryStore::MarkRead). read_row: the last
    // messages.row read in that conversation; incoming rows after it are
    // unread. A database from before counts everything it holds as read.
    R"sql(
CREATE TABLE read_markers (
  name TEXT PRIMARY KEY,
  read_row INTEGER NOT NULL
) STRICT;
INSERT INTO read_markers (name, read_row)
  SELECT conversation, max(row) FROM messages GROUP BY conversation;
)sql",
};

}  // namespace

Result<std::unique_ptr<store::Database>> OpenPeerDatabase(const std::string& path) {
  store::Options options;
  options.durability = store::Durability::kFull;
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db,
                          store::Database::Open(path, options));
  CONFAB_RETURN_IF_ERROR(store::Migrate(*db, kSchema));
  return db;
}

}  // namespace confab::peer
