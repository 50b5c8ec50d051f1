// SPDX-License-Identifier: MIT
// beacon_socket.hpp - the UDP socket of LAN discovery: broadcasts our beacon, receives everyone's.
//
// Bound to the discovery port on every address with SO_REUSEADDR, so several peers on one machine share the port
// (each hears every broadcast). A beacon goes to the broadcast address of every up IPv4 interface that has one
// (loopback has none); IPv6 multicast is not used. The node polls fd() and reads with receive(); the core decides.
#pragma once

#include "p2p/unique_fd.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace p2p {

class beacon_socket {
public:
    /// Broadcast interfaces that `bind_host` ("0.0.0.0", an address, or an interface name) covers: those beacons go
    /// out on. Empty when discovery cannot work there (127.0.0.1: loopback broadcasts nothing).
    static std::vector<std::string> interfaces_for(const std::string& bind_host);

    /// Opens the socket on UDP `port` for the interfaces of `bind_host`. Throws std::runtime_error with the reason.
    beacon_socket(std::uint16_t port, std::string bind_host);

    int fd() const { return fd_.get(); }
    /// Broadcasts `datagram` on each interface (those of bind_host, looked up again each time: interfaces come and
    /// go). Errors are ignored: an interface that went down meanwhile is not news.
    void send(std::span<const std::uint8_t> datagram);
    /// Takes the next waiting datagram: its source IPv4 address and its bytes (at most 512; larger ones are cut and
    /// then refused by the decoder). False when none waits.
    bool receive(std::string& source, std::vector<std::uint8_t>& bytes);

private:
    unique_fd fd_;
    std::uint16_t port_;
    std::string bind_host_;
};

} // namespace p2p
