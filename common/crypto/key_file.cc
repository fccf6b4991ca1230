#include "common/crypto/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <sodium.h>

#include "common/crypto/sodium.h"
#include "proto/identity.pb.h"

namespace confab::crypto {
namespace {

constexpr uint32_t kKeyFileVersion = 1;
constexpr size_t kBoxKeyBytes = crypto_secretbox_KEYBYTES;
static_assert(kBoxKeyBytes == 32);

// Protobuf keeps bytes fields in std::string; wipe the ones that held a seed.
void WipeString(std::string* s) {
  if (!s->empty())
    SecureWipe(s->data(), s->size());
  s->clear();
}

// Closes a file descriptor on every path out of a function.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports close()'s error, which can carry a deferred write
  // error on some file systems.
  int Close() {
    int fd = std::exchange(fd_, -1);
    return ::close(fd);
  }

 private:
  int fd_;
};

Status ErrnoStatus(int err, std::string_view what, const std::string& path) {
  std::string msg = std::string(what) + " '" + path + "': " + std::strerror(err);
  if (err == ENOENT)
    return Status::NotFound(msg);
  if (err == EACCES || err == EPERM)
    return Status::PermissionDenied(msg);
  return Status::IoError(msg);
}

Result<KeyKind> ParseKind(std::string_view name) {
  if (name == KeyKindName(KeyKind::kIdentity))
    return KeyKind::kIdentity;
  if (name == KeyKindName(KeyKind::kOrg))
    return KeyKind::kOrg;
  if (name == KeyKindName(KeyKind::kTracker))
    return KeyKind::kTracker;
  return Status::Corruption("key file has an unknown kind '" + std::string(name) + "'");
}

Status CheckLimits(uint64_t opslimit, uint64_t memlimit_bytes) {
  if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > kMaxPwhashOpslimit ||
      memlimit_bytes < crypto_pwhash_MEMLIMIT_MIN || memlimit_bytes > kMaxPwhashMemlimitBytes) {
    return Status::InvalidArgument("Argon2id limits out of range (opslimit " +
                                   std::to_string(opslimit) + ", memlimit " +
                                   std::to_string(memlimit_bytes) + ")");
  }
  return Status::Ok();
}

Result<SecretArray<kBoxKeyBytes>> DeriveBoxKey(ByteView passphrase, ByteView salt,
                                               uint64_t opslimit, uint64_t memlimit_bytes) {
  SecretArray<kBoxKeyBytes> key;
  // An empty span may carry a null pointer, which crypto_pwhash must not see.
  static const char kEmpty = 0;
  const char* chars =
      passphrase.empty() ? &kEmpty : reinterpret_cast<const char*>(passphrase.data());
  if (crypto_pwhash(key.data(), key.size(), chars, passphrase.size(), salt.data(), opslimit,
                    static_cast<size_t>(memlimit_bytes), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::ResourceExhausted("Argon2id could not get " + std::to_string(memlimit_bytes) +
                                     " bytes of memory");
  }
  return key;
}

// The outer fields every load checks, before any secret is touched.
Result<KeyFileInfo> CheckOuter(const proto::KeyFile& file) {
  if (file.version() != kKeyFileVersion)
    return Status::Corruption("key file version " + std::to_string(file.version()) +
                              " is not supported");
  KeyFileInfo info;
  CONFAB_ASSIGN_OR_RETURN(info.kind, ParseKind(file.kind()));
  if (file.public_key().size() != kEd25519PublicKeyBytes)
    return Status::Corruption("key file public key is " + std::to_string(file.public_key().size()) +
                              " bytes, not 32");
  std::copy(file.public_key().begin(), file.public_key().end(), info.public_key.begin());
  switch (file.secret_case()) {
    case proto::KeyFile::kPlainSeed:
      info.encrypted = false;
      break;
    case proto::KeyFile::kEncrypted:
      info.encrypted = true;
      break;
    case proto::KeyFile::SECRET_NOT_SET:
      return Status::Corruption("key file holds no secret key");
  }
  return info;
}

// Opens the sealed seed into `seed`; the caller checks it against the public key.
Status OpenEncrypted(const proto::KeyFile& file, ByteView passphrase, SecretBytes* seed) {
  const proto::EncryptedSecret& enc = file.encrypted();
  if (enc.pwhash_alg() != crypto_pwhash_ALG_ARGON2ID13)
    return Status::Corruption("key file uses an unknown password hash");
  if (!CheckLimits(enc.opslimit(), enc.memlimit()).ok())
    return Status::Corruption("key file asks for Argon2id limits out of range");
  if (enc.salt().size() != crypto_pwhash_SALTBYTES ||
      enc.nonce().size() != crypto_secretbox_NONCEBYTES ||
      enc.ciphertext().size() < crypto_secretbox_MACBYTES) {
    return Status::Corruption("key file's sealed secret has fields of the wrong size");
  }
  CONFAB_ASSIGN_OR_RETURN(
      SecretArray<kBoxKeyBytes> box_key,
      DeriveBoxKey(passphrase, AsBytes(enc.salt()), enc.opslimit(), enc.memlimit()));
  SecretBytes plain(enc.ciphertext().size() - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(
          plain.data(), reinterpret_cast<const uint8_t*>(enc.ciphertext().data()),
          enc.ciphertext().size(), reinterpret_cast<const uint8_t*>(enc.nonce().data()),
          box_key.data()) != 0) {
    return Status::AuthFailed("wrong passphrase");
  }
  proto::SealedSecret sealed;
  bool parsed = sealed.ParseFromArray(plain.data(), static_cast<int>(plain.size()));
  *seed = SecretBytes(AsBytes(sealed.seed()));
  WipeString(sealed.mutable_seed());
  if (!parsed)
    return Status::Corruption("key file's sealed secret does not parse");
  // Authenticated by the secretbox: a mismatch means the outer fields were
  // changed after sealing.
  if (sealed.kind() != file.kind() || sealed.public_key() != file.public_key())
    return Status::Corruption(
        "key file's public key or kind does not match its sealed secret (the file was altered)");
  return Status::Ok();
}

// Reads the whole file after checking, on the open descriptor itself (no
// race with a chmod or rename between check and read), that it is a regular
// file of ours that no one else may touch.
Result<SecretBytes> ReadPrivateFile(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0)
    return ErrnoStatus(errno, "cannot open key file", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return ErrnoStatus(errno, "cannot stat key file", path);
  if (!S_ISREG(st.st_mode))
    return Status::PermissionDenied("key file '" + path + "' is not a regular file");
  if (st.st_uid != ::geteuid())
    return Status::PermissionDenied("key file '" + path + "' is owned by uid " +
                                    std::to_string(st.st_uid) + ", not by this user");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied(
        std::string("Permissions ") + mode + " for '" + path +
        "' are too open. It is required that your private key files are NOT accessible by "
        "others. Fix with: chmod 600 " +
        path);
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileBytes))
    return Status::Corruption("key file '" + path + "' is larger than " +
                              std::to_string(kMaxKeyFileBytes) + " bytes");
  // One byte more than the limit, to notice a file that grew since fstat.
  SecretBytes buffer(kMaxKeyFileBytes + 1);
  size_t filled = 0;
  while (filled < buffer.size()) {
    ssize_t n = ::read(fd.get(), buffer.data() + filled, buffer.size() - filled);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ErrnoStatus(errno, "cannot read key file", path);
    if (n == 0)
      break;
    filled += static_cast<size_t>(n);
  }
  if (filled > kMaxKeyFileBytes)
    return Status::Corruption("key file '" + path + "' is larger than " +
                              std::to_string(kMaxKeyFileBytes) + " bytes");
  SecretBytes contents(ByteView(buffer.data(), filled));
  return contents;
}

Result<proto::KeyFile> ParseKeyFile(ByteView bytes) {
  proto::KeyFile file;
  if (bytes.size() > kMaxKeyFileBytes ||
      !file.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    if (file.has_plain_seed())
      WipeString(file.mutable_plain_seed());
    return Status::Corruption("key file does not parse");
  }
  return file;
}

Status WriteAll(int fd, ByteView bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return Status::IoError(std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

// Creates `temp` with mode 0600, writes and syncs `contents`.
Status WriteTemp(const std::string& temp, ByteView contents) {
  // O_EXCL: never reuse (or follow a symlink planted at) an existing name.
  // The mode is 0600 from the first instant, whatever the umask adds.
  ScopedFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0)
    return ErrnoStatus(errno, "cannot create key file", temp);
  // A umask such as 0277 could have removed our own write bit; make it exact.
  if (::fchmod(fd.get(), 0600) != 0)
    return ErrnoStatus(errno, "cannot chmod key file", temp);
  CONFAB_RETURN_IF_ERROR(WriteAll(fd.get(), contents).WithContext("writing " + temp));
  if (::fsync(fd.get()) != 0)
    return ErrnoStatus(errno, "cannot sync key file", temp);
  if (fd.Close() != 0)
    return ErrnoStatus(errno, "cannot close key file", temp);
  return Status::Ok();
}

}  // namespace

std::string_view KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kIdentity:
      return "identity";
    case KeyKind::kOrg:
      return "org";
    case KeyKind::kTracker:
      return "tracker";
  }
  return "unknown";
}

PwhashLimits PwhashLimits::Interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
PwhashLimits PwhashLimits::Moderate() {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}
PwhashLimits PwhashLimits::Minimum() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

Result<SecretBytes> EncodeKeyFile(KeyKind kind, const SigningKey& key,
                                  const KeyFileWriteOptions& options) {
  CONFAB_RETURN_IF_ERROR(InitSodium());
  SecretArray<kEd25519SeedBytes> seed = key.seed();
  proto::KeyFile file;
  file.set_version(kKeyFileVersion);
  file.set_kind(std::string(KeyKindName(kind)));
  file.set_public_key(key.public_key().data(), key.public_key().size());

  if (!options.passphrase) {
    file.set_plain_seed(seed.data(), seed.size());
  } else {
    if (options.passphrase->empty())
      return Status::InvalidArgument("an empty passphrase protects nothing");
    CONFAB_RETURN_IF_ERROR(CheckLimits(options.limits.opslimit, options.limits.memlimit_bytes));
    std::array<uint8_t, crypto_pwhash_SALTBYTES> salt{};
    std::array<uint8_t, crypto_secretbox_NONCEBYTES> nonce{};
    RandomBytes(salt);
    RandomBytes(nonce);
    CONFAB_ASSIGN_OR_RETURN(SecretArray<kBoxKeyBytes> box_key,
                            DeriveBoxKey(*options.passphrase, salt, options.limits.opslimit,
                                         options.limits.memlimit_bytes));

    proto::SealedSecret sealed;
    sealed.set_kind(file.kind());
    sealed.set_public_key(file.public_key());
    sealed.set_seed(seed.data(), seed.size());
    SecretBytes plain(sealed.ByteSizeLong());
    bool serialized = sealed.SerializeToArray(plain.data(), static_cast<int>(plain.size()));
    WipeString(sealed.mutable_seed());
    if (!serialized)
      return Status::InvalidArgument("sealed secret does not serialize");

    std::string ciphertext(plain.size() + crypto_secretbox_MACBYTES, '\0');
    CONFAB_RETURN_IF_ERROR(crypto_secretbox_easy(reinterpret_cast<uint8_t*>(ciphertext.data()),
                                                 plain.data(), plain.size(), nonce.data(),
                                                 box_key.data()) == 0
                               ? Status::Ok()
                               : Status::FailedPrecondition("crypto_secretbox_easy failed"));
    proto::EncryptedSecret* enc = file.mutable_encrypted();
    enc->set_pwhash_alg(crypto_pwhash_ALG_ARGON2ID13);
    enc->set_opslimit(options.limits.opslimit);
    enc->set_memlimit(options.limits.memlimit_bytes);
    enc->set_salt(salt.data(), salt.size());
    enc->set_nonce(nonce.data(), nonce.size());
    enc->set_ciphertext(std::move(ciphertext));
  }

  SecretBytes out(file.ByteSizeLong());
  bool serialized = file.SerializeToArray(out.data(), static_cast<int>(out.size()));
  if (file.has_plain_seed())
    WipeString(file.mutable_plain_seed());
  if (!serialized)
    return Status::InvalidArgument("key file does not serialize");
  return out;
}

Result<SigningKey> DecodeKeyFile(ByteView bytes, KeyKind kind, std::optional<ByteView> passphrase) {
  CONFAB_RETURN_IF_ERROR(InitSodium());
  CONFAB_ASSIGN_OR_RETURN(proto::KeyFile file, ParseKeyFile(bytes));
  SecretBytes seed;
  // Take the plain seed out of the message at once so that only `seed`
  // (wiped on destruction) holds it from here on.
  if (file.has_plain_seed()) {
    seed = SecretBytes(AsBytes(file.plain_seed()));
    WipeString(file.mutable_plain_seed());
  }
  CONFAB_ASSIGN_OR_RETURN(KeyFileInfo info, CheckOuter(file));
  if (info.kind != kind)
    return Status::InvalidArgument("key file holds an " + std::string(KeyKindName(info.kind)) +
                                   " key, not an " + std::string(KeyKindName(kind)) + " key");
  if (info.encrypted) {
    if (!passphrase)
      return Status::FailedPrecondition("key file is encrypted; a passphrase is needed");
    CONFAB_RETURN_IF_ERROR(OpenEncrypted(file, *passphrase, &seed));
  }
  if (seed.size() != kEd25519SeedBytes)
    return Status::Corruption("key file secret is " + std::to_string(seed.size()) +
                              " bytes, not 32");
  CONFAB_ASSIGN_OR_RETURN(SigningKey key, SigningKey::FromSeed(seed.view()));
  if (!ConstantTimeEqual(key.public_key(), info.public_key))
    return Status::Corruption(
        "key file's public key does not match its secret key (the file was altered or damaged)");
  return key;
}

Status WriteKeyFile(const std::string& path, KeyKind kind, const SigningKey& key,
                    const KeyFileWriteOptions& options) {
  CONFAB_ASSIGN_OR_RETURN(SecretBytes contents, EncodeKeyFile(kind, key, options));
  if (!options.replace_existing) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0)
      return Status::FailedPrecondition("key file '" + path + "' already exists");
  }
  std::array<uint8_t, 8> suffix{};
  RandomBytes(suffix);
  const std::string temp = path + ".tmp-" + ToHex(suffix);
  Status written = WriteTemp(temp, contents.view());
  if (written.ok()) {
    if (options.replace_existing) {
      if (::rename(temp.c_str(), path.c_str()) != 0)
        written = ErrnoStatus(errno, "cannot rename key file into", path);
    } else {
      // link() fails if `path` appeared since the check above: no clobbering.
      if (::link(temp.c_str(), path.c_str()) != 0) {
        written = errno == EEXIST
                      ? Status::FailedPrecondition("key file '" + path + "' already exists")
                      : ErrnoStatus(errno, "cannot link key file into", path);
      }
    }
  }
  // After rename there is nothing at `temp`; after link (or a failure) the
  // temporary name must go.
  ::unlink(temp.c_str());
  CONFAB_RETURN_IF_ERROR(written);

  // Make the new directory entry durable too.
  const std::string dir = DirectoryOf(path);
  ScopedFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0)
    return ErrnoStatus(errno, "cannot open directory", dir);
  if (::fsync(dir_fd.get()) != 0)
    return ErrnoStatus(errno, "cannot sync directory", dir);
  return Status::Ok();
}

Result<SigningKey> ReadKeyFile(const std::string& path, KeyKind kind,
                               std::optional<ByteView> passphrase) {
  CONFAB_ASSIGN_OR_RETURN(SecretBytes contents, ReadPrivateFile(path));
  Result<SigningKey> key = DecodeKeyFile(contents.view(), kind, passphrase);
  if (!key.ok())
    return key.status().WithContext(path);
  return key;
}

Result<KeyFileInfo> InspectKeyFile(const std::string& path) {
  CONFAB_ASSIGN_OR_RETURN(SecretBytes contents, ReadPrivateFile(path));
  Result<proto::KeyFile> file = ParseKeyFile(contents.view());
  if (!file.ok())
    return file.status().WithContext(path);
  // (Checking the case first: mutable_plain_seed() would switch the oneof.)
  if (file->has_plain_seed())
    WipeString(file->mutable_plain_seed());
  Result<KeyFileInfo> info = CheckOuter(*file);
  if (!info.ok())
    return info.status().WithContext(path);
  return info;
}

}  // namespace confab::crypto
