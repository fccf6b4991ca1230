// A numeric IPv4 or IPv6 socket address. No DNS: confab peers and trackers
// are configured by address, and a resolver would need the thread pool and
// an asynchronous API that nothing needs yet.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace confab::net {

class Address {
 public:
  // "127.0.0.1:7650" or "[::1]:7650" (brackets are required for IPv6, so a
  // port is never mistaken for part of the address; a "%scope" is allowed).
  // Port 0 is allowed (bind to any free port). InvalidArgument, naming the
  // offending text, for anything else: no port, a non-numeric or too large
  // port, an unbracketed IPv6 address, a host name.
  static Result<Address> Parse(std::string_view host_port);
  // `ip` without brackets, e.g. "::1" or "10.0.0.1".
  static Result<Address> FromIp(std::string_view ip, uint16_t port);
  // Copies an AF_INET or AF_INET6 sockaddr; InvalidArgument for other families.
  static Result<Address> FromSockaddr(const sockaddr* sa);

  // Valid for as long as this Address; sized for its family.
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  int family() const { return storage_.ss_family; }
  bool is_ipv6() const { return family() == AF_INET6; }
  uint16_t port() const;
  // The numeric address alone: "127.0.0.1", "::1".
  std::string ip() const;
  // Parse()'s format: "127.0.0.1:7650", "[::1]:7650".
  std::string ToString() const;

 private:
  Address() = default;
  sockaddr_storage storage_{};
};

}  // namespace confab::net
