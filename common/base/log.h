// Logging goes through spdlog. Each process calls InitLogging once in main();
// everything else uses spdlog's free functions (spdlog::info, spdlog::warn...).
// Logs go to stderr so that stdout stays for a command's answer.
#pragma once

#include <string_view>

#include "common/base/status.h"

namespace confab {

// `level` is one of trace, debug, info, warn, error, off. Unknown names are
// an InvalidArgument and leave the level unchanged.
Status InitLogging(std::string_view program, std::string_view level);

}  // namespace confab
