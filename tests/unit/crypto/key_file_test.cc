#include "common/crypto/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "common/base/bytes.h"
#include "common/crypto/identity.h"
#include "proto/identity.pb.h"

namespace confab::crypto {
namespace {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "confab-keyfile-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }
  size_t EntryCount() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(path_))
      ++n;
    return n;
  }

 private:
  std::string path_;
};

// Sets the umask for one scope (tests run on one thread).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

SigningKey NewKey() {
  Result<SigningKey> key = SigningKey::Generate();
  REQUIRE(key.ok());
  return std::move(key).value();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Writes raw bytes with mode 0600, for files that tests have doctored.
void WriteRaw(const std::string& path, ByteView bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  REQUIRE(::close(fd) == 0);
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
}

const ByteView kPassphrase = AsBytes("correct horse battery staple");

KeyFileWriteOptions Plain() {
  return KeyFileWriteOptions{};
}
KeyFileWriteOptions Encrypted(ByteView passphrase = kPassphrase) {
  KeyFileWriteOptions options;
  options.passphrase = passphrase;
  options.limits = PwhashLimits::Minimum();  // fast; real files use Interactive()
  return options;
}

Bytes Encode(KeyKind kind, const SigningKey& key, const KeyFileWriteOptions& options) {
  Result<SecretBytes> bytes = EncodeKeyFile(kind, key, options);
  REQUIRE(bytes.ok());
  return ToBytes(bytes->view());
}

proto::KeyFile ParseProto(ByteView bytes) {
  proto::KeyFile file;
  REQUIRE(file.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  return file;
}

Bytes SerializeProto(const proto::KeyFile& file) {
  std::string out;
  REQUIRE(file.SerializeToString(&out));
  return ToBytes(AsBytes(out));
}

TEST_CASE("A plain key file round-trips and is mode 0600", "[keyfile]") {
  TempDir dir;
  SigningKey key = NewKey();
  const std::string path = dir.File("identity.key");
  REQUIRE(WriteKeyFile(path, KeyKind::kIdentity, key, Plain()).ok());
  CHECK(ModeOf(path) == 0600);
  Result<SigningKey> loaded = ReadKeyFile(path, KeyKind::kIdentity, std::nullopt);
  REQUIRE(loaded.ok());
  CHECK(loaded->public_key() == key.public_key());
  CHECK(ToHex(loaded->seed().view()) == ToHex(key.seed().view()));
  // A passphrase offered for a plain file does no harm.
  CHECK(ReadKeyFile(path, KeyKind::kIdentity, kPassphrase).ok());
  // Only the key file itself is left: no temporary file.
  CHECK(dir.EntryCount() == 1);
}

TEST_CASE("An encrypted key file round-trips with its passphrase", "[keyfile]") {
  TempDir dir;
  SigningKey key = NewKey();
  const std::string path = dir.File("org.key");
  REQUIRE(WriteKeyFile(path, KeyKind::kOrg, key, Encrypted()).ok());
  CHECK(ModeOf(path) == 0600);
  Result<SigningKey> loaded = ReadKeyFile(path, KeyKind::kOrg, kPassphrase);
  REQUIRE(loaded.ok());
  CHECK(loaded->public_key() == key.public_key());
  CHECK(ToHex(loaded->seed().view()) == ToHex(key.seed().view()));
}

TEST_CASE("An encrypted key file does not contain the seed", "[keyfile]") {
  SigningKey key = NewKey();
  Bytes file = Encode(KeyKind::kIdentity, key, Encrypted());
  std::string hay(file.begin(), file.end());
  std::string seed(reinterpret_cast<const char*>(key.seed().data()), kEd25519SeedBytes);
  CHECK(hay.find(seed) == std::string::npos);
  proto::KeyFile parsed = ParseProto(file);
  CHECK(parsed.has_encrypted());
  CHECK(parsed.encrypted().opslimit() == PwhashLimits::Minimum().opslimit);
  CHECK(parsed.encrypted().memlimit() == PwhashLimits::Minimum().memlimit_bytes);
}

TEST_CASE("Two encryptions of one key use fresh salt and nonce", "[keyfile]") {
  SigningKey key = NewKey();
  proto::KeyFile a = ParseProto(Encode(KeyKind::kIdentity, key, Encrypted()));
  proto::KeyFile b = ParseProto(Encode(KeyKind::kIdentity, key, Encrypted()));
  CHECK(a.encrypted().salt() != b.encrypted().salt());
  CHECK(a.encrypted().nonce() != b.encrypted().nonce());
}

TEST_CASE("The key file is created 0600 even with umask 0", "[keyfile]") {
  TempDir dir;
  SigningKey key = NewKey();
  {
    ScopedUmask mask(0);
    REQUIRE(WriteKeyFile(dir.File("a.key"), KeyKind::kIdentity, key, Plain()).ok());
  }
  CHECK(ModeOf(dir.File("a.key")) == 0600);
  {
    // A umask that would take our own write bit away changes nothing either.
    ScopedUmask mask(0277);
    REQUIRE(WriteKeyFile(dir.File("b.key"), KeyKind::kIdentity, key, Plain()).ok());
  }
  CHECK(ModeOf(dir.File("b.key")) == 0600);
}

TEST_CASE("InspectKeyFile tells kind, public key and encryption without a passphrase",
          "[keyfile]") {
  TempDir dir;
  SigningKey key = NewKey();
  REQUIRE(WriteKeyFile(dir.File("enc.key"), KeyKind::kOrg, key, Encrypted()).ok());
  REQUIRE(WriteKeyFile(dir.File("plain.key"), KeyKind::kIdentity, key, Plain()).ok());
  Result<KeyFileInfo> enc = InspectKeyFile(dir.File("enc.key"));
  REQUIRE(enc.ok());
  CHECK(enc->kind == KeyKind::kOrg);
  CHECK(enc->encrypted);
  CHECK(enc->public_key == key.public_key());
  Result<KeyFileInfo> plain = InspectKeyFile(dir.File("plain.key"));
  REQUIRE(plain.ok());
  CHECK(plain->kind == KeyKind::kIdentity);
  CHECK_FALSE(plain->encrypted);
}

TEST_CASE("An existing key file is not replaced unless asked", "[keyfile]") {
  TempDir dir;
  SigningKey first = NewKey();
  SigningKey second = NewKey();
  const std::string path = dir.File("identity.key");
  REQUIRE(WriteKeyFile(path, KeyKind::kIdentity, first, Plain()).ok());
  Status again = WriteKeyFile(path, KeyKind::kIdentity, second, Plain());
  CHECK(again.code() == Status::Code::kFailedPrecondition);
  CHECK(dir.EntryCount() == 1);
  Result<SigningKey> kept = ReadKeyFile(path, KeyKind::kIdentity, std::nullopt);
  REQUIRE(kept.ok());
  CHECK(kept->public_key() == first.public_key());

  KeyFileWriteOptions replace = Encrypted();
  replace.replace_existing = true;
  REQUIRE(WriteKeyFile(path, KeyKind::kIdentity, second, replace).ok());
  CHECK(ModeOf(path) == 0600);
  Result<SigningKey> replaced = ReadKeyFile(path, KeyKind::kIdentity, kPassphrase);
  REQUIRE(replaced.ok());
  CHECK(replaced->public_key() == second.public_key());
  CHECK(dir.EntryCount() == 1);
}

// Tests of all the error paths in key_file.cc follow.

TEST_CASE("A key file with mode 0644 is refused with the chmod hint", "[keyfile][error]") {
  TempDir dir;
  const std::string path = dir.File("identity.key");
  REQUIRE(WriteKeyFile(path, KeyKind::kIdentity, NewKey(), Plain()).ok());
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  Result<SigningKey> loaded = ReadKeyFile(path, KeyKind::kIdentity, std::nullopt);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kPermissionDenied);
  CHECK(loaded.status().message() ==
        "Permissions 0644 for '" + path +
            "' are too open. It is required that your private key files are NOT accessible by "
            "others. Fix with: chmod 600 " +
            path);
  CHECK(InspectKeyFile(path).status().code() == Status::Code::kPermissionDenied);
}

TEST_CASE("Any group or other permission bit is refused, and owner-only modes load",
          "[keyfile][error]") {
  TempDir dir;
  const std::string path = dir.File("identity.key");
  REQUIRE(WriteKeyFile(path, KeyKind::kIdentity, NewKey(), Plain()).ok());
  for (mode_t mode : {0640, 0604, 0620, 0602, 0610, 0601, 0660, 0666}) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    INFO("mode " << std::oct << mode);
    CHECK(ReadKeyFile(path, KeyKind::kIdentity, std::nullopt).status().code() ==
          Status::Code::kPermissionDenied);
  }
  for (mode_t mode : {0400, 0600}) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    INFO("mode " << std::oct << mode);
    CHECK(ReadKeyFile(path, KeyKind::kIdentity, std::nullopt).ok());
  }
}

TEST_CASE("A wrong passphrase is AuthFailed", "[keyfile][error]") {
  TempDir dir;
  const std::string path = dir.File("identity.key");
  REQUIRE(WriteKeyFile(path, KeyKind::kIdentity, NewKey(), Encrypted()).ok());
  Result<SigningKey> loaded = ReadKeyFile(path, KeyKind::kIdentity, AsBytes("Tr0ub4dor&3"));
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kAuthFailed);
  CHECK(std::string(loaded.status().message()).find("wrong passphrase") != std::string::npos);
  CHECK(ReadKeyFile(path, KeyKind::kIdentity, ByteView{}).status().code() ==
        Status::Code::kAuthFailed);
}

TEST_CASE("An encrypted key file loaded without a passphrase asks for one", "[keyfile][error]") {
  TempDir dir;
  const std::string path = dir.File("identity.key");
  REQUIRE(WriteKeyFile(path, KeyKind::kIdentity, NewKey(), Encrypted()).ok());
  Result<SigningKey> loaded = ReadKeyFile(path, KeyKind::kIdentity, std::nullopt);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kFailedPrecondition);
  CHECK(std::string(loaded.status().message()).find("a passphrase is needed") != std::string::npos);
}

TEST_CASE("A missing key file is NotFound", "[keyfile][error]") {
  TempDir dir;
  CHECK(ReadKeyFile(dir.File("nope.key"), KeyKind::kIdentity, std::nullopt).status().code() ==
        Status::Code::kNotFound);
  CHECK(InspectKeyFile(dir.File("nope.key")).status().code() == Status::Code::kNotFound);
}

TEST_CASE("A truncated key file is Corruption at every length", "[keyfile][error]") {
  SigningKey key = NewKey();
  for (const KeyFileWriteOptions& options : {Plain(), Encrypted()}) {
    Bytes file = Encode(KeyKind::kIdentity, key, options);
    for (size_t len = 0; len < file.size(); ++len) {
      INFO("encrypted " << options.passphrase.has_value() << " length " << len);
      CHECK(DecodeKeyFile(ByteView(file.data(), len), KeyKind::kIdentity, kPassphrase)
                .status()
                .code() == Status::Code::kCorruption);
    }
  }
}

TEST_CASE("A truncated file on disk is Corruption", "[keyfile][error]") {
  TempDir dir;
  const std::string path = dir.File("identity.key");
  Bytes file = Encode(KeyKind::kIdentity, NewKey(), Plain());
  WriteRaw(path, ByteView(file.data(), file.size() - 5));
  CHECK(ReadKeyFile(path, KeyKind::kIdentity, std::nullopt).status().code() ==
        Status::Code::kCorruption);
  WriteRaw(path, {});
  CHECK(ReadKeyFile(path, KeyKind::kIdentity, std::nullopt).status().code() ==
        Status::Code::kCorruption);
}

TEST_CASE("Garbage and oversized key files are Corruption", "[keyfile][error]") {
  TempDir dir;
  const std::string path = dir.File("identity.key");
  WriteRaw(path, AsBytes("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
  CHECK(ReadKeyFile(path, KeyKind::kIdentity, std::nullopt).status().code() ==
        Status::Code::kCorruption);
  Bytes big(kMaxKeyFileBytes + 1, 0);
  WriteRaw(path, big);
  CHECK(ReadKeyFile(path, KeyKind::kIdentity, std::nullopt).status().code() ==
        Status::Code::kCorruption);
}

TEST_CASE("A swapped public key in a plain file is detected", "[keyfile][error]") {
  SigningKey key = NewKey();
  SigningKey other = NewKey();
  proto::KeyFile file = ParseProto(Encode(KeyKind::kIdentity, key, Plain()));
  file.set_public_key(other.public_key().data(), other.public_key().size());
  Result<SigningKey> loaded = DecodeKeyFile(SerializeProto(file), KeyKind::kIdentity, std::nullopt);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kCorruption);
  CHECK(std::string(loaded.status().message()).find("does not match") != std::string::npos);
}

TEST_CASE("A swapped public key in an encrypted file is detected", "[keyfile][error]") {
  TempDir dir;
  const std::string path = dir.File("identity.key");
  SigningKey key = NewKey();
  SigningKey other = NewKey();
  proto::KeyFile file = ParseProto(Encode(KeyKind::kIdentity, key, Encrypted()));
  file.set_public_key(other.public_key().data(), other.public_key().size());
  WriteRaw(path, SerializeProto(file));
  Result<SigningKey> loaded = ReadKeyFile(path, KeyKind::kIdentity, kPassphrase);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kCorruption);
  CHECK(std::string(loaded.status().message()).find("altered") != std::string::npos);
}

TEST_CASE("A relabelled kind in an encrypted file is detected", "[keyfile][error]") {
  SigningKey key = NewKey();
  proto::KeyFile file = ParseProto(Encode(KeyKind::kIdentity, key, Encrypted()));
  file.set_kind("org");
  CHECK(DecodeKeyFile(SerializeProto(file), KeyKind::kOrg, kPassphrase).status().code() ==
        Status::Code::kCorruption);
}

TEST_CASE("A key file of the other kind is refused", "[keyfile][error]") {
  SigningKey key = NewKey();
  Bytes org = Encode(KeyKind::kOrg, key, Plain());
  Result<SigningKey> loaded = DecodeKeyFile(org, KeyKind::kIdentity, std::nullopt);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("A flipped byte in the sealed secret reads as a wrong passphrase", "[keyfile][error]") {
  SigningKey key = NewKey();
  const proto::KeyFile sealed = ParseProto(Encode(KeyKind::kIdentity, key, Encrypted()));
  struct Case {
    const char* name;
    void (*spoil)(proto::KeyFile&);
  };
  const Case cases[] = {
      {"ciphertext", [](auto& f) { (*f.mutable_encrypted()->mutable_ciphertext())[3] ^= 1; }},
      {"nonce", [](auto& f) { (*f.mutable_encrypted()->mutable_nonce())[0] ^= 1; }},
      {"salt", [](auto& f) { (*f.mutable_encrypted()->mutable_salt())[0] ^= 1; }},
      {"opslimit",
       [](auto& f) { f.mutable_encrypted()->set_opslimit(f.encrypted().opslimit() + 1); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    proto::KeyFile file = sealed;
    c.spoil(file);
    CHECK(DecodeKeyFile(SerializeProto(file), KeyKind::kIdentity, kPassphrase).status().code() ==
          Status::Code::kAuthFailed);
  }
}

TEST_CASE("Malformed fields in a key file are Corruption", "[keyfile][error]") {
  SigningKey key = NewKey();
  const proto::KeyFile plain = ParseProto(Encode(KeyKind::kIdentity, key, Plain()));
  const proto::KeyFile enc = ParseProto(Encode(KeyKind::kIdentity, key, Encrypted()));
  struct Case {
    const char* name;
    const proto::KeyFile& base;
    void (*spoil)(proto::KeyFile&);
  };
  const Case cases[] = {
      {"unknown version", plain, [](auto& f) { f.set_version(2); }},
      {"unknown kind", plain, [](auto& f) { f.set_kind("satellite"); }},
      {"short public key", plain, [](auto& f) { f.mutable_public_key()->pop_back(); }},
      {"short seed", plain, [](auto& f) { f.mutable_plain_seed()->pop_back(); }},
      {"no secret at all", plain, [](auto& f) { f.clear_plain_seed(); }},
      {"unknown password hash", enc,
       [](auto& f) { f.mutable_encrypted()->set_pwhash_alg(1); }},  // Argon2i
      {"memlimit too large", enc,
       [](auto& f) { f.mutable_encrypted()->set_memlimit(kMaxPwhashMemlimitBytes * 4); }},
      {"opslimit too large", enc,
       [](auto& f) { f.mutable_encrypted()->set_opslimit(kMaxPwhashOpslimit + 1); }},
      {"opslimit zero", enc, [](auto& f) { f.mutable_encrypted()->set_opslimit(0); }},
      {"short salt", enc, [](auto& f) { f.mutable_encrypted()->mutable_salt()->pop_back(); }},
      {"short nonce", enc, [](auto& f) { f.mutable_encrypted()->mutable_nonce()->pop_back(); }},
      {"ciphertext shorter than the tag", enc,
       [](auto& f) { f.mutable_encrypted()->mutable_ciphertext()->resize(15); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    proto::KeyFile file = c.base;
    c.spoil(file);
    CHECK(DecodeKeyFile(SerializeProto(file), KeyKind::kIdentity, kPassphrase).status().code() ==
          Status::Code::kCorruption);
  }
}

TEST_CASE("Writing refuses an empty passphrase and out-of-range limits", "[keyfile][error]") {
  TempDir dir;
  SigningKey key = NewKey();
  CHECK(WriteKeyFile(dir.File("a.key"), KeyKind::kIdentity, key, Encrypted(ByteView{})).code() ==
        Status::Code::kInvalidArgument);
  KeyFileWriteOptions weak = Encrypted();
  weak.limits.memlimit_bytes = 1024;
  CHECK(WriteKeyFile(dir.File("a.key"), KeyKind::kIdentity, key, weak).code() ==
        Status::Code::kInvalidArgument);
  KeyFileWriteOptions huge = Encrypted();
  huge.limits.opslimit = kMaxPwhashOpslimit + 1;
  CHECK(WriteKeyFile(dir.File("a.key"), KeyKind::kIdentity, key, huge).code() ==
        Status::Code::kInvalidArgument);
  CHECK(dir.EntryCount() == 0);
}

TEST_CASE("Writing into a missing directory fails and leaves nothing", "[keyfile][error]") {
  TempDir dir;
  Status s =
      WriteKeyFile(dir.File("no/such/dir/identity.key"), KeyKind::kIdentity, NewKey(), Plain());
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(dir.EntryCount() == 0);
}

TEST_CASE("A directory in place of the key file is refused", "[keyfile][error]") {
  TempDir dir;
  const std::string path = dir.File("identity.key");
  REQUIRE(::mkdir(path.c_str(), 0700) == 0);
  CHECK(ReadKeyFile(path, KeyKind::kIdentity, std::nullopt).status().code() ==
        Status::Code::kPermissionDenied);
}

TEST_CASE("The default limits are libsodium's interactive ones", "[keyfile]") {
  KeyFileWriteOptions options;
  CHECK(options.limits.opslimit == PwhashLimits::Interactive().opslimit);
  CHECK(options.limits.memlimit_bytes == PwhashLimits::Interactive().memlimit_bytes);
  CHECK(PwhashLimits::Moderate().memlimit_bytes <= kMaxPwhashMemlimitBytes);
  CHECK(PwhashLimits::Moderate().opslimit <= kMaxPwhashOpslimit);
}

}  // namespace
}  // namespace confab::crypto

namespace confab::crypto {
namespace {

TEST_CASE("A tracker key file round-trips and is not taken for an identity key", "[keyfile]") {
  Result<SigningKey> key = SigningKey::Generate();
  REQUIRE(key.ok());
  KeyFileWriteOptions plain;
  Result<SecretBytes> file = EncodeKeyFile(KeyKind::kTracker, *key, plain);
  REQUIRE(file.ok());
  Result<SigningKey> back = DecodeKeyFile(file->view(), KeyKind::kTracker, std::nullopt);
  REQUIRE(back.ok());
  CHECK(back->public_key() == key->public_key());
  CHECK(DecodeKeyFile(file->view(), KeyKind::kIdentity, std::nullopt).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(KeyKindName(KeyKind::kTracker) == "tracker");
}

}  // namespace
}  // namespace confab::crypto
