// The console's line history file ($CONFAB_HOME/console_history, mode
// 0600): the lines kept across sessions, never message text (which lines
// may be kept is console_text.h PersistableLine; the caller decides).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace confab::peer::console {

// The non-empty lines of `path` (none if it cannot be read), the last
// `max_lines` of them; a longer file is rewritten to just those.
std::vector<std::string> LoadHistoryFile(const std::string& path, size_t max_lines);

// Appends `line` and a newline to `path`, creating it 0600 (and making an
// older, more open file 0600). Failures are ignored: history is a comfort.
void AppendHistoryLine(const std::string& path, const std::string& line);

}  // namespace confab::peer::console
