// Logging goes through spdlog. Each process calls InitLogging once in main();
// everything else uses spdlog's free functions (spdlog::info, spdlog::warn...).
// Logs go to stderr so that stdout stays for a command's answer.
//
// Two formats, chosen by where stderr goes:
//   - the journal (systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream
//     it gave us; it counts only if stderr is that stream): one line per
//     record, "<N>name: message" with N the syslog priority (7 debug and
//     trace, 6 info, 4 warn, 3 error, 2 critical) and no timestamp, since
//     journald stamps every line itself (sd-daemon(3));
//   - anything else: "2026-12-03T07:20:43.123Z info  name: message", UTC.
#pragma once

#include <cstdlib>
#include <string_view>

#include "common/base/status.h"

namespace confab {

// `level` is one of trace, debug, info, warn, error, off. Unknown names are
// an InvalidArgument and leave the level unchanged.
Status InitLogging(std::string_view program, std::string_view level);

// Whether `fd` is the stream JOURNAL_STREAM (`journal_stream`, as in the
// environment; null or malformed: no) names, by device and inode.
bool IsJournalStream(int fd, const char* journal_stream);

}  // namespace confab
