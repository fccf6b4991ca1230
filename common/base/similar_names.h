// SimilarNames: the "did you mean" behind a mistyped member name or
// subcommand. A person who types `bbo` for `bob` should be told, not left
// with a message queued for nobody.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace confab {

// The optimal string alignment distance between `a` and `b`: insertions,
// deletions, substitutions and swaps of two adjacent characters, each 1.
// Bytes, not code points (member names and commands are ASCII).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidates closest to `word`, at most `max_results` of them, nearest
// first (ties in the candidates' order), among those within a distance a
// typo explains: 1 for words of up to 4 bytes, 2 beyond. `word` itself and
// repeats are left out.
std::vector<std::string> SimilarNames(std::string_view word,
                                      std::span<const std::string> candidates,
                                      size_t max_results = 3);

// The one candidate nearest to `typed`, or "" when none is within
// max(2, typed.size() / 3) edits: did-you-mean for a mistyped subcommand.
// Ties go to a candidate that begins with `typed` ("invit": "invite", not
// "init"), then to the earlier one.
std::string ClosestName(std::string_view typed, std::span<const std::string> candidates);

// For a command line whose first word `typed` is none of `commands`: the
// error to print, "PROGRAM: unknown command 'usres'; did you mean 'users'?"
// and how to list them. nullopt when `typed` is one of `commands`.
std::optional<std::string> UnknownCommand(std::string_view program, std::string_view typed,
                                          std::span<const std::string> commands);

// "" when `suggestions` is empty; otherwise " (did you mean bob?)" or
// " (did you mean bob or rob?)", ready to append to an error sentence.
std::string DidYouMean(std::span<const std::string> suggestions);

}  // namespace confab
