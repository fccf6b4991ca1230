// Did-you-mean for command lines: the closest of a set of names to what the
// user typed, by edit distance (insertions, deletions, substitutions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace confab {

// The Levenshtein distance between a and b.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `typed`, or "" when none is within
// max(2, typed.size() / 3) edits (too far off to be a typo). Ties go to a
// candidate that begins with `typed`, then to the earlier candidate.
std::string ClosestName(std::string_view typed, const std::vector<std::string>& candidates);

}  // namespace confab
