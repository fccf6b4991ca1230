// The shared directory suite: the DirectoryStore contract (directory.h),
// checked the same way against every backend. directory_test.cc runs it on
// the SQLite Directory, pg_directory_test.cc on PgDirectory with a real
// PostgreSQL server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "tracker/directory_store.h"

namespace confab::testing {

// What the suite needs from a backend besides the store itself.
class DirectoryBackend {
 public:
  virtual ~DirectoryBackend() = default;
  // A store on a new, empty directory; it becomes the current one.
  virtual std::unique_ptr<tracker::DirectoryStore> OpenFresh() = 0;
  // Another store on the current directory, as a second tracker (or a
  // restarted one) opens it.
  virtual std::unique_ptr<tracker::DirectoryStore> OpenAgain() = 0;
  // Runs `sql` on the current directory outside the store: a number, or a
  // statement's Status.
  virtual int64_t Count(const std::string& sql) = 0;
  virtual Status Exec(const std::string& sql) = 0;
};

// Fakes both the suite and the backend-only tests build members with.
//
// A real Ed25519 public key (the store also keeps its X25519 form, so it
// must be a valid point), different for each `fill`.
Bytes Key(uint8_t fill);
// Stands in for crypto::HashInviteSecret: the store only needs distinct
// 32-byte values, and must not care how they were made.
Bytes Hash(std::string_view secret);
// A fake issuer: the "certificate" spells out what it was asked to sign.
Result<Bytes> FakeIssue(const tracker::Issuance& in);

// Runs every shared case, each in its own SECTION (so call it from a
// TEST_CASE body; Catch runs the body once per section).
void RunDirectorySuite(DirectoryBackend& backend);
// The MailboxStore contract (mailbox_suite.cc), likewise.
void RunMailboxSuite(DirectoryBackend& backend);

}  // namespace confab::testing
