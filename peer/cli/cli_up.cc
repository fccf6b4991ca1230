// `confab up [--listen HOST:PORT]`: runs the node in the foreground until
// SIGINT or SIGTERM (see peer/node.h), with the settings of
// $CONFAB_HOME/config.toml (peer/node_config.h). Everything it says goes
// through the logger (common/base/log.h), so under systemd every line carries
// a journald priority: failures at error, the rest at info. On start it logs
// one line that scripts can wait for (at --log-level info or lower; services
// wait for sd_notify's READY=1 instead):
//   confab: node up as NAME; peers on HOST:PORT; control socket PATH
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include "common/base/log.h"
#include "common/base/service_notify.h"
#include "common/crypto/key_file.h"
#include "common/net/loop.h"
#include "peer/cli/cli.h"
#include "peer/cli/passphrase.h"
#include "peer/node/home.h"
#include "peer/node/node.h"
#include "peer/node/node_config.h"

namespace confab::peer::cli {
namespace {

int Fail(const std::string& message) {
  spdlog::error("{}", message);
  return kExitFailed;
}

Result<crypto::SigningKey> LoadIdentity(const Home& home, const std::string& passphrase_file) {
  const std::string path = home.Path(kIdentityKeyFile);
  CONFAB_ASSIGN_OR_RETURN(crypto::KeyFileInfo info, crypto::InspectKeyFile(path));
  std::optional<SecretBytes> passphrase;
  if (info.encrypted) {
    if (!passphrase_file.empty()) {
      CONFAB_ASSIGN_OR_RETURN(SecretBytes p, ReadPassphraseFile(passphrase_file));
      passphrase = std::move(p);
    } else if (isatty(STDIN_FILENO) == 1) {
      passphrase = ReadHidden("Passphrase for the identity key: ");
    } else {
      return Status::FailedPrecondition(path +
                                        " is encrypted; give its passphrase with "
                                        "--passphrase-file");
    }
  }
  std::optional<ByteView> view;
  if (passphrase)
    view = passphrase->view();
  return crypto::ReadKeyFile(path, crypto::KeyKind::kIdentity, view);
}

int RunUp(const std::string& listen, const std::string& passphrase_file,
          const std::string& log_level) {
  (void)InitLogging("confab", log_level);
  auto home = Home::FromEnvironment();
  if (!home.ok())
    return Fail(std::string(home.status().message()));
  if (!home->enrolled())
    return Fail(home->dir() + " is not enrolled; run `confab join CODE` first");
  auto config = LoadNodeConfig(home->Path(kConfigFile));
  if (!config.ok())
    return Fail(std::string(config.status().message()));
  auto identity = LoadIdentity(*home, passphrase_file);
  if (!identity.ok())
    return Fail(std::string(identity.status().message()));
  // libuv writes to sockets with write(2), not send(MSG_NOSIGNAL): without
  // this, a peer that dies while we write to it (a kill -9 mid-stream)
  // kills the node with SIGPIPE instead of closing that one connection.
  ::signal(SIGPIPE, SIG_IGN);
  auto loop = net::Loop::Create();
  if (!loop.ok())
    return Fail(std::string(loop.status().message()));

  NodeOptions options;
  options.listen = listen;
  options.retain_days = config->retain_days;
  options.paths = *ParsePathPolicy(config->path);  // checked by LoadNodeConfig
  options.udp_head_start_ms = static_cast<uint64_t>(config->udp_head_start_ms);
  options.relay_after_ms = static_cast<uint64_t>(config->relay_after_ms);
  options.direct_retry_s = static_cast<uint64_t>(config->direct_retry_s);
  options.presence_grace_ms = static_cast<uint64_t>(config->presence_grace_ms);
  int code = kExitOk;
  {
    auto node = Node::Create(**loop, *home, *identity, options);
    if (!node.ok()) {
      code = Fail(std::string(node.status().message()));
    } else {
      spdlog::info("node up as {}; peers on {}; control socket {}", (*node)->name(),
                   (*node)->peer_address().ToString(), (*node)->control_path());
      spdlog::default_logger()->flush();
      NotifyReady("node up as " + (*node)->name());  // STOPPING=1: Node's signal hook
      Status ran = (*loop)->Run();
      (*node)->Shutdown();
      if (!ran.ok())
        code = Fail(std::string(ran.message()));
    }
    // Handles still open close with their owners alive.
    (void)(*loop)->Close();
  }
  if (Status closed = (*loop)->Close(); !closed.ok())
    return Fail("shutdown left handles open: " + std::string(closed.message()));
  if (code == kExitOk)
    spdlog::info("node stopped");
  return code;
}

}  // namespace

void RegisterUp(CLI::App& app, Runner* runner) {
  struct Options {
    std::string listen = "0.0.0.0:" + std::to_string(kDefaultPeerPort);
    std::string passphrase_file;
    std::string log_level = "info";
  };
  auto options = std::make_shared<Options>();
  CLI::App* up = app.add_subcommand("up", "Run the node in the foreground");
  up->add_option("--listen", options->listen, "HOST:PORT for peers (default 0.0.0.0:7651)");
  up->add_option("--passphrase-file", options->passphrase_file,
                 "Read the identity key's passphrase from FILE (for scripts)");
  up->add_option("--log-level", options->log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  up->callback([options, runner] {
    *runner = [options] {
      return RunUp(options->listen, options->passphrase_file, options->log_level);
    };
  });
}

}  // namespace confab::peer::cli
