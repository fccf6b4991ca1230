// The shared directory suite: the DirectoryStore contract (directory.h),
// checked the same way against every backend. directory_test.cc runs it on
// the SQLite Directory, pg_directory_test.cc on PgDirectory with a real
// PostgreSQL server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

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

// Runs every shared case, each in its own SECTION (so call it from a
// TEST_CASE body; Catch runs the body once per section).
void RunDirectorySuite(DirectoryBackend& backend);

}  // namespace confab::testing
