// SPDX-License-Identifier: MIT
#include "p2p/interface_watch.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>

namespace p2p {

interface_watch::interface_watch() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE)) {
    if (!fd_) {
        return;
    }
    ::sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (::bind(fd_.get(), reinterpret_cast<const ::sockaddr*>(&address), sizeof address) != 0) {
        fd_.reset();
    }
}

bool interface_watch::drain() {
    if (!fd_) {
        return false;
    }
    bool any = false;
    std::array<char, 8192> buffer{};
    // Bounded: a storm of notices cannot hold the loop; what is left makes the descriptor readable again.
    for (int i = 0; i < 64; ++i) {
        const auto got = ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (got < 0) {
            // ENOBUFS: notices were lost to an overflow; something changed all the same.
            any = any || errno == ENOBUFS;
            if (errno != ENOBUFS) {
                break;
            }
            continue;
        }
        any = true;
    }
    return any;
}

} // namespace p2p
