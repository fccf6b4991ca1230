#include "common/config/duration.h"

#include <cstdint>
#include <limits>

namespace confab::config {
namespace {

struct Unit {
  char suffix;
  int64_t seconds;
};
// Largest first: the order ParseDuration requires and FormatDuration emits.
constexpr Unit kUnits[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

Status Bad(std::string_view text, std::string_view why) {
  std::string msg = "bad duration \"";
  msg += text;
  msg += "\": ";
  msg += why;
  msg += " (expected a number and a unit d, h, m or s, such as \"7d\", \"12h\", \"1h30m\")";
  return Status::InvalidArgument(msg);
}

}  // namespace

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  if (text.empty())
    return Bad(text, "empty");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9')
      return Bad(text, std::string("expected a digit at '") + text[i] + "'");
    int64_t value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      int digit = text[i] - '0';
      if (value > (kMax - digit) / 10)
        return Bad(text, "too large");
      value = value * 10 + digit;
      ++i;
    }
    if (i == text.size())
      return Bad(text, "missing unit after " + std::to_string(value));
    const char suffix = text[i++];
    size_t u = 0;
    while (u < std::size(kUnits) && kUnits[u].suffix != suffix)
      ++u;
    if (u == std::size(kUnits))
      return Bad(text, std::string("unknown unit '") + suffix + "'");
    if (u < next_unit)
      return Bad(text, std::string("unit '") + suffix + "' repeated or out of order");
    next_unit = u + 1;
    if (value > (kMax - total) / kUnits[u].seconds)
      return Bad(text, "too large");
    total += value * kUnits[u].seconds;
  }
  return std::chrono::seconds(total);
}

std::string FormatDuration(std::chrono::seconds d) {
  int64_t left = d.count();
  std::string out;
  if (left < 0) {
    out = "-";
    // -INT64_MIN overflows; clamp one second, which no real duration nears.
    left =
        left == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -left;
  }
  if (left == 0)
    return "0s";
  for (const Unit& unit : kUnits) {
    if (left >= unit.seconds) {
      out += std::to_string(left / unit.seconds);
      out += unit.suffix;
      left %= unit.seconds;
    }
  }
  return out;
}

}  // namespace confab::config
