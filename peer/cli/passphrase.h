// Reading the identity key's passphrase, for `confab join` and `confab up`.
#pragma once

#include <string>

#include "common/base/bytes.h"
#include "common/base/result.h"

namespace confab::peer::cli {

// One line from the terminal on stdin with echo off, after `prompt` on
// stderr. Empty on EOF.
SecretBytes ReadHidden(const char* prompt);

// The first line of `path` (trailing newlines dropped). IoError if it cannot
// be read; InvalidArgument if it is empty.
[[nodiscard]] Result<SecretBytes> ReadPassphraseFile(const std::string& path);

}  // namespace confab::peer::cli
