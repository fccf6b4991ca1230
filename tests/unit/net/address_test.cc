#include "common/net/address.h"

#include <string>

#include <catch2/catch.hpp>

namespace confab::net {
namespace {

TEST_CASE("Address parses IPv4 and bracketed IPv6 host:port", "[net][address]") {
  Result<Address> v4 = Address::Parse("127.0.0.1:7650");
  REQUIRE(v4.ok());
  CHECK_FALSE(v4->is_ipv6());
  CHECK(v4->port() == 7650);
  CHECK(v4->ip() == "127.0.0.1");
  CHECK(v4->ToString() == "127.0.0.1:7650");

  Result<Address> v6 = Address::Parse("[::1]:7650");
  REQUIRE(v6.ok());
  CHECK(v6->is_ipv6());
  CHECK(v6->port() == 7650);
  CHECK(v6->ip() == "::1");
  CHECK(v6->ToString() == "[::1]:7650");

  Result<Address> any = Address::Parse("0.0.0.0:0");
  REQUIRE(any.ok());
  CHECK(any->port() == 0);
  Result<Address> max = Address::Parse("[2001:db8::5]:65535");
  REQUIRE(max.ok());
  CHECK(max->port() == 65535);
}

TEST_CASE("Address round-trips through ToString and sockaddr", "[net][address]") {
  for (const char* text : {"10.1.2.3:1", "[fe80::1]:443", "255.255.255.255:65535"}) {
    CAPTURE(text);
    Result<Address> parsed = Address::Parse(text);
    REQUIRE(parsed.ok());
    CHECK(parsed->ToString() == text);
    Result<Address> copy = Address::FromSockaddr(parsed->sockaddr_ptr());
    REQUIRE(copy.ok());
    CHECK(copy->ToString() == text);
  }
}

TEST_CASE("Address refuses malformed text with InvalidArgument", "[net][address][error]") {
  for (const char* text :
       {"", "127.0.0.1", "127.0.0.1:", ":7650", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:76a0",
        "127.0.0.1:123456", "127.0.0.1: 80", "::1:7650", "[::1]", "[::1]7650", "[::1:7650",
        "[]:7650", "[127.0.0.1]:7650", "localhost:7650", "256.0.0.1:80", "127.1:80", "[::g]:80"}) {
    CAPTURE(text);
    Result<Address> parsed = Address::Parse(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == Status::Code::kInvalidArgument);
  }
}

TEST_CASE("Address::FromIp takes an unbracketed address and a port", "[net][address]") {
  Result<Address> v6 = Address::FromIp("::1", 9);
  REQUIRE(v6.ok());
  CHECK(v6->ToString() == "[::1]:9");
  CHECK_FALSE(Address::FromIp("[::1]", 9).ok());
  CHECK_FALSE(Address::FromIp("example.org", 9).ok());
}

TEST_CASE("Address::FromSockaddr refuses other families", "[net][address][error]") {
  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  CHECK(Address::FromSockaddr(&unix_address).status().code() == Status::Code::kInvalidArgument);
  CHECK_FALSE(Address::FromSockaddr(nullptr).ok());
}

}  // namespace
}  // namespace confab::net
