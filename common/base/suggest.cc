#include "common/base/suggest.h"

#include <algorithm>

namespace confab {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string ClosestName(std::string_view typed, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(2, typed.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const size_t d = EditDistance(typed, candidate);
    // On a tie, a candidate the typed word begins ("invit": "invite", not
    // "init") is the likelier intent.
    const bool prefix = candidate.compare(0, typed.size(), typed) == 0;
    const bool best_prefix = !best.empty() && best.compare(0, typed.size(), typed) == 0;
    if (d < best_distance || (d == best_distance && prefix && !best_prefix)) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace confab
