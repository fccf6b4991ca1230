#include "common/datagram/range_set.h"

#include <vector>

#include <catch2/catch.hpp>

namespace confab::datagram {
namespace {

std::vector<Range> All(const RangeSet& s) {
  std::vector<Range> out;
  for (const auto& [b, e] : s)
    out.push_back(Range{b, e});
  return out;
}

TEST_CASE("RangeSet merges touching and overlapping ranges", "[datagram][range]") {
  RangeSet s;
  s.Add(10, 20);
  s.Add(30, 40);
  s.Add(20, 25);  // touches the first
  CHECK(All(s) == std::vector<Range>{{10, 25}, {30, 40}});
  s.Add(5, 35);  // swallows both
  CHECK(All(s) == std::vector<Range>{{5, 40}});
  s.Add(7, 7);  // empty: ignored
  CHECK(s.count() == 1);
}

TEST_CASE("RangeSet removes by splitting", "[datagram][range]") {
  RangeSet s;
  s.Add(0, 100);
  s.Remove(10, 20);
  s.Remove(50, 60);
  CHECK(All(s) == std::vector<Range>{{0, 10}, {20, 50}, {60, 100}});
  s.Remove(5, 70);
  CHECK(All(s) == std::vector<Range>{{0, 5}, {70, 100}});
  CHECK(s.Contains(4));
  CHECK_FALSE(s.Contains(5));
  CHECK(s.ContiguousEnd(0) == 5);
  CHECK(s.ContiguousEnd(5) == 5);
  CHECK(s.ContiguousEnd(80) == 100);
  s.KeepHighest(1);
  CHECK(All(s) == std::vector<Range>{{70, 100}});
  s.Remove(0, 1000);
  CHECK(s.empty());
}

}  // namespace
}  // namespace confab::datagram
