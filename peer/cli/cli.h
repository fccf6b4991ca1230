// The confab command line: one file per subcommand (cli_join.cc, ...), each
// registering itself on the CLI11 app that main() builds.
//
// Exit codes (DESIGN.md: scripts rely on them):
//   0  ok
//   1  refused or failed; stderr says why
//   2  usage (CLI11 prints what was wrong)
//   3  no node is running (commands that talk to `confab up` over node.sock);
//      stderr says how to start one
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace confab::peer::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNoNode = 3;

// What runs once parsing chose a subcommand; returns the exit code.
using Runner = std::function<int()>;

// Each Register* adds one subcommand to `app`. When the user picks it,
// `*runner` is set (from CLI11's callback) to the function that does the
// work; the options it needs live in that function's captures.
void RegisterJoin(CLI::App& app, Runner* runner);
void RegisterUp(CLI::App& app, Runner* runner);        // cli_up.cc
void RegisterControl(CLI::App& app, Runner* runner);   // cli_control.cc: msg, history, who, status
void RegisterContacts(CLI::App& app, Runner* runner);  // cli_contacts.cc: contacts, verify, export
void RegisterTransfer(CLI::App& app, Runner* runner);  // cli_transfer.cc: send, transfers, ...
void RegisterOutbox(CLI::App& app, Runner* runner);    // cli_outbox.cc: outbox [drop ID]
void RegisterGroups(CLI::App& app, Runner* runner);    // cli_groups.cc: group ..., groups

// `confab` alone on a terminal: the interactive console (cli_console.cc).
int RunConsole();

}  // namespace confab::peer::cli
