// SPDX-License-Identifier: MIT
#include "p2p/beacon_socket.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace p2p {

namespace {

std::string ipv4_text(const ::sockaddr* address) {
    ::sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    std::array<char, INET_ADDRSTRLEN> text{};
    if (::inet_ntop(AF_INET, &in.sin_addr, text.data(), text.size()) == nullptr) {
        return {};
    }
    return text.data();
}

/// The broadcast addresses of the up IPv4 interfaces `bind_host` covers.
std::vector<std::string> broadcast_addresses(const std::string& bind_host) {
    std::vector<std::string> out;
    ::ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return out;
    }
    const bool every = beacon_socket::is_every_interface(bind_host);
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_UP) == 0 ||
            (i->ifa_flags & IFF_BROADCAST) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0 || i->ifa_netmask == nullptr) {
            continue;
        }
        if (!every && bind_host != i->ifa_name && bind_host != ipv4_text(i->ifa_addr)) {
            continue;
        }
        // From address and mask: an address added without "brd" has no broadcast address of its own.
        ::sockaddr_in address{}, mask{};
        std::memcpy(&address, i->ifa_addr, sizeof address);
        std::memcpy(&mask, i->ifa_netmask, sizeof mask);
        address.sin_addr.s_addr |= ~mask.sin_addr.s_addr;
        if (mask.sin_addr.s_addr == 0xffffffff) {
            continue; // a /32 has nobody to broadcast to
        }
        auto broadcast = ipv4_text(reinterpret_cast<const ::sockaddr*>(&address));
        if (!broadcast.empty() && std::find(out.begin(), out.end(), broadcast) == out.end()) {
            out.push_back(std::move(broadcast));
        }
    }
    ::freeifaddrs(list);
    return out;
}

/// The indexes of the up, multicast, non-loopback interfaces with an IPv6 address (a link-local one at least).
std::set<unsigned> ipv6_interfaces() {
    std::set<unsigned> out;
    ::ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return out;
    }
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET6 || (i->ifa_flags & IFF_UP) == 0 ||
            (i->ifa_flags & IFF_MULTICAST) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) {
            continue;
        }
        if (const auto index = ::if_nametoindex(i->ifa_name); index != 0) {
            out.insert(index);
        }
    }
    ::freeifaddrs(list);
    return out;
}

::in6_addr group_address() {
    ::in6_addr group{};
    ::inet_pton(AF_INET6, beacon_ipv6_group, &group);
    return group;
}

/// "fe80::1%eth0": the interface names the scope of a link-local address, as a dial to it needs.
std::string ipv6_text(const ::sockaddr_in6& from) {
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (::inet_ntop(AF_INET6, &from.sin6_addr, text.data(), text.size()) == nullptr) {
        return {};
    }
    std::string out = text.data();
    if (from.sin6_scope_id != 0) {
        std::array<char, IF_NAMESIZE> name{};
        out += "%";
        out += ::if_indextoname(from.sin6_scope_id, name.data()) != nullptr ? std::string(name.data())
                                                                            : std::to_string(from.sin6_scope_id);
    }
    return out;
}

} // namespace

std::vector<std::string> beacon_socket::interfaces_for(const std::string& bind_host) {
    return broadcast_addresses(bind_host);
}

bool beacon_socket::is_every_interface(const std::string& bind_host) {
    return bind_host == "0.0.0.0" || bind_host == "*" || bind_host == "[::]" || bind_host == "::";
}

beacon_socket::beacon_socket(std::uint16_t port, std::string bind_host)
    : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)), port_(port),
      bind_host_(std::move(bind_host)) {
    const auto fail = [&](const char* what) {
        throw std::runtime_error(std::string(what) + " UDP port " + std::to_string(port_) + ": " +
                                 std::strerror(errno));
    };
    if (!fd_) {
        fail("cannot open a socket for");
    }
    const int on = 1;
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0) {
        fail("cannot set up");
    }
    ::sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(port_);
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd_.get(), reinterpret_cast<const ::sockaddr*>(&any), sizeof any) != 0) {
        fail("cannot listen on");
    }
    if (!is_every_interface(bind_host_)) {
        return; // the TCP listener is on one IPv4 address: a dial over IPv6 would find nobody
    }
    unique_fd v6(::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const int hops = 1;
    ::sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_port = htons(port_);
    any6.sin6_addr = in6addr_any;
    // IPv6 only: IPv4 beacons arrive on the other socket, and must not arrive twice.
    if (v6 && ::setsockopt(v6.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == 0 &&
        ::setsockopt(v6.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
        ::setsockopt(v6.get(), IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &on, sizeof on) == 0 &&
        ::setsockopt(v6.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) == 0 &&
        ::bind(v6.get(), reinterpret_cast<const ::sockaddr*>(&any6), sizeof any6) == 0) {
        fd6_ = std::move(v6);
        refresh();
    }
}

std::vector<int> beacon_socket::fds() const {
    std::vector<int> out{fd_.get()};
    if (fd6_) {
        out.push_back(fd6_.get());
    }
    return out;
}

void beacon_socket::refresh() {
    if (!fd6_) {
        return;
    }
    const auto now_up = ipv6_interfaces();
    for (auto it = joined_.begin(); it != joined_.end();) {
        if (now_up.count(*it) == 0) {
            ::ipv6_mreq leave{group_address(), *it};
            ::setsockopt(fd6_.get(), IPPROTO_IPV6, IPV6_LEAVE_GROUP, &leave, sizeof leave); // gone already: fine
            it = joined_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto index : now_up) {
        ::ipv6_mreq join{group_address(), index};
        if (joined_.count(index) == 0 &&
            ::setsockopt(fd6_.get(), IPPROTO_IPV6, IPV6_JOIN_GROUP, &join, sizeof join) == 0) {
            joined_.insert(index);
        }
    }
}

void beacon_socket::send(std::span<const std::uint8_t> datagram) {
    for (const auto& address : broadcast_addresses(bind_host_)) {
        ::sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port_);
        if (::inet_pton(AF_INET, address.c_str(), &to.sin_addr) == 1) {
            ::sendto(fd_.get(), datagram.data(), datagram.size(), MSG_DONTWAIT, reinterpret_cast<::sockaddr*>(&to),
                     sizeof to);
        }
    }
    if (!fd6_) {
        return;
    }
    refresh();
    for (const auto index : joined_) {
        ::sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        to.sin6_port = htons(port_);
        to.sin6_addr = group_address();
        to.sin6_scope_id = index;
        const auto out_on = static_cast<int>(index);
        if (::setsockopt(fd6_.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &out_on, sizeof out_on) == 0) {
            ::sendto(fd6_.get(), datagram.data(), datagram.size(), MSG_DONTWAIT, reinterpret_cast<::sockaddr*>(&to),
                     sizeof to);
        }
    }
}

bool beacon_socket::receive(std::string& source, std::vector<std::uint8_t>& bytes) {
    // The two sockets take turns, so that a flood on one cannot starve the other.
    for (int tries = 0; tries < 2; ++tries) {
        v6_next_ = !v6_next_ && fd6_;
        if (v6_next_ ? receive_v6(source, bytes) : receive_v4(source, bytes)) {
            return true;
        }
    }
    return false;
}

bool beacon_socket::receive_v4(std::string& source, std::vector<std::uint8_t>& bytes) {
    std::array<std::uint8_t, 512> buffer{};
    ::sockaddr_in from{};
    ::socklen_t from_size = sizeof from;
    const auto got = ::recvfrom(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                reinterpret_cast<::sockaddr*>(&from), &from_size);
    if (got < 0) {
        return false;
    }
    std::array<char, INET_ADDRSTRLEN> text{};
    source = ::inet_ntop(AF_INET, &from.sin_addr, text.data(), text.size()) != nullptr ? text.data() : "";
    bytes.assign(buffer.begin(), buffer.begin() + got);
    return true;
}

bool beacon_socket::receive_v6(std::string& source, std::vector<std::uint8_t>& bytes) {
    std::array<std::uint8_t, 512> buffer{};
    ::sockaddr_in6 from{};
    ::socklen_t from_size = sizeof from;
    const auto got = ::recvfrom(fd6_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                reinterpret_cast<::sockaddr*>(&from), &from_size);
    if (got < 0) {
        return false;
    }
    source = ipv6_text(from);
    bytes.assign(buffer.begin(), buffer.begin() + got);
    return true;
}

} // namespace p2p
