#include "common/net/address.h"

#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include <uv.h>

namespace confab::net {
namespace {

Result<uint16_t> ParsePort(std::string_view text, std::string_view whole) {
  if (text.empty() || text.size() > 5)
    return Status::InvalidArgument("bad port in address \"" + std::string(whole) + "\"");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535)
    return Status::InvalidArgument("bad port in address \"" + std::string(whole) + "\"");
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<Address> Address::FromIp(std::string_view ip, uint16_t port) {
  const std::string text(ip);  // libuv wants a terminated string
  Address address;
  if (text.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address.storage_);
    if (uv_ip6_addr(text.c_str(), port, in6) != 0)
      return Status::InvalidArgument("not an IPv6 address: \"" + text + "\"");
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
    if (uv_ip4_addr(text.c_str(), port, in4) != 0)
      return Status::InvalidArgument("not an IPv4 address: \"" + text + "\"");
  }
  return address;
}

Result<Address> Address::Parse(std::string_view host_port) {
  const std::string whole(host_port);
  if (host_port.empty())
    return Status::InvalidArgument("empty address");
  std::string_view host;
  std::string_view port;
  if (host_port.front() == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidArgument("missing ']' in address \"" + whole + "\"");
    host = host_port.substr(1, close - 1);
    std::string_view rest = host_port.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      return Status::InvalidArgument("missing port in address \"" + whole + "\"");
    port = rest.substr(1);
    if (host.find(':') == std::string_view::npos)
      return Status::InvalidArgument("brackets hold an IPv6 address, not \"" + whole + "\"");
  } else {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos)
      return Status::InvalidArgument("missing port in address \"" + whole + "\"");
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return Status::InvalidArgument("IPv6 addresses need brackets: \"[addr]:port\", not \"" +
                                     whole + "\"");
  }
  if (host.empty())
    return Status::InvalidArgument("missing host in address \"" + whole + "\"");
  CONFAB_ASSIGN_OR_RETURN(uint16_t port_number, ParsePort(port, host_port));
  return FromIp(host, port_number);
}

Result<Address> Address::FromSockaddr(const sockaddr* sa) {
  Address address;
  if (sa == nullptr)
    return Status::InvalidArgument("no socket address");
  if (sa->sa_family == AF_INET) {
    std::memcpy(&address.storage_, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(&address.storage_, sa, sizeof(sockaddr_in6));
  } else {
    return Status::InvalidArgument("socket address family " + std::to_string(sa->sa_family) +
                                   " is neither IPv4 nor IPv6");
  }
  return address;
}

uint16_t Address::port() const {
  if (is_ipv6())
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

std::string Address::ip() const {
  char text[UV_IF_NAMESIZE + INET6_ADDRSTRLEN + 2] = {};
  // Cannot fail for an address that came from uv_ip*_addr or the kernel.
  if (is_ipv6())
    (void)uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&storage_), text, sizeof(text));
  else
    (void)uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&storage_), text, sizeof(text));
  return text;
}

std::string Address::ToString() const {
  // Built by appending: g++ 12 -O2 warns (-Wrestrict, a false positive) on
  // the operator+ chain.
  std::string out;
  if (is_ipv6()) {
    out += '[';
    out += ip();
    out += ']';
  } else {
    out += ip();
  }
  out += ':';
  out += std::to_string(port());
  return out;
}

}  // namespace confab::net
