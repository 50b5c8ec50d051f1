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
    const bool every = bind_host == "0.0.0.0" || bind_host == "*";
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

} // namespace

std::vector<std::string> beacon_socket::interfaces_for(const std::string& bind_host) {
    return broadcast_addresses(bind_host);
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
}

bool beacon_socket::receive(std::string& source, std::vector<std::uint8_t>& bytes) {
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

} // namespace p2p
