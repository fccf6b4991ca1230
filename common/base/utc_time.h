// UTC times as people and scripts read them: ISO-8601 with a `Z`, the one
// text form of a time in every `--json` output and in the logs; and the
// parser of the `--since` arguments (`history`, `export`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace confab {

// "2026-12-03T07:20:43.123Z" (milliseconds always shown). Times before the
// epoch are formatted too; the caller decides what 0 ("never") means.
std::string UtcIso8601Ms(int64_t unix_ms);
// "2026-12-03T07:20:43Z", whole seconds.
std::string UtcIso8601(int64_t unix_seconds);

// A point in time given on a command line, as Unix milliseconds:
//   - digits only: Unix seconds ("1764745243");
//   - an ISO-8601 date, "2026-12-03" (its midnight, UTC);
//   - an ISO-8601 date and time, "2026-12-03T07:20", "...T07:20:43",
//     "...T07:20:43.5", with `T` or one space, then `Z`, nothing (UTC) or an
//     offset "+01:00" / "-0530".
// InvalidArgument, naming the accepted forms, for anything else (a field out
// of range included, such as month 13 or 25:00).
[[nodiscard]] Result<int64_t> ParseTimeArgument(std::string_view text);

}  // namespace confab
