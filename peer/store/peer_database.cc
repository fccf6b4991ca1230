#include "peer/store/peer_database.h"

#include <iterator>
#include <span>
#include <string>
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
    // Version 4: replicated conversations (docs/design.md, "Conversations";
    // peer/chat/conversation_store.h). The version 1-3 tables stay as they
    // are until the node is moved onto these; this script copies every
    // message into them, keeping its row number, id, seq, state and times.
    //
    // conv: kind 0 direct, 1 group. A direct conversation's id is derived
    // from both names, and a database does not know its own person's name,
    // so a migrated row has `peer` set and `id` NULL until ConversationStore
    // fills it (one transaction, at Open). next_out_seq: our next seq.
    //
    // entries: legacy 1 for a migrated message (no signature: the old wire
    // had none; shown, never passed on): id is its 16-byte message id,
    // sealed its BodyCipher body as it was, `direction` as in messages, and
    // author NULL for our own until ConversationStore fills it. lamport is
    // the old row number, so the total order is the order written. Others:
    // id is the 32-byte entry id, sealed the signed bytes under
    // BodyCipher::SealEntry, signature 64 bytes. state as in messages (0
    // received, 1 queued, 2 sent, 3 delivered).
    //
    // vectors: what a peer holds of a conversation (author -> highest
    // contiguous seq). pending_entries: held for a gap, sealed likewise.
    R"sql(
CREATE TABLE conv (
  row INTEGER PRIMARY KEY,
  id BLOB UNIQUE CHECK (id IS NULL OR length(id) IN (16, 32)),
  kind INTEGER NOT NULL CHECK (kind IN (0, 1)),
  peer TEXT UNIQUE,
  name TEXT NOT NULL DEFAULT '',
  next_out_seq INTEGER NOT NULL DEFAULT 1 CHECK (next_out_seq >= 1),
  CHECK (kind = 1 OR peer IS NOT NULL),
  CHECK (kind = 0 OR id IS NOT NULL)
) STRICT;
CREATE TABLE conv_members (
  conv INTEGER NOT NULL REFERENCES conv (row),
  person TEXT NOT NULL,
  admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
  PRIMARY KEY (conv, person)
) STRICT;
CREATE TABLE entries (
  row INTEGER PRIMARY KEY,
  conv INTEGER NOT NULL REFERENCES conv (row),
  id BLOB NOT NULL,
  author TEXT,
  direction INTEGER NOT NULL CHECK (direction IN (0, 1)),
  seq INTEGER NOT NULL CHECK (seq >= 1),
  lamport INTEGER NOT NULL CHECK (lamport >= 1),
  kind INTEGER NOT NULL,
  sent_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
  state_ms INTEGER NOT NULL,
  legacy INTEGER NOT NULL CHECK (legacy IN (0, 1)),
  sealed BLOB NOT NULL,
  signature BLOB,
  UNIQUE (conv, id),
  CHECK (legacy = 1 OR (length(id) = 32 AND author IS NOT NULL AND length(signature) = 64)),
  CHECK (legacy = 0 OR (length(id) = 16 AND signature IS NULL))
) STRICT;
CREATE UNIQUE INDEX entries_by_author ON entries (conv, author, seq) WHERE legacy = 0;
CREATE INDEX entries_order ON entries (conv, lamport, author, seq);
CREATE INDEX entries_outbox ON entries (conv, seq) WHERE state IN (1, 2);
CREATE TABLE vectors (
  peer TEXT NOT NULL,
  conv INTEGER NOT NULL REFERENCES conv (row),
  author TEXT NOT NULL,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  PRIMARY KEY (peer, conv, author)
) STRICT;
CREATE TABLE pending_entries (
  conv INTEGER NOT NULL REFERENCES conv (row),
  author TEXT NOT NULL,
  seq INTEGER NOT NULL CHECK (seq >= 1),
  id BLOB NOT NULL CHECK (length(id) = 32),
  sealed BLOB NOT NULL,
  signature BLOB NOT NULL CHECK (length(signature) = 64),
  received_ms INTEGER NOT NULL,
  PRIMARY KEY (conv, author, seq)
) STRICT;
INSERT INTO conv (kind, peer, next_out_seq)
  SELECT 0, name, max(next_out_seq) FROM (
    SELECT name, next_out_seq FROM conversations
    UNION ALL
    SELECT conversation, 1 + max(CASE direction WHEN 1 THEN seq ELSE 0 END) FROM messages
      GROUP BY conversation)
  GROUP BY name ORDER BY name;
INSERT INTO entries (row, conv, id, author, direction, seq, lamport, kind, sent_ms, received_ms,
                     state, state_ms, legacy, sealed, signature)
  SELECT m.row, c.row, m.id, CASE m.direction WHEN 0 THEN m.conversation END, m.direction, m.seq,
         m.row, 1, m.sent_ms, m.received_ms, m.state, m.state_ms, 1, m.body, NULL
    FROM messages m JOIN conv c ON c.peer = m.conversation;
)sql",
    // Version 5: read markers (HistoryStore::MarkRead). read_row: the last
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
    // Version 6: the node moves onto the version 4 tables, and `messages`,
    // `conversations` and `read_markers` go. First the legacy copy is
    // refreshed, since the node kept writing `messages` after version 4:
    // every legacy entry is deleted and every message copied again with its
    // row number (so read markers, which count rows, stay right), its id,
    // seq, state, times and sealed body, into a conversation row created if
    // the person is new (its id and members are filled by
    // ConversationStore::Open, as in version 4). A signed entry whose row a
    // message now takes moves past both. Read markers move onto conversation
    // rows (`conv_read`). entries_by_time serves history's "since".
    R"sql(
DELETE FROM entries WHERE legacy = 1;
UPDATE entries SET row = row + (SELECT max(coalesce((SELECT max(row) FROM messages), 0),
                                           coalesce((SELECT max(row) FROM entries), 0)))
  WHERE row IN (SELECT row FROM messages);
INSERT INTO conv (kind, peer, next_out_seq)
  SELECT 0, name, 1 FROM (
    SELECT name FROM conversations UNION SELECT conversation FROM messages)
  WHERE name NOT IN (SELECT peer FROM conv WHERE peer IS NOT NULL) ORDER BY name;
UPDATE conv SET next_out_seq = max(next_out_seq,
    coalesce((SELECT next_out_seq FROM conversations WHERE name = conv.peer), 1),
    coalesce((SELECT 1 + max(seq) FROM messages WHERE conversation = conv.peer AND direction = 1),
             1))
  WHERE kind = 0;
INSERT INTO entries (row, conv, id, author, direction, seq, lamport, kind, sent_ms, received_ms,
                     state, state_ms, legacy, sealed, signature)
  SELECT m.row, c.row, m.id,
         CASE m.direction WHEN 0 THEN m.conversation
           ELSE (SELECT CAST(value AS TEXT) FROM meta WHERE name = 'conversations_self') END,
         m.direction, m.seq, m.row, 1, m.sent_ms, m.received_ms, m.state, m.state_ms, 1, m.body,
         NULL
    FROM messages m JOIN conv c ON c.peer = m.conversation;
CREATE TABLE conv_read (
  conv INTEGER PRIMARY KEY REFERENCES conv (row),
  read_row INTEGER NOT NULL
) STRICT;
INSERT INTO conv_read (conv, read_row)
  SELECT c.row, r.read_row FROM read_markers r JOIN conv c ON c.peer = r.name;
DROP TABLE read_markers;
DROP TABLE messages;
DROP TABLE conversations;
CREATE INDEX entries_by_time ON entries (conv, received_ms);
)sql",
    // Version 7: retention of signed entries. A purged entry keeps its row
    // (id, author, seq, lamport, kind, times, state, signature) with
    // `sealed` emptied: the body is gone, but the place it held in its
    // author's gapless seqs and in the total order stays, so the version
    // vector, the membership fold and what peers hold are unchanged.
    // Legacy entries are still deleted whole.
    R"sql(
ALTER TABLE entries ADD COLUMN purged INTEGER NOT NULL DEFAULT 0 CHECK (purged IN (0, 1));
)sql",
};

}  // namespace

Result<std::unique_ptr<store::Database>> OpenPeerDatabase(const std::string& path) {
  return OpenPeerDatabaseAtVersion(path, kPeerSchemaVersion);
}

Result<std::unique_ptr<store::Database>> OpenPeerDatabaseAtVersion(const std::string& path,
                                                                   int version) {
  static_assert(std::size(kSchema) == kPeerSchemaVersion);
  if (version < 1 || version > kPeerSchemaVersion)
    return Status::InvalidArgument("no confab.db schema version " + std::to_string(version));
  store::Options options;
  options.durability = store::Durability::kFull;
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db,
                          store::Database::Open(path, options));
  CONFAB_RETURN_IF_ERROR(store::Migrate(
      *db, std::span<const std::string_view>(kSchema, static_cast<size_t>(version))));
  return db;
}

}  // namespace confab::peer
