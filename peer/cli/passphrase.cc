#include "peer/cli/passphrase.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace confab::peer::cli {

SecretBytes ReadHidden(const char* prompt) {
  termios old_mode{};
  const bool have_mode = tcgetattr(STDIN_FILENO, &old_mode) == 0;
  if (have_mode) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  // The prompt comes after the flush, so nothing typed after it is lost.
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  std::string line;
  std::getline(std::cin, line);
  if (have_mode)
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
  std::fputs("\n", stderr);
  SecretBytes secret(AsBytes(line));
  SecureWipe(line.data(), line.size());
  return secret;
}

Result<SecretBytes> ReadPassphraseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::IoError("cannot read the passphrase file " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (text.empty())
    return Status::InvalidArgument("the passphrase file " + path + " is empty");
  SecretBytes secret(AsBytes(text));
  SecureWipe(text.data(), text.size());
  return secret;
}

}  // namespace confab::peer::cli
