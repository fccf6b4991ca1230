// confab-tracker: the organisation's directory and presence daemon.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "common/base/version.h"

int main(int argc, char** argv) {
  CLI::App app{"confab-tracker: directory, presence and rendezvous for one organisation",
               "confab-tracker"};
  app.set_version_flag("--version", std::string("confab-tracker ") + confab::kVersion);
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
  }
  return 0;
}
