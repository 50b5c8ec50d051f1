// SPDX-License-Identifier: MIT
// loopback_socket.hpp - a TCP socket on a free port of 127.0.0.1, for the test helpers that stand for something at an
// address: a port that refuses connections, a listener that is no peer, a second address of a peer.
#pragma once

#include "p2p/unique_fd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <stdexcept>

namespace p2p::test {

/// 127.0.0.1:`port` as a socket address (port 0: any free one, to bind).
inline ::sockaddr_in loopback_address(std::uint16_t port) {
    ::sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

struct loopback_socket {
    unique_fd fd;
    std::uint16_t port = 0;
};

/// A TCP socket (with `socket_flags` such as SOCK_NONBLOCK) bound to a free port of 127.0.0.1, listening with
/// `backlog`; with no backlog it does not listen, so that the port refuses every connection while it is bound.
inline loopback_socket bind_loopback(std::optional<int> backlog, int socket_flags = 0) {
    loopback_socket s{unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | socket_flags, 0)), 0};
    auto address = loopback_address(0);
    ::socklen_t length = sizeof address;
    if (!s.fd || ::bind(s.fd.get(), reinterpret_cast<::sockaddr*>(&address), sizeof address) != 0 ||
        (backlog && ::listen(s.fd.get(), *backlog) != 0) ||
        ::getsockname(s.fd.get(), reinterpret_cast<::sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("cannot bind a TCP socket to a loopback port");
    }
    s.port = ntohs(address.sin_port);
    return s;
}

} // namespace p2p::test
