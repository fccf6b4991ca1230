#include "common/base/utc_time.h"

#include <catch2/catch.hpp>

namespace confab {
namespace {

int64_t Ms(std::string_view text) {
  Result<int64_t> r = ParseTimeArgument(text);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("UTC times are formatted as ISO-8601 with milliseconds and a Z", "[base][time]") {
  CHECK(UtcIso8601Ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(UtcIso8601Ms(1764745243123) == "2025-12-03T07:00:43.123Z");
  CHECK(UtcIso8601Ms(951782400000) == "2000-02-29T00:00:00.000Z");  // a leap day
  CHECK(UtcIso8601Ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(UtcIso8601(1764745243) == "2025-12-03T07:00:43Z");
}

TEST_CASE("A time argument is Unix seconds or ISO-8601, in UTC unless an offset says otherwise",
          "[base][time]") {
  CHECK(Ms("0") == 0);
  CHECK(Ms("1764745243") == 1764745243000);
  CHECK(Ms("2025-12-03") == 1764720000000);
  CHECK(Ms("2025-12-03T07:00") == 1764745200000);
  CHECK(Ms("2025-12-03T07:00:43Z") == 1764745243000);
  CHECK(Ms("2025-12-03 07:00:43") == 1764745243000);
  CHECK(Ms("2025-12-03T07:00:43.123Z") == 1764745243123);
  CHECK(Ms("2025-12-03T07:00:43.5") == 1764745243500);
  CHECK(Ms("2025-12-03T09:00:43+02:00") == 1764745243000);
  CHECK(Ms("2025-12-03T01:30:43-0530") == 1764745243000);
  CHECK(Ms("2000-02-29") == 951782400000);
}

TEST_CASE("A time argument round-trips through the ISO-8601 formatter", "[base][time]") {
  for (int64_t ms :
       {int64_t{0}, int64_t{86'399'999}, int64_t{1764745243123}, int64_t{4102444800000}}) {
    CHECK(Ms(UtcIso8601Ms(ms)) == ms);
  }
}

TEST_CASE("A malformed or out-of-range time argument is refused, naming the accepted forms",
          "[base][time][error]") {
  for (const char* bad :
       {"", "yesterday", "2025-13-01", "2025-02-29", "2025-12-32", "2025-12-3", "2025-12-03T24:00",
        "2025-12-03T07:60", "2025-12-03T07:00:61", "2025-12-03T07", "2025-12-03T07:00Zjunk",
        "2025-12-03T07:00+2", "2025-12-03T07:00:43.", "-5", "1764745243000000"}) {
    Result<int64_t> r = ParseTimeArgument(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
  }
  CHECK(std::string(ParseTimeArgument("soon").status().message()).find("Unix seconds") !=
        std::string::npos);
}

}  // namespace confab
