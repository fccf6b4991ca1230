#include "common/datagram/range_set.h"

#include <iterator>

namespace confab::datagram {

void RangeSet::Add(uint64_t begin, uint64_t end) {
  if (begin >= end)
    return;
  // The first interval that could touch [begin, end): the one before the
  // first interval starting after `begin`, if it reaches `begin`.
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= begin)
      it = prev;
  }
  while (it != ranges_.end() && it->first <= end) {
    begin = std::min(begin, it->first);
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(begin, end);
}

void RangeSet::Remove(uint64_t begin, uint64_t end) {
  if (begin >= end)
    return;
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin())
    it = std::prev(it);
  while (it != ranges_.end() && it->first < end) {
    const uint64_t b = it->first;
    const uint64_t e = it->second;
    if (e <= begin) {
      ++it;
      continue;
    }
    it = ranges_.erase(it);
    if (b < begin)
      ranges_.emplace(b, begin);
    if (e > end) {
      ranges_.emplace(end, e);
      break;
    }
  }
}

bool RangeSet::Contains(uint64_t value) const {
  auto it = ranges_.upper_bound(value);
  if (it == ranges_.begin())
    return false;
  return std::prev(it)->second > value;
}

std::optional<Range> RangeSet::First() const {
  if (ranges_.empty())
    return std::nullopt;
  return Range{ranges_.begin()->first, ranges_.begin()->second};
}

std::optional<Range> RangeSet::Last() const {
  if (ranges_.empty())
    return std::nullopt;
  return Range{ranges_.rbegin()->first, ranges_.rbegin()->second};
}

uint64_t RangeSet::ContiguousEnd(uint64_t value) const {
  auto it = ranges_.upper_bound(value);
  if (it == ranges_.begin())
    return value;
  --it;
  return it->second > value ? it->second : value;
}

void RangeSet::KeepHighest(size_t max_ranges) {
  while (ranges_.size() > max_ranges)
    ranges_.erase(ranges_.begin());
}

}  // namespace confab::datagram
