// Durations as people write them in config files and on command lines:
// "7d", "12h", "30m", "45s", or a sum of such parts from the largest unit
// down ("1h30m", "2d12h"). Used by `confab-tracker invite NAME --ttl 7d` and
// by Config::GetDuration, so both accept exactly the same spellings.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace confab::config {

// Units: d (86400 s), h, m, s; lower case only, no spaces, no sign, no
// fractions. Each unit may appear once, in that order. "0s" is a valid zero.
// InvalidArgument, quoting the text and saying what was expected, for an
// empty string, a missing or unknown unit, a repeated or out-of-order unit,
// or a total that does not fit in int64 seconds.
[[nodiscard]] Result<std::chrono::seconds> ParseDuration(std::string_view text);

// The canonical spelling, largest units first: 604800 s -> "7d",
// 5400 s -> "1h30m", 0 -> "0s". ParseDuration(FormatDuration(d)) == d for
// every d >= 0; a negative d is formatted with a leading '-'.
std::string FormatDuration(std::chrono::seconds d);

}  // namespace confab::config
