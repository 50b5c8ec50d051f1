// SPDX-License-Identifier: MIT
// beacon_socket.hpp - the UDP sockets of LAN discovery: send our beacon, receive everyone's.
//
// IPv4: bound to the discovery port on every address with SO_REUSEADDR, so several peers on one machine share the
// port (the kernel hands each of them every broadcast). A beacon goes to the broadcast address of every up IPv4
// interface that has one (loopback has none).
// IPv6 (only when the peer listens on every interface, so a dial over IPv6 can reach it): a second socket, IPv6 only,
// on the same port, member of the link-local group beacon_ipv6_group on every up interface that has IPv6 and
// multicast; the same datagram goes to that group on each of them, looped back so peers on one host hear each other.
// The node polls fds() and reads with receive(); the core decides.
#pragma once

#include "p2p/unique_fd.hpp"

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace p2p {

/// The IPv6 link-local multicast group of beacons: "P2PB", the beacon's magic, in its last 32 bits.
inline constexpr const char* beacon_ipv6_group = "ff02::5032:5042";

class beacon_socket {
public:
    /// Broadcast interfaces that `bind_host` ("0.0.0.0", an address, or an interface name) covers: those IPv4
    /// beacons go out on. Empty when IPv4 discovery cannot work there (127.0.0.1: loopback broadcasts nothing).
    static std::vector<std::string> interfaces_for(const std::string& bind_host);
    /// True for a bind host that means every interface ("0.0.0.0", "*", "[::]"): interfaces may come later.
    static bool is_every_interface(const std::string& bind_host);

    /// Opens the sockets on UDP `port` for the interfaces of `bind_host`. Throws std::runtime_error with the reason
    /// when the IPv4 one cannot be opened; without IPv6 (none in the kernel, or a bind to one IPv4 address) there is
    /// no IPv6 socket and IPv4 goes on alone.
    beacon_socket(std::uint16_t port, std::string bind_host);

    /// The descriptors to poll for reading: IPv4, then IPv6 when there is one.
    std::vector<int> fds() const;
    /// Joins the IPv6 group on interfaces that came up since (and leaves those that went): at the start, before each
    /// send, and whenever the interfaces changed.
    void refresh();
    /// Sends `datagram` on each interface (looked up again each time: interfaces come and go): broadcast on IPv4,
    /// the group on IPv6. Errors are ignored: an interface that went down meanwhile is not news.
    void send(std::span<const std::uint8_t> datagram);
    /// Takes the next waiting datagram: its source address ("192.168.1.7", or "fe80::1%eth0" with the interface of a
    /// link-local one) and its bytes (at most 512; larger ones are cut and then refused by the decoder). False when
    /// none waits on either socket.
    bool receive(std::string& source, std::vector<std::uint8_t>& bytes);

private:
    bool receive_v4(std::string& source, std::vector<std::uint8_t>& bytes);
    bool receive_v6(std::string& source, std::vector<std::uint8_t>& bytes);

    unique_fd fd_;
    unique_fd fd6_;
    std::uint16_t port_;
    std::string bind_host_;
    std::set<unsigned> joined_; ///< Interface indexes whose IPv6 group membership this socket holds.
    bool v6_next_ = false;      ///< Which socket receive() reads first next time.
};

} // namespace p2p
