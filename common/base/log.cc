#include "common/base/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

namespace confab {
namespace {

// "<N>": the syslog priority journald reads from the start of a line.
class JournalPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char* text = "<6>";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        text = "<7>";
        break;
      case spdlog::level::info:
        text = "<6>";
        break;
      case spdlog::level::warn:
        text = "<4>";
        break;
      case spdlog::level::err:
        text = "<3>";
        break;
      case spdlog::level::critical:
        text = "<2>";
        break;
      default:
        break;
    }
    dest.append(text, text + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriority>();
  }
};

}  // namespace

bool IsJournalStream(int fd, const char* journal_stream) {
  if (journal_stream == nullptr)
    return false;
  uintmax_t dev = 0, inode = 0;
  char trailing = 0;
  if (std::sscanf(journal_stream, "%ju:%ju%c", &dev, &inode, &trailing) != 2)
    return false;
  struct stat st {};
  if (fstat(fd, &st) != 0)
    return false;
  return static_cast<uintmax_t>(st.st_dev) == dev && static_cast<uintmax_t>(st.st_ino) == inode;
}

Status InitLogging(std::string_view program, std::string_view level) {
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  // from_str maps anything unknown to "off"; only accept "off" when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("unknown log level '" + std::string(level) +
                                   "' (trace, debug, info, warn, error, off)");
  }
  spdlog::drop(std::string(program));  // allow a second call (tests)
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<spdlog::pattern_formatter> formatter;
  if (IsJournalStream(STDERR_FILENO, std::getenv("JOURNAL_STREAM"))) {
    logger = spdlog::stderr_logger_mt(std::string(program));  // no colour codes
    formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JournalPriority>('*').set_pattern("%*%n: %v");
  } else {
    logger = spdlog::stderr_color_mt(std::string(program));
    formatter = std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %n: %v",
                                                            spdlog::pattern_time_type::utc);
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(parsed);
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

}  // namespace confab
