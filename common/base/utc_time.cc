#include "common/base/utc_time.h"

#include <cstdio>

namespace confab {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil), so that no time zone database or timegm is involved.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool IsLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned DaysIn(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `*pos`.
bool Digits(std::string_view s, size_t* pos, size_t n, int64_t* out) {
  if (*pos + n > s.size())
    return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c)
    return false;
  ++*pos;
  return true;
}

Status BadTime(std::string_view text) {
  return Status::InvalidArgument(
      "not a time: \"" + std::string(text) +
      "\" (give Unix seconds, or ISO-8601 such as 2026-12-03, 2026-12-03T07:20Z or "
      "2026-12-03T09:20:00+02:00)");
}

}  // namespace

std::string UtcIso8601Ms(int64_t unix_ms) {
  const int64_t days = FloorDiv(unix_ms, 86'400'000);
  const int64_t in_day = unix_ms - days * 86'400'000;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y),
                m, d, static_cast<int>(in_day / 3'600'000), static_cast<int>(in_day / 60'000 % 60),
                static_cast<int>(in_day / 1000 % 60), static_cast<int>(in_day % 1000));
  return buf;
}

std::string UtcIso8601(int64_t unix_seconds) {
  std::string ms = UtcIso8601Ms(unix_seconds * 1000);
  return ms.substr(0, 19) + "Z";
}

Result<int64_t> ParseTimeArgument(std::string_view text) {
  if (text.empty())
    return BadTime(text);
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 12)  // beyond year 33000: a value in ms, most likely
      return Status::InvalidArgument("not a time: \"" + std::string(text) +
                                     "\" is too large for Unix seconds (milliseconds?)");
    int64_t seconds = 0;
    for (const char c : text)
      seconds = seconds * 10 + (c - '0');
    return seconds * 1000;
  }
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &month) ||
      !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &day))
    return BadTime(text);
  if (month < 1 || month > 12 || day < 1 || day > DaysIn(year, static_cast<unsigned>(month)))
    return BadTime(text);
  int64_t ms =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86'400'000;
  if (pos == text.size())
    return ms;
  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')
    return BadTime(text);
  ++pos;
  int64_t hour = 0, minute = 0, second = 0, fraction_ms = 0;
  if (!Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &minute))
    return BadTime(text);
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!Digits(text, &pos, 2, &second))
      return BadTime(text);
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      int64_t scale = 100;
      size_t digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        fraction_ms += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
        ++digits;
      }
      if (digits == 0)
        return BadTime(text);
    }
  }
  if (hour > 23 || minute > 59 || second > 59)
    return BadTime(text);
  ms += ((hour * 60 + minute) * 60 + second) * 1000 + fraction_ms;
  if (pos == text.size())
    return ms;
  if (text[pos] == 'Z' || text[pos] == 'z')
    return pos + 1 == text.size() ? Result<int64_t>(ms) : Result<int64_t>(BadTime(text));
  if (text[pos] != '+' && text[pos] != '-')
    return BadTime(text);
  const int64_t sign = text[pos] == '+' ? 1 : -1;
  ++pos;
  int64_t off_h = 0, off_m = 0;
  if (!Digits(text, &pos, 2, &off_h))
    return BadTime(text);
  if (pos < text.size() && text[pos] == ':')
    ++pos;
  if (!Digits(text, &pos, 2, &off_m) || pos != text.size() || off_h > 23 || off_m > 59)
    return BadTime(text);
  // 09:20+02:00 is 07:20 UTC.
  return ms - sign * (off_h * 60 + off_m) * 60'000;
}

}  // namespace confab
