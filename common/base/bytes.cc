#include "common/base/bytes.h"

#include <sodium.h>

namespace confab {

std::string ToHex(ByteView bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();  // sodium_bin2hex writes a terminating NUL
  return out;
}

Result<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0)
    return Status::InvalidArgument("hex string has an odd length");
  if (hex.empty())
    return Bytes();  // libsodium wants non-null buffers
  Bytes out(hex.size() / 2);
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, &end) !=
          0 ||
      written != out.size() || end != hex.data() + hex.size()) {
    return Status::InvalidArgument("not a hex string");
  }
  return out;
}

void SecureWipe(void* data, size_t size) {
  sodium_memzero(data, size);
}

}  // namespace confab
