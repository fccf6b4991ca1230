// Ids given by their first digits, as git takes a commit: `confab accept
// 3f9a` for a transfer whose id starts with 3f9a.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace confab::peer {

// The index in `ids` (lower-case hex, each `full_digits` long) of the one
// id that starts with `prefix` (4 to `full_digits` hex digits, either case).
//   InvalidArgument  a prefix too short, too long or not hex; or one that
//                    starts several ids, which the message lists (the first
//                    8, then how many more) so the caller can pick one
//   NotFound         no id starts with it
// `what` names the ids in messages ("transfer"); `listing` is the command
// that shows them ("confab transfers").
[[nodiscard]] Result<size_t> MatchIdPrefix(std::string_view prefix,
                                           const std::vector<std::string>& ids, size_t full_digits,
                                           std::string_view what, std::string_view listing);

}  // namespace confab::peer
