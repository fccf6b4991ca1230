// Home: the workstation's directory, $CONFAB_HOME (default ~/.confab), as
// DESIGN.md (On disk) lays it out. This module owns the enrolment files:
//   identity.key     the member's Ed25519 key (crypto/key_file.h, mode 0600)
//   certificate.pb   the org-signed certificate, a serialized proto::Certificate
//   org.pub          the org's Ed25519 public key, hex, one line
//   enrollment.toml  name, org, tracker.address, tracker.static_key (hex);
//                    written last, so its presence means "enrolled"
// Other modules (config.toml, confab.db, node.sock, ...) add their own files.
//
// Values only; the usual file-system races apply between processes.
#pragma once

#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/base/status.h"
#include "peer/tracker_link/join.h"

namespace confab::peer {

inline constexpr std::string_view kIdentityKeyFile = "identity.key";
inline constexpr std::string_view kCertificateFile = "certificate.pb";
inline constexpr std::string_view kOrgPublicKeyFile = "org.pub";
inline constexpr std::string_view kEnrollmentFile = "enrollment.toml";

class Home {
 public:
  // $CONFAB_HOME when set and not empty, else $HOME/.confab.
  // InvalidArgument when neither variable is set.
  [[nodiscard]] static Result<Home> FromEnvironment();
  explicit Home(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string Path(std::string_view file) const { return dir_ + "/" + std::string(file); }

  // Creates the directory with mode 0700 (its parent must exist) or accepts
  // an existing one. IoError naming the path when that fails or it is not a
  // directory.
  [[nodiscard]] Status Create() const;

  // enrollment.toml exists.
  bool enrolled() const;

  // Writes certificate.pb, org.pub, then enrollment.toml, each atomically
  // with mode 0600. FailedPrecondition if already enrolled; IoError.
  [[nodiscard]] Status SaveEnrollment(const Enrollment& enrollment) const;

  // Reads the enrolment back and checks the certificate again against the
  // stored org key (at `now_unix`, 0 = the clock). NotFound "not enrolled"
  // with the command to run; Corruption or InvalidArgument naming the file
  // at fault; VerifyCertificate's errors for a certificate that no longer
  // checks out (FailedPrecondition when it expired).
  [[nodiscard]] Result<Enrollment> LoadEnrollment(int64_t now_unix = 0) const;

 private:
  std::string dir_;
};

}  // namespace confab::peer
