// The host's own IPv4 addresses, for announcing where a wildcard-bound
// socket can be reached and for recognising "no NAT" (the tracker saw one
// of them).
#pragma once

#include <string>
#include <vector>

namespace confab::net {

// The IPv4 interface addresses, loopback ones only if there is nothing else.
std::vector<std::string> InterfaceAddresses();

}  // namespace confab::net
