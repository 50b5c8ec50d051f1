// SPDX-License-Identifier: MIT
#include "p2p/interface_addresses.hpp"

#include "p2p/endpoint.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace p2p {

namespace {

/// One address of an interface that is up.
struct up_address {
    std::string host; ///< "192.168.1.20", "[fe80::1%eth0]" (with its interface when link-local), "[::1]"
    bool ipv4 = false;
    bool loopback = false;
};

/// Every address of this machine's interfaces that are up, in the order the system lists them.
std::vector<up_address> up_addresses() {
    std::vector<up_address> out;
    ::ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return out;
    }
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) {
            continue;
        }
        std::array<char, INET6_ADDRSTRLEN> text{};
        const bool loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
        if (i->ifa_addr->sa_family == AF_INET) {
            ::sockaddr_in address{};
            std::memcpy(&address, i->ifa_addr, sizeof address);
            if (::inet_ntop(AF_INET, &address.sin_addr, text.data(), text.size()) != nullptr) {
                out.push_back({text.data(), true, loopback});
            }
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            ::sockaddr_in6 address{};
            std::memcpy(&address, i->ifa_addr, sizeof address);
            if (::inet_ntop(AF_INET6, &address.sin6_addr, text.data(), text.size()) != nullptr) {
                std::string host = "[";
                host += text.data();
                if (address.sin6_scope_id != 0 && i->ifa_name != nullptr) {
                    host += '%'; // as libzmq and the beacons write a link-local address: with its interface
                    host += i->ifa_name;
                }
                host += ']';
                out.push_back({std::move(host), false, loopback});
            }
        }
    }
    ::freeifaddrs(list);
    return out;
}

void add_once(std::vector<std::string>& to, std::string entry) {
    if (std::find(to.begin(), to.end(), entry) == to.end()) {
        to.push_back(std::move(entry));
    }
}

} // namespace

std::vector<std::string> interface_addresses(const std::string& port) {
    std::vector<std::string> others, loopback;
    for (auto& a : up_addresses()) {
        if (a.ipv4) {
            add_once(a.loopback ? loopback : others, a.host + ":" + port);
        }
    }
    others.insert(others.end(), loopback.begin(), loopback.end());
    return others;
}

std::vector<std::string> this_machine_hosts() {
    std::vector<std::string> hosts;
    for (auto& a : up_addresses()) {
        add_once(hosts, std::move(a.host));
    }
    return hosts;
}

std::vector<std::string> reachable_addresses(std::string_view endpoint) {
    if (is_wildcard_endpoint(endpoint)) {
        auto all = interface_addresses(endpoint_port(endpoint));
        if (!all.empty()) {
            return all;
        }
    }
    return {display_address(endpoint)};
}

} // namespace p2p
