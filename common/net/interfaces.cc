#include "common/net/interfaces.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

namespace confab::net {

std::vector<std::string> InterfaceAddresses() {
  std::vector<std::string> lan, loopback;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    return {"127.0.0.1"};
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET)
      continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) == nullptr)
      continue;
    (ntohl(in->sin_addr.s_addr) >> 24 == 127 ? loopback : lan).push_back(text);
  }
  freeifaddrs(list);
  return lan.empty() ? loopback : lan;
}

}  // namespace confab::net
