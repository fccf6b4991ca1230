// libFuzzer: ParsePunchPayload (a NOTIFY payload on confab_punch, issue 16)
// on any bytes. It must refuse or return a request, never crash; and a
// request it returns must be written back by PunchPayload to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tracker/cluster_punch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = confab::tracker::ParsePunchPayload(text);
  if (!p)
    return 0;
  const std::string again = confab::tracker::PunchPayload(*p);
  // Leading zeros in the id are accepted but not written back.
  auto reparsed = confab::tracker::ParsePunchPayload(again);
  if (!reparsed || !(*reparsed == *p) || again.size() > confab::tracker::kMaxPunchPayloadBytes)
    std::abort();
  return 0;
}
