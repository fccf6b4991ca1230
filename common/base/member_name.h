// Member names: the one rule the tracker's directory, certificates' holders
// and every node's contact list share. Names appear in certificates, logs,
// file paths and shell commands, so they are kept dull.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/base/status.h"

namespace confab {

inline constexpr size_t kMaxMemberNameBytes = 64;

// OK for 1 to kMaxMemberNameBytes of [a-z0-9._-] starting with a letter or
// digit; InvalidArgument saying what is wrong otherwise.
[[nodiscard]] Status ValidateMemberName(std::string_view name);

}  // namespace confab
