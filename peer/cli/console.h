// The interactive console: `confab` with no arguments on a terminal.
//
// It talks to the running node (`confab up`) over node.sock like every other
// command: one event subscription (SubscribeEvents) that stays open and
// shows messages, state changes (queued/sent/delivered), presence changes
// and key changes as they arrive (a new subscription when the node comes
// back after stopping), and one short blocking request per typed
// command (CallNode; the node answers in milliseconds).
//
// Terminal: GNU readline's callback interface on the console's libuv loop.
// The loop polls stdin (net::FdPoller) and hands each readable moment to
// rl_callback_read_char; readline does the line editing, history and
// redisplay. Output that arrives while a line is being typed saves and
// clears the prompt line, prints, then restores the line and the cursor,
// so nothing typed is lost or garbled. Ctrl-C, Ctrl-D, /quit, SIGTERM and
// SIGHUP leave cleanly with the terminal restored.
//
// Colour (console_text.h Paint) only when stdout is a terminal and NO_COLOR
// is unset or empty (no-color.org) and TERM is not "dumb". The bell rings
// on an incoming message (not our own) unless config.toml says
// [console] bell = false, and only on a terminal.
//
// Line history lives in $CONFAB_HOME/console_history (mode 0600), without
// message text (see console_text.h PersistableLine).
//
// Readline is process-global state: at most one Console per process.
#pragma once

#include <string>

namespace confab::peer::console {

inline constexpr const char* kHistoryFile = "console_history";
inline constexpr size_t kMaxHistoryLines = 1000;

struct ConsoleParams {
  std::string home_dir;     // $CONFAB_HOME, for messages
  std::string socket_path;  // node.sock
  std::string history_path;
  std::string self;  // our member name; "" when unknown
  bool bell = true;  // config.toml [console] bell: ring on a new incoming message
};

// Runs the console on this process's terminal until the person leaves.
// When the node stops under it, it says so and waits for it (node.sock
// tried again at 250 ms, doubling to 5 s) instead of leaving. Returns the
// exit code (peer/cli.h): 0 when the person left, 3 when no node runs at
// the start (stderr says how to start one), 1 on other failures.
int Run(const ConsoleParams& params);

}  // namespace confab::peer::console
