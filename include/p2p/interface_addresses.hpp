// SPDX-License-Identifier: MIT
// interface_addresses.hpp - where other machines can reach a peer: the addresses of this machine's interfaces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace p2p {

/// Every IPv4 address of this machine's interfaces that are up, as "address:port", each once: where others can reach
/// a peer bound to 0.0.0.0. Loopback addresses come last, since they reach only this machine.
std::vector<std::string> interface_addresses(const std::string& port);

/// Every address of this machine's interfaces that are up, IPv4 and IPv6, loopback included, each as endpoint_host
/// writes a host: "192.168.1.20", "[fe80::1%eth0]" (a link-local address with its interface), "[::1]".
std::vector<std::string> this_machine_hosts();

/// The "host:port" addresses to tell others for a bound endpoint: every interface address for a wildcard bind (or the
/// wildcard itself when the system lists none), else the one address bound.
std::vector<std::string> reachable_addresses(std::string_view endpoint);

} // namespace p2p
