// confab: the workstation's node and the command line that talks to it.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "common/base/version.h"

int main(int argc, char** argv) {
  CLI::App app{"confab: end-to-end encrypted messaging inside your organisation", "confab"};
  app.set_version_flag("--version", std::string("confab ") + confab::kVersion);
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
  }
  return 0;
}
