// confab: the workstation's node and the command line that talks to it.
// Each subcommand lives in its own file (peer/cli_*.cc) and registers itself
// here; see peer/cli.h for the exit codes. With no subcommand, on a terminal,
// it opens the interactive console (peer/console.h); otherwise it prints usage.
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/base/similar_names.h"
#include "common/base/version.h"
#include "common/crypto/sodium.h"
#include "peer/cli/cli.h"

namespace {

// "confab stauts": name the nearest subcommand instead of CLI11's "The
// following arguments were not expected". Returns false after printing when
// argv[1] is not a subcommand (the top level takes no positionals).
bool KnownSubcommand(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-')
    return true;
  std::vector<std::string> names;
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  const std::optional<std::string> error = confab::UnknownCommand("confab", argv[1], names);
  if (error)
    std::fprintf(stderr, "%s\n", error->c_str());
  return !error;
}

}  // namespace

int main(int argc, char** argv) {
  using confab::peer::cli::kExitFailed;
  using confab::peer::cli::kExitUsage;

  CLI::App app{"confab: end-to-end encrypted messaging inside your organisation", "confab"};
  app.set_version_flag("--version", std::string("confab ") + confab::kVersion);
  app.require_subcommand(0, 1);
  app.footer("With no subcommand on a terminal: the interactive console for the running node.");

  confab::peer::cli::Runner runner;
  confab::peer::cli::RegisterJoin(app, &runner);
  confab::peer::cli::RegisterUp(app, &runner);
  confab::peer::cli::RegisterControl(app, &runner);
  confab::peer::cli::RegisterContacts(app, &runner);
  confab::peer::cli::RegisterTransfer(app, &runner);
  confab::peer::cli::RegisterOutbox(app, &runner);
  confab::peer::cli::RegisterGroups(app, &runner);

  if (!KnownSubcommand(app, argc, argv))
    return kExitUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }
  if (!runner) {
    if (isatty(STDIN_FILENO) != 1) {  // a script: usage, as before the console
      std::fputs(app.help().c_str(), stdout);
      return 0;
    }
    runner = confab::peer::cli::RunConsole;
  }
  if (!confab::crypto::InitSodium().ok()) {
    std::fprintf(stderr, "confab: libsodium failed to start\n");
    return kExitFailed;
  }
  return runner();
}
