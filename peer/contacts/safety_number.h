// The safety number two members compare out of band (`confab verify`) to
// be sure each holds the other's real identity key: DESIGN.md's answer to a
// compromised tracker handing out a forged certificate.
//
//   digest = BLAKE2b-512("confab safety number v1" || 0x00 || min(a, b) || max(a, b))
//   number = 12 groups of 5 digits; group i is bytes [5i, 5i+5) of digest as
//            a big-endian 40-bit integer, mod 100000
//
// Sorting the two keys makes the number the same on both workstations
// (symmetric in its arguments). 12 x 5 digits carry about 199 bits.
#pragma once

#include <string>

#include "common/base/bytes.h"
#include "common/base/result.h"

namespace confab::peer {

inline constexpr size_t kSafetyNumberGroups = 12;
inline constexpr size_t kSafetyNumberGroupDigits = 5;

// "12345 67890 ..." (60 digits in 12 groups separated by single spaces).
// InvalidArgument unless both keys are 32 bytes.
[[nodiscard]] Result<std::string> SafetyNumber(ByteView my_key, ByteView their_key);

}  // namespace confab::peer
