#include "common/base/similar_names.h"

#include <algorithm>
#include <numeric>

namespace confab {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic programme: the swap looks two rows back.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  std::iota(previous.begin(), previous.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::vector<std::string> SimilarNames(std::string_view word,
                                      std::span<const std::string> candidates, size_t max_results) {
  const size_t allowed = word.size() <= 4 ? 1 : 2;
  std::vector<std::pair<size_t, std::string>> near;  // stable_sort keeps ties in order
  for (const std::string& candidate : candidates) {
    if (candidate == word)
      continue;
    if (std::any_of(near.begin(), near.end(), [&](const auto& n) { return n.second == candidate; }))
      continue;
    const size_t distance = EditDistance(word, candidate);
    if (distance <= allowed)
      near.emplace_back(distance, candidate);
  }
  std::stable_sort(near.begin(), near.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> names;
  for (size_t i = 0; i < near.size() && i < max_results; ++i)
    names.push_back(std::move(near[i].second));
  return names;
}

std::string ClosestName(std::string_view typed, std::span<const std::string> candidates) {
  const size_t limit = std::max<size_t>(2, typed.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const size_t d = EditDistance(typed, candidate);
    const bool prefix = candidate.compare(0, typed.size(), typed) == 0;
    const bool best_prefix = !best.empty() && best.compare(0, typed.size(), typed) == 0;
    if (d < best_distance || (d == best_distance && prefix && !best_prefix)) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::optional<std::string> UnknownCommand(std::string_view program, std::string_view typed,
                                          std::span<const std::string> commands) {
  if (std::find(commands.begin(), commands.end(), typed) != commands.end())
    return std::nullopt;
  const std::string near = ClosestName(typed, commands);
  std::string error = std::string(program) + ": unknown command '" + std::string(typed) + "'";
  if (!near.empty())
    error += "; did you mean '" + near + "'?";
  return error + "\nRun '" + std::string(program) + " --help' for the list.";
}

std::string DidYouMean(std::span<const std::string> suggestions) {
  if (suggestions.empty())
    return "";
  std::string text = " (did you mean ";
  for (size_t i = 0; i < suggestions.size(); ++i) {
    if (i > 0)
      text += i + 1 == suggestions.size() ? " or " : ", ";
    text += suggestions[i];
  }
  return text + "?)";
}

}  // namespace confab
