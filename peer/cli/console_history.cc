#include "peer/cli/console_history.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace confab::peer::console {
namespace {

void RewriteHistory(const std::string& path, const std::vector<std::string>& lines) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  std::string all;
  for (const std::string& line : lines)
    all += line + "\n";
  (void)!write(fd, all.data(), all.size());
  (void)fchmod(fd, 0600);
  close(fd);
}

}  // namespace

std::vector<std::string> LoadHistoryFile(const std::string& path, size_t max_lines) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty())
      lines.push_back(line);
  }
  in.close();
  if (lines.size() > max_lines) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(max_lines));
    RewriteHistory(path, lines);
  }
  return lines;
}

void AppendHistoryLine(const std::string& path, const std::string& line) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  (void)fchmod(fd, 0600);  // also when an older file was more open
  const std::string entry = line + "\n";
  (void)!write(fd, entry.data(), entry.size());
  close(fd);
}

}  // namespace confab::peer::console
