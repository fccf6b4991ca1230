// Byte buffers: Bytes (owned), ByteView (borrowed), and secret storage that is
// wiped with sodium_memzero when it is destroyed, resized or moved from.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace confab {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(ByteView b) {
  return Bytes(b.begin(), b.end());
}

// Lower-case hex, two digits per byte.
std::string ToHex(ByteView bytes);
// Accepts upper or lower case; fails on odd length or a non-hex character.
Result<Bytes> FromHex(std::string_view hex);

// Wipes `size` bytes at `data` in a way the compiler cannot elide.
void SecureWipe(void* data, size_t size);

// A variable-length secret (keys, chaining values, passphrases). Copying is
// explicit (Clone) so that secrets are not duplicated by accident.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size, 0) {}
  explicit SecretBytes(ByteView bytes) : bytes_(bytes.begin(), bytes.end()) {}
  ~SecretBytes() { Wipe(); }

  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
    other.bytes_.clear();
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      bytes_ = std::move(other.bytes_);
      other.bytes_.clear();
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  SecretBytes Clone() const { return SecretBytes(view()); }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  ByteView view() const { return {bytes_.data(), bytes_.size()}; }
  std::span<uint8_t> span() { return {bytes_.data(), bytes_.size()}; }

  // Wipes the contents, then takes the new size (zero-filled).
  void Reset(size_t size) {
    Wipe();
    bytes_.assign(size, 0);
  }

 private:
  void Wipe() {
    if (!bytes_.empty())
      SecureWipe(bytes_.data(), bytes_.size());
  }
  std::vector<uint8_t> bytes_;
};

// A fixed-size secret held inline (no allocation), wiped on destruction.
template <size_t N>
class SecretArray {
 public:
  SecretArray() { bytes_.fill(0); }
  ~SecretArray() { SecureWipe(bytes_.data(), N); }
  SecretArray(const SecretArray& other) = default;
  SecretArray& operator=(const SecretArray& other) = default;

  static constexpr size_t size() { return N; }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  ByteView view() const { return {bytes_.data(), N}; }
  std::span<uint8_t, N> span() { return std::span<uint8_t, N>(bytes_); }

 private:
  std::array<uint8_t, N> bytes_;
};

}  // namespace confab
