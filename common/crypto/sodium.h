// libsodium start-up and the few helpers every crypto file shares.
//
// Every public entry point of confab::crypto calls InitSodium() before it
// touches libsodium, so callers never need to remember to; calling it again
// is cheap. Thread-safe: sodium_init() guards itself with its own lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/base/bytes.h"
#include "common/base/status.h"

namespace confab::crypto {

// Initialises libsodium once per process. Returns OK when it is (or already
// was) initialised, and a FailedPrecondition if libsodium refuses, which only
// happens when the process cannot get entropy.
[[nodiscard]] Status InitSodium();

// Fills `out` from the operating system's CSPRNG (randombytes_buf). Aborts if
// libsodium cannot be initialised: a process without entropy must not go on.
void RandomBytes(std::span<uint8_t> out);

// Compares two byte strings in time that depends only on their lengths
// (sodium_memcmp); different lengths compare unequal.
[[nodiscard]] bool ConstantTimeEqual(ByteView a, ByteView b);

}  // namespace confab::crypto
