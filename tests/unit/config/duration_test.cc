#include "common/config/duration.h"

#include <catch2/catch.hpp>

namespace confab::config {
namespace {

using std::chrono::seconds;

TEST_CASE("ParseDuration reads each unit and sums of units", "[config]") {
  struct Case {
    const char* text;
    int64_t seconds;
  };
  const Case cases[] = {
      {"0s", 0},      {"45s", 45},     {"30m", 1800},     {"12h", 43200},
      {"7d", 604800}, {"1h30m", 5400}, {"2d12h", 216000}, {"1d1h1m1s", 90061},
      {"90s", 90},    {"007m", 420},   {"0d0s", 0},       {"100000d", 8640000000},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto d = ParseDuration(c.text);
    REQUIRE(d.ok());
    CHECK(d->count() == c.seconds);
  }
}

TEST_CASE("FormatDuration is canonical and round-trips", "[config]") {
  CHECK(FormatDuration(seconds(0)) == "0s");
  CHECK(FormatDuration(seconds(604800)) == "7d");
  CHECK(FormatDuration(seconds(5400)) == "1h30m");
  CHECK(FormatDuration(seconds(90061)) == "1d1h1m1s");
  CHECK(FormatDuration(seconds(-90)) == "-1m30s");
  for (int64_t s : {int64_t{1}, int64_t{59}, int64_t{61}, int64_t{3599}, int64_t{86401},
                    int64_t{123456789}, INT64_MAX}) {
    INFO(s);
    auto back = ParseDuration(FormatDuration(seconds(s)));
    REQUIRE(back.ok());
    CHECK(back->count() == s);
  }
}

// Tests of the error paths in ParseDuration follow.

TEST_CASE("ParseDuration refuses malformed durations with a clear message", "[config][error]") {
  const char* bad[] = {
      "",                        // empty
      "7",                       // missing unit
      "d",                       // missing number
      "7x",                      // unknown unit
      "7D",                      // upper case
      "7 d",                     // space
      " 7d",                     // leading space
      "-7d",                     // sign
      "+7d",                     // sign
      "1.5h",                    // fraction
      "30m1h",                   // out of order
      "1h1h",                    // repeated
      "7dd",                     // unit without a number
      "1w",                      // weeks are not a unit
      "99999999999999999999s",   // overflows int64
      "106751991167301d",        // fits as a number, overflows as seconds
      "9223372036854775807s1s",  // not in order anyway, but also too large
  };
  for (const char* text : bad) {
    INFO(text);
    auto d = ParseDuration(text);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Status::Code::kInvalidArgument);
    CHECK(std::string(d.status().message()).find("bad duration \"" + std::string(text) + "\"") ==
          0);
  }
  CHECK(std::string(ParseDuration("7x").status().message()).find("unknown unit 'x'") !=
        std::string::npos);
  CHECK(std::string(ParseDuration("7").status().message()).find("missing unit") !=
        std::string::npos);
}

}  // namespace
}  // namespace confab::config
