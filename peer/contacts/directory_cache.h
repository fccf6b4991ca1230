// DirectoryCache: what the node keeps from the tracker's directory in
// confab.db, so it keeps working while the tracker is down (DESIGN.md: the
// tracker can deny service, not read):
//
//   - the last lookup answer for each contact reached (certificate, exactly
//     as the tracker sent it, and endpoints), so a restarted node can dial a
//     known contact without a fresh lookup; the session layer verifies the
//     certificate again every time it is used (org key, name, expiry, pin,
//     revocations), so a stale row can only fail to connect;
//   - the revocation list: every identity key the tracker announced as
//     revoked, refused at the hello and at the dial from then on, across
//     restarts, whatever name it comes with.
//
// Sans I/O, like the other messaging stores. Borrows `db` (opened with
// OpenPeerDatabase), which must outlive it. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/store/database.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

struct RevokedKey {
  std::string name;
  Bytes identity_key;  // 32 bytes
  int64_t revoked_ms = 0;
};

class DirectoryCache {
 public:
  // InvalidArgument without a database.
  [[nodiscard]] static Result<std::unique_ptr<DirectoryCache>> Open(store::Database* db);

  // Keeps `found` (a found LookupResult for `name`; request_id is not kept)
  // in place of any earlier one. InvalidArgument for a bad name or a result
  // that was not found.
  [[nodiscard]] Status Remember(std::string_view name, const proto::LookupResult& found,
                                int64_t now_ms);
  // The last kept answer for `name`, nullopt if none.
  [[nodiscard]] Result<std::optional<proto::LookupResult>> Recall(std::string_view name);

  // Records that `identity_key` (of `name`) is revoked, and forgets the
  // kept answer for `name`. Idempotent. InvalidArgument for a bad name or a
  // key that is not 32 bytes.
  [[nodiscard]] Status RecordRevocation(std::string_view name, ByteView identity_key,
                                        int64_t now_ms);
  // Every revoked key, oldest first.
  [[nodiscard]] Result<std::vector<RevokedKey>> RevokedKeys();

 private:
  explicit DirectoryCache(store::Database* db) : db_(db) {}
  store::Database* const db_;
};

}  // namespace confab::peer
