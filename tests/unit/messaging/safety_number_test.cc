#include "peer/contacts/safety_number.h"

#include <regex>

#include <catch2/catch.hpp>

namespace confab::peer {
namespace {

TEST_CASE("SafetyNumber is 12 groups of 5 digits, the same from either side",
          "[messaging][verify]") {
  Bytes alice(32, 0xa1);
  Bytes bob(32, 0xb0);
  auto ab = SafetyNumber(alice, bob);
  auto ba = SafetyNumber(bob, alice);
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(*ab == *ba);
  CHECK(std::regex_match(*ab, std::regex("([0-9]{5} ){11}[0-9]{5}")));
}

TEST_CASE("SafetyNumber differs when either key differs", "[messaging][verify]") {
  Bytes alice(32, 0xa1);
  Bytes bob(32, 0xb0);
  Bytes mallory = bob;
  mallory[31] ^= 1;
  auto real = SafetyNumber(alice, bob);
  auto forged = SafetyNumber(alice, mallory);
  auto other = SafetyNumber(Bytes(32, 0xa2), bob);
  REQUIRE(real.ok());
  REQUIRE(forged.ok());
  REQUIRE(other.ok());
  CHECK(*real != *forged);
  CHECK(*real != *other);
}

TEST_CASE("SafetyNumber refuses keys that are not 32 bytes", "[messaging][verify][error]") {
  CHECK(SafetyNumber(Bytes(31), Bytes(32)).status().code() == Status::Code::kInvalidArgument);
  CHECK(SafetyNumber(Bytes(32), Bytes(33)).status().code() == Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace confab::peer
