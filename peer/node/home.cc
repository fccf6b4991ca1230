#include "peer/node/home.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/base/wall_clock.h"
#include "common/config/config.h"
#include "proto/identity.pb.h"

namespace confab::peer {
namespace {

constexpr std::string_view kEnrollmentKeys[] = {"name", "org", "tracker.address",
                                                "tracker.static_key"};
constexpr size_t kMaxSmallFileBytes = 64 * 1024;

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT)
      return Status::NotFound(path + " is missing");
    return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > kMaxSmallFileBytes)
    return Status::Corruption(path + " is too large");
  return text;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

}  // namespace

Result<Home> Home::FromEnvironment() {
  const char* home = std::getenv("CONFAB_HOME");
  if (home != nullptr && *home != '\0')
    return Home(home);
  const char* user_home = std::getenv("HOME");
  if (user_home == nullptr || *user_home == '\0')
    return Status::InvalidArgument("neither CONFAB_HOME nor HOME is set");
  return Home(std::string(user_home) + "/.confab");
}

Status Home::Create() const {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IoError("cannot create " + dir_ + ": " + std::strerror(errno));
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::IoError(dir_ + " is not a directory");
  return Status::Ok();
}

bool Home::enrolled() const {
  struct stat st {};
  return ::stat(Path(kEnrollmentFile).c_str(), &st) == 0;
}

Status Home::SaveEnrollment(const Enrollment& e) const {
  if (enrolled())
    return Status::FailedPrecondition(dir_ + " is already enrolled");
  CONFAB_RETURN_IF_ERROR(
      config::WriteFileAtomically(Path(kCertificateFile), AsChars(e.certificate), 0600));
  CONFAB_RETURN_IF_ERROR(
      config::WriteFileAtomically(Path(kOrgPublicKeyFile), ToHex(e.org_public_key) + "\n", 0600));
  config::Writer writer;
  writer.SetString("name", e.name).SetString("org", e.org);
  writer.SetString("tracker.address", e.tracker_address);
  writer.SetString("tracker.static_key", ToHex(e.tracker_static_key));
  CONFAB_ASSIGN_OR_RETURN(std::string text,
                          writer.Render("confab enrolment, written by `confab join`. The "
                                        "certificate is in certificate.pb, the org key in "
                                        "org.pub."));
  return config::WriteFileAtomically(Path(kEnrollmentFile), text, 0600);
}

Result<Enrollment> Home::LoadEnrollment(int64_t now_unix) const {
  if (!enrolled()) {
    return Status::NotFound(dir_ + " is not enrolled; join first with: confab join CODE");
  }
  CONFAB_ASSIGN_OR_RETURN(config::Config cfg,
                          config::Config::Load(Path(kEnrollmentFile), kEnrollmentKeys));
  Enrollment e;
  CONFAB_ASSIGN_OR_RETURN(e.name, cfg.GetString("name", ""));
  CONFAB_ASSIGN_OR_RETURN(e.org, cfg.GetString("org", ""));
  CONFAB_ASSIGN_OR_RETURN(e.tracker_address, cfg.GetString("tracker.address", ""));
  CONFAB_ASSIGN_OR_RETURN(std::string static_hex, cfg.GetString("tracker.static_key", ""));
  auto static_key = FromHex(static_hex);
  if (e.name.empty() || e.tracker_address.empty() || !static_key.ok() ||
      static_key->size() != e.tracker_static_key.size()) {
    return Status::Corruption(Path(kEnrollmentFile) +
                              ": name, tracker.address or tracker.static_key is missing or bad");
  }
  std::copy(static_key->begin(), static_key->end(), e.tracker_static_key.begin());

  CONFAB_ASSIGN_OR_RETURN(std::string org_hex, ReadSmallFile(Path(kOrgPublicKeyFile)));
  auto org_bytes = FromHex(Trim(org_hex));
  if (!org_bytes.ok())
    return Status::Corruption(Path(kOrgPublicKeyFile) + " is not a hex key");
  auto org_key = crypto::Ed25519PublicKeyFromBytes(*org_bytes);
  if (!org_key.ok())
    return Status::Corruption(Path(kOrgPublicKeyFile) + " is not a 32-byte key");
  e.org_public_key = *org_key;

  CONFAB_ASSIGN_OR_RETURN(std::string cert, ReadSmallFile(Path(kCertificateFile)));
  e.certificate = ToBytes(AsBytes(cert));
  const int64_t now = now_unix != 0 ? now_unix : NowUnix();
  auto checked = crypto::VerifyCertificate(e.certificate, e.org_public_key, now, e.name);
  if (!checked.ok())
    return checked.status().WithContext(Path(kCertificateFile));
  e.checked = std::move(*checked);
  return e;
}

}  // namespace confab::peer
