// RangeSet: a set of uint64_t values kept as disjoint half-open intervals
// [begin, end). Used for packet numbers received (to build ACK frames) and
// for stream byte ranges acknowledged or waiting for retransmission.
// Sans-I/O; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

namespace confab::datagram {

struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;  // exclusive
  uint64_t size() const { return end - begin; }
  bool operator==(const Range&) const = default;
};

class RangeSet {
 public:
  // Adds [begin, end), merging with neighbours. Empty ranges are ignored.
  void Add(uint64_t begin, uint64_t end);
  // Removes [begin, end), splitting an interval if needed.
  void Remove(uint64_t begin, uint64_t end);
  bool Contains(uint64_t value) const;
  bool empty() const { return ranges_.empty(); }
  // Number of disjoint intervals.
  size_t count() const { return ranges_.size(); }
  std::optional<Range> First() const;
  std::optional<Range> Last() const;
  // The end of the interval that starts at or covers `value`, or `value`
  // itself when `value` is not in the set: how far the set is contiguous.
  uint64_t ContiguousEnd(uint64_t value) const;
  // Drops the lowest intervals until at most `max_ranges` remain.
  void KeepHighest(size_t max_ranges);

  // Intervals from the highest down, for ACK frames.
  auto rbegin() const { return ranges_.rbegin(); }
  auto rend() const { return ranges_.rend(); }
  auto begin() const { return ranges_.begin(); }
  auto end() const { return ranges_.end(); }

 private:
  std::map<uint64_t, uint64_t> ranges_;  // begin -> end
};

}  // namespace confab::datagram
