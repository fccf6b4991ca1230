// libFuzzer: ParseTimeArgument (`history --since`, `export --since`) on any
// text. It must refuse or return a time, never crash or overflow; and a time
// it returns, formatted by UtcIso8601Ms, must parse back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/base/utc_time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256)
    return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  confab::Result<int64_t> ms = confab::ParseTimeArgument(text);
  if (!ms.ok())
    return 0;
  // Years 0000-9999 format as four digits, so they round-trip.
  constexpr int64_t kYear10000Ms = 253'402'300'800'000;
  constexpr int64_t kYear0Ms = -62'167'219'200'000;
  if (*ms >= kYear0Ms && *ms < kYear10000Ms) {
    confab::Result<int64_t> again = confab::ParseTimeArgument(confab::UtcIso8601Ms(*ms));
    if (!again.ok() || *again != *ms)
      std::abort();
  }
  return 0;
}
