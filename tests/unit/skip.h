#pragma once

// CONFAB_SKIP(reason): this test case cannot run here (no AES-NI, no IPv6
// loopback, no second filesystem), so leave it and have ctest count it as
// skipped, with the reason, instead of as passed.
//
// Catch2 v2.13 has no SKIP, and every unit test runs with -w NoAssertions, so
// a case that returned early with nothing checked would fail. CONFAB_SKIP
//   - prints one line "CONFAB-SKIPPED: <reason>" on stdout (`ctest -V` shows
//     it; Testing/Temporary/LastTest.log keeps it);
//   - records one passing SUCCEED with the reason, so NoAssertions is met;
//   - returns from the enclosing function.
// The main in catch_main.cc then exits with kSkipExitCode, ctest's
// SKIP_RETURN_CODE for every unit test, but only if the run had no failure:
// a CHECK that failed before the skip still fails the test.
//
// Call it in the TEST_CASE body itself (not in a helper, whose return would
// go on with the test case, and not in a SECTION), as soon as the case knows
// it cannot run. ctest runs each test case on its own, so a skip marks only
// that case.

#include <iostream>
#include <string>

#include <catch2/catch.hpp>

namespace confab::testing {

// The exit code of a run in which a test case skipped and none failed.
inline constexpr int kSkipExitCode = 77;

// How many test cases of this run called CONFAB_SKIP.
inline int& SkippedCases() {
  static int skipped = 0;
  return skipped;
}

inline void NoteSkipped(const std::string& reason) {
  ++SkippedCases();
  std::cout << "CONFAB-SKIPPED: " << reason << std::endl;
}

}  // namespace confab::testing

#define CONFAB_SKIP(reason)                              \
  do {                                                   \
    const std::string confab_skip_reason_ = (reason);    \
    ::confab::testing::NoteSkipped(confab_skip_reason_); \
    SUCCEED("skipped: " << confab_skip_reason_);         \
    return;                                              \
  } while (false)
