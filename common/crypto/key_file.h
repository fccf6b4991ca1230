// Key files: an Ed25519 key pair (a member's identity key, or the org key) on
// disk, optionally sealed under a passphrase.
//
// Format: a serialized proto::KeyFile (proto/identity.proto) holding the
// version, the kind ("identity" or "org"), the public key in the clear, and
// either the 32-byte seed or an EncryptedSecret:
//   key        = crypto_pwhash(Argon2id13, passphrase, salt, opslimit, memlimit)
//   ciphertext = crypto_secretbox_easy(SealedSecret{kind, public_key, seed},
//                                      random nonce, key)
// The limits, salt and nonce are stored in the file. The sealed copy of kind
// and public key means that swapping the outer public key is detected, and on
// every load the seed must regenerate the stored public key.
//
// Files are written with mode 0600 whatever the umask: a temporary file is
// created in the same directory with open(O_CREAT|O_EXCL, 0600), written,
// fsync'ed and renamed into place, and the directory is fsync'ed. The secret is
// never readable by others at any moment. Loading refuses a file that group or
// others may read or write, as OpenSSH does.
//
// Thread safety: the functions share no state; the usual file-system races
// apply if two threads write the same path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/crypto/identity.h"

namespace confab::crypto {

// kIdentity: a member's identity key. kOrg: the org's certificate-signing key.
// kTracker: the tracker's own key, whose X25519 form is its Noise static key.
enum class KeyKind { kIdentity, kOrg, kTracker };
// "identity", "org" or "tracker", as stored in the file.
std::string_view KeyKindName(KeyKind kind);

// Argon2id cost. Interactive() (libsodium's INTERACTIVE: 2 passes, 64 MiB,
// well under a second) is the default for keys people unlock at start-up;
// Minimum() exists for tests only and protects nothing.
struct PwhashLimits {
  uint64_t opslimit = 0;
  uint64_t memlimit_bytes = 0;

  static PwhashLimits Interactive();
  static PwhashLimits Moderate();
  static PwhashLimits Minimum();
};

// Limits a loaded file may ask for; larger ones are treated as Corruption so a
// tampered file cannot make us allocate gigabytes or spin for minutes.
inline constexpr uint64_t kMaxPwhashOpslimit = 16;
inline constexpr uint64_t kMaxPwhashMemlimitBytes = uint64_t{1} << 30;  // 1 GiB
// Real key files are about 200 bytes; anything larger is refused unread.
inline constexpr size_t kMaxKeyFileBytes = 4096;

struct KeyFileWriteOptions {
  // Absent: the seed is stored in the clear (the file is still mode 0600).
  // Present: it must not be empty. Borrowed: it must outlive the call.
  std::optional<ByteView> passphrase;
  PwhashLimits limits = PwhashLimits::Interactive();
  // False: an existing file at the path is left alone and the write fails
  // with FailedPrecondition, so that a key is never lost by accident.
  bool replace_existing = false;
};

// What can be read from a key file without the passphrase.
struct KeyFileInfo {
  KeyKind kind = KeyKind::kIdentity;
  Ed25519PublicKey public_key{};
  bool encrypted = false;
};

// The bytes of a key file for `key` (in memory; WriteKeyFile stores them).
// InvalidArgument for an empty passphrase or limits below libsodium's minimum;
// ResourceExhausted if Argon2id cannot get its memory.
[[nodiscard]] Result<SecretBytes> EncodeKeyFile(KeyKind kind, const SigningKey& key,
                                                const KeyFileWriteOptions& options);

// Reads a key file's bytes back. Errors:
//   Corruption         garbage, truncated, a field of the wrong size, limits
//                      out of range, or a public key that does not match the
//                      secret (a swapped or damaged file)
//   InvalidArgument    the file holds the other kind of key
//   FailedPrecondition "key file is encrypted; a passphrase is needed" when
//                      `passphrase` is absent (the CLI prompts and retries)
//   AuthFailed         "wrong passphrase"
// A plain file loads whether or not a passphrase is given.
[[nodiscard]] Result<SigningKey> DecodeKeyFile(ByteView file, KeyKind kind,
                                               std::optional<ByteView> passphrase);

// Writes a key file at `path` as described above. IoError if the directory
// is not writable or the disk is full (no temporary file is left behind).
[[nodiscard]] Status WriteKeyFile(const std::string& path, KeyKind kind, const SigningKey& key,
                                  const KeyFileWriteOptions& options);

// Loads a key file. Besides DecodeKeyFile's errors:
//   NotFound           no file at `path`
//   PermissionDenied   the mode lets group or others in ("Permissions 0644
//                      for '<path>' are too open. ... Fix with: chmod 600
//                      <path>"), the file is owned by another user, or it is
//                      not a regular file
//   Corruption         the file is larger than kMaxKeyFileBytes
//   IoError            anything else the operating system refuses
[[nodiscard]] Result<SigningKey> ReadKeyFile(const std::string& path, KeyKind kind,
                                             std::optional<ByteView> passphrase);

// The kind, public key and whether a passphrase is needed, without one. Same
// file checks as ReadKeyFile.
[[nodiscard]] Result<KeyFileInfo> InspectKeyFile(const std::string& path);

}  // namespace confab::crypto
