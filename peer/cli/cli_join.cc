// `confab join CODE`: creates the home and the identity key, enrols with the
// tracker named in the code, stores the certificate and the org key, and
// prints the person's fingerprint.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "common/base/bytes.h"
#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "common/crypto/key_file.h"
#include "peer/cli/cli.h"
#include "peer/cli/passphrase.h"
#include "peer/node/home.h"
#include "peer/tracker_link/join.h"

namespace confab::peer::cli {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "confab join: %s\n", message.c_str());
  return kExitFailed;
}

// Loads the identity key a failed earlier join left behind, or creates one.
Result<crypto::SigningKey> IdentityKey(const Home& home, const std::string& passphrase_file) {
  const std::string path = home.Path(kIdentityKeyFile);
  const bool terminal = isatty(STDIN_FILENO) == 1;
  std::optional<SecretBytes> passphrase;
  if (!passphrase_file.empty()) {
    CONFAB_ASSIGN_OR_RETURN(SecretBytes p, ReadPassphraseFile(passphrase_file));
    passphrase = std::move(p);
  }
  auto info = crypto::InspectKeyFile(path);
  if (info.ok()) {
    if (info->encrypted && !passphrase) {
      if (!terminal) {
        return Status::FailedPrecondition(path +
                                          " is encrypted; give its passphrase with "
                                          "--passphrase-file");
      }
      passphrase = ReadHidden("Passphrase for the identity key: ");
    }
    std::optional<ByteView> view;
    if (passphrase)
      view = passphrase->view();
    std::fprintf(stderr, "Using the existing identity key in %s\n", path.c_str());
    return crypto::ReadKeyFile(path, crypto::KeyKind::kIdentity, view);
  }
  if (info.status().code() != Status::Code::kNotFound)
    return info.status();

  if (!passphrase && terminal) {
    SecretBytes first = ReadHidden("Passphrase for the new identity key (empty for none): ");
    if (!first.empty()) {
      SecretBytes again = ReadHidden("Repeat the passphrase: ");
      if (AsChars(first.view()) != AsChars(again.view()))
        return Status::InvalidArgument("the passphrases differ");
      passphrase = std::move(first);
    }
  }
  CONFAB_ASSIGN_OR_RETURN(crypto::SigningKey key, crypto::SigningKey::Generate());
  crypto::KeyFileWriteOptions options;
  if (passphrase)
    options.passphrase = passphrase->view();
  CONFAB_RETURN_IF_ERROR(crypto::WriteKeyFile(path, crypto::KeyKind::kIdentity, key, options));
  if (passphrase) {
    std::fprintf(stderr, "Created the identity key %s (encrypted with your passphrase)\n",
                 path.c_str());
  } else {
    std::fprintf(stderr, "Created the identity key %s UNENCRYPTED (mode 0600): %s\n", path.c_str(),
                 terminal ? "no passphrase given" : "no terminal and no --passphrase-file");
  }
  return key;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0)
    return "";
  return name;
}

int RunJoin(const std::string& code, const std::string& passphrase_file) {
  auto invite = crypto::DecodeInvite(code);
  if (!invite.ok())
    return Fail(std::string(invite.status().message()));
  auto home = Home::FromEnvironment();
  if (!home.ok())
    return Fail(std::string(home.status().message()));
  if (home->enrolled()) {
    auto existing = home->LoadEnrollment();
    const std::string who = existing.ok() ? " as '" + existing->name + "'" : "";
    return Fail(home->dir() + " is already enrolled" + who +
                "; nothing was changed (use another CONFAB_HOME to join again)");
  }
  Status created = home->Create();
  if (!created.ok())
    return Fail(std::string(created.message()));
  auto key = IdentityKey(*home, passphrase_file);
  if (!key.ok())
    return Fail(std::string(key.status().message()));

  std::fprintf(stderr, "Joining '%s' as '%s' through the tracker at %s ...\n", invite->org.c_str(),
               invite->name.c_str(), invite->tracker_address.c_str());
  JoinOptions options;
  options.hostname = HostName();
  auto enrollment = Join(*invite, *key, options);
  if (!enrollment.ok())
    return Fail(std::string(enrollment.status().message()));
  Status saved = home->SaveEnrollment(*enrollment);
  if (!saved.ok())
    return Fail("enrolled, but the certificate could not be stored: " +
                std::string(saved.message()));

  std::printf("Joined '%s' as '%s'. Home: %s\n", enrollment->org.c_str(), enrollment->name.c_str(),
              home->dir().c_str());
  std::printf("Your fingerprint (compare it out of band with `confab verify`):\n%s\n",
              crypto::Fingerprint::Of(key->public_key()).ToString().c_str());
  return kExitOk;
}

}  // namespace

void RegisterJoin(CLI::App& app, Runner* runner) {
  struct Options {
    std::string code;
    std::string passphrase_file;
  };
  auto options = std::make_shared<Options>();
  CLI::App* join = app.add_subcommand("join", "Enrol this workstation with an invite code");
  join->add_option("CODE", options->code, "The invite code from your organisation's ops")
      ->required();
  join->add_option("--passphrase-file", options->passphrase_file,
                   "Read the identity key's passphrase from FILE (for scripts)");
  join->callback([options, runner] {
    *runner = [options] { return RunJoin(options->code, options->passphrase_file); };
  });
}

}  // namespace confab::peer::cli
