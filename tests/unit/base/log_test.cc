#include "common/base/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

namespace confab {
namespace {

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names its device and inode",
          "[base][log]") {
  char path[] = "/tmp/confab-log-test-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  const std::string exact = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  CHECK(IsJournalStream(fd, exact.c_str()));
  const std::string other_inode = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  CHECK_FALSE(IsJournalStream(fd, other_inode.c_str()));
  const std::string other_dev = std::to_string(st.st_dev + 1) + ":" + std::to_string(st.st_ino);
  CHECK_FALSE(IsJournalStream(fd, other_dev.c_str()));
  for (const char* bad : {"", ":", "12", "12:", "a:b", "12:34x"})
    CHECK_FALSE(IsJournalStream(fd, bad));
  CHECK_FALSE(IsJournalStream(fd, nullptr));
  close(fd);
  unlink(path);
  CHECK_FALSE(IsJournalStream(fd, exact.c_str()));  // closed: fstat fails
}

TEST_CASE("InitLogging refuses an unknown level and accepts the known ones", "[base][log]") {
  CHECK(InitLogging("log_test", "info").ok());
  CHECK(InitLogging("log_test", "off").ok());
  Status s = InitLogging("log_test", "loud");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(std::string(s.message()).find("trace, debug, info") != std::string::npos);
}

}  // namespace
}  // namespace confab
