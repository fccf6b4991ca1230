#include "common/base/member_name.h"

#include <string>

#include <catch2/catch.hpp>

namespace confab {
namespace {

TEST_CASE("Member names are short, lower-case and shell-safe", "[base]") {
  for (const std::string& good :
       std::initializer_list<std::string>{"alice", "b0b.x_y-z", "7", std::string(64, 'b')}) {
    INFO(good);
    CHECK(ValidateMemberName(good).ok());
  }
  for (const std::string& bad :
       std::initializer_list<std::string>{"", std::string(65, 'b'), "Alice", "-bob", ".bob",
                                          "bob smith", "bob/../x", "bob\n", "b\xc3\xa9"}) {
    INFO(bad);
    CHECK(ValidateMemberName(bad).code() == Status::Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace confab
