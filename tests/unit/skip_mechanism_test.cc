// Cases for unit.skip_mechanism (skip_mechanism_check.cmake), which runs each
// on its own as ctest runs a unit test case and checks its exit code. They are
// hidden, and this executable is not a confab_unit_test: none is a test of
// confab itself.
#include <catch2/catch.hpp>

#include "tests/unit/skip.h"

namespace {

TEST_CASE("A case that checks something passes", "[.][skip]") {
  CHECK(1 + 1 == 2);
}

TEST_CASE("A case that checks nothing fails", "[.][skip]") {}

TEST_CASE("A case that cannot run here is skipped", "[.][skip]") {
  CONFAB_SKIP("forced by the check of the skip mechanism");
  FAIL("CONFAB_SKIP went on with the test case");
}

TEST_CASE("A failure before a skip still fails", "[.][skip]") {
  CHECK(1 + 1 == 3);
  CONFAB_SKIP("after a failure");
}

TEST_CASE("77 failed checks do not read as a skip", "[.][skip]") {
  for (int i = 0; i < 77; ++i)
    CHECK(i < 0);
}

}  // namespace
