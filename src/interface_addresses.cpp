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

std::vector<std::string> interface_addresses(const std::string& port) {
    std::vector<std::string> others, loopback;
    ::ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return others;
    }
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_UP) == 0) {
            continue;
        }
        std::array<char, INET_ADDRSTRLEN> text{};
        ::sockaddr_in address{};
        std::memcpy(&address, i->ifa_addr, sizeof address);
        if (::inet_ntop(AF_INET, &address.sin_addr, text.data(), text.size()) == nullptr) {
            continue;
        }
        auto& into = (i->ifa_flags & IFF_LOOPBACK) != 0 ? loopback : others;
        const auto entry = std::string(text.data()) + ":" + port;
        if (std::find(into.begin(), into.end(), entry) == into.end()) {
            into.push_back(entry);
        }
    }
    ::freeifaddrs(list);
    others.insert(others.end(), loopback.begin(), loopback.end());
    return others;
}

std::vector<std::string> this_machine_hosts() {
    std::vector<std::string> hosts;
    ::ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return hosts;
    }
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) {
            continue;
        }
        std::array<char, INET6_ADDRSTRLEN> text{};
        std::string host;
        if (i->ifa_addr->sa_family == AF_INET) {
            ::sockaddr_in address{};
            std::memcpy(&address, i->ifa_addr, sizeof address);
            if (::inet_ntop(AF_INET, &address.sin_addr, text.data(), text.size()) != nullptr) {
                host = text.data();
            }
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            ::sockaddr_in6 address{};
            std::memcpy(&address, i->ifa_addr, sizeof address);
            if (::inet_ntop(AF_INET6, &address.sin6_addr, text.data(), text.size()) != nullptr) {
                host = text.data();
                if (address.sin6_scope_id != 0 && i->ifa_name != nullptr) {
                    host += std::string("%") + i->ifa_name; // as libzmq and the beacons write a link-local address
                }
            }
        }
        if (!host.empty() && std::find(hosts.begin(), hosts.end(), host) == hosts.end()) {
            hosts.push_back(std::move(host));
        }
    }
    ::freeifaddrs(list);
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
