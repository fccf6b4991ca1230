#include "common/crypto/invite.h"

#include <string>

#include <catch2/catch.hpp>

namespace confab::crypto {
namespace {

Invite Sample() {
  Invite invite;
  invite.tracker_address = "127.0.0.1:7650";
  for (size_t i = 0; i < invite.tracker_static_key.size(); ++i) {
    invite.tracker_static_key[i] = static_cast<uint8_t>(i);
  }
  invite.secret = NewInviteSecret();
  invite.name = "alice";
  invite.org = "Example Org";
  invite.expires_unix = 1'800'000'000;
  return invite;
}

TEST_CASE("An invite code round-trips every field", "[invite]") {
  Invite invite = Sample();
  std::string code = EncodeInvite(invite);
  CHECK(code.starts_with("confab1-"));
  auto decoded = DecodeInvite(code);
  REQUIRE(decoded.ok());
  CHECK(decoded->tracker_address == invite.tracker_address);
  CHECK(decoded->tracker_static_key == invite.tracker_static_key);
  CHECK(ToHex(decoded->secret.view()) == ToHex(invite.secret.view()));
  CHECK(decoded->name == "alice");
  CHECK(decoded->org == "Example Org");
  CHECK(decoded->expires_unix == invite.expires_unix);
}

TEST_CASE("An invite code survives being wrapped across lines", "[invite]") {
  Invite invite = Sample();
  std::string code = EncodeInvite(invite);
  std::string wrapped =
      "  " + code.substr(0, 30) + "\n" + code.substr(30, 40) + " \r\n" + code.substr(70) + "\n";
  auto decoded = DecodeInvite(wrapped);
  REQUIRE(decoded.ok());
  CHECK(decoded->name == "alice");
}

TEST_CASE("A mistyped, truncated or foreign invite code is refused clearly", "[invite][error]") {
  std::string code = EncodeInvite(Sample());
  SECTION("a changed character") {
    std::string typo = code;
    typo[20] = typo[20] == 'A' ? 'B' : 'A';
    auto r = DecodeInvite(typo);
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(std::string(r.status().message()).find("damaged") != std::string::npos);
  }
  SECTION("a truncated code") {
    for (size_t keep : {size_t{9}, size_t{20}, code.size() - 1}) {
      CHECK_FALSE(DecodeInvite(code.substr(0, keep)).ok());
    }
  }
  SECTION("no prefix") {
    auto r = DecodeInvite(code.substr(8));
    CHECK(std::string(r.status().message()).find("not a confab invite") != std::string::npos);
  }
  SECTION("empty and garbage") {
    CHECK_FALSE(DecodeInvite("").ok());
    CHECK_FALSE(DecodeInvite("confab1-").ok());
    CHECK_FALSE(DecodeInvite("confab1-!!!!").ok());
    CHECK_FALSE(DecodeInvite(std::string(5000, 'a')).ok());
  }
}

TEST_CASE("Secret hashes and join psks are distinct and deterministic", "[invite]") {
  auto secret = NewInviteSecret();
  auto other = NewInviteSecret();
  CHECK(HashInviteSecret(secret.view()) == HashInviteSecret(secret.view()));
  CHECK(HashInviteSecret(secret.view()) != HashInviteSecret(other.view()));
  auto hash = HashInviteSecret(secret.view());
  auto psk = DeriveJoinPsk(secret.view());
  CHECK(ToHex(psk.view()) == ToHex(DeriveJoinPsk(secret.view()).view()));
  CHECK(ToHex(psk.view()) != ToHex(ByteView(hash)));
  CHECK(ToHex(psk.view()) != ToHex(secret.view()));
}

}  // namespace
}  // namespace confab::crypto
