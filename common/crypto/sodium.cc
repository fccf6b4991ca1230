#include "common/crypto/sodium.h"

#include <sodium.h>

#include "common/base/check.h"

namespace confab::crypto {

Status InitSodium() {
  // 0: initialised now; 1: already initialised; -1: failure.
  if (sodium_init() < 0)
    return Status::FailedPrecondition("libsodium could not be initialised");
  return Status::Ok();
}

void RandomBytes(std::span<uint8_t> out) {
  CONFAB_CHECK(InitSodium().ok());
  randombytes_buf(out.data(), out.size());
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size())
    return false;
  if (a.empty())
    return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace confab::crypto
