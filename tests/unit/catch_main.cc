// Catch2's main, with one addition: a run in which a test case called
// CONFAB_SKIP (skip.h) and none failed exits with kSkipExitCode, which ctest
// reports as skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/unit/skip.h"

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0)
    return rc;
  const int result = session.run();
  const Catch::ConfigData& config = session.configData();
  // Listing returns the number listed; catch_discover_tests relies on it.
  if (config.listTests || config.listTestNamesOnly || config.listTags || config.listReporters)
    return result;
  // Otherwise Catch returns the number of failed assertions, which may be 77
  // itself: a failing run must never read as a skip.
  if (result != 0)
    return result == confab::testing::kSkipExitCode ? 1 : result;
  return confab::testing::SkippedCases() > 0 ? confab::testing::kSkipExitCode : 0;
}
