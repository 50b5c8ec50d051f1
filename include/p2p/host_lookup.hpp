// SPDX-License-Identifier: MIT
// host_lookup.hpp - host names resolved, and ZeroMQ greetings read, off the loop thread.
#pragma once

#include "p2p/unique_fd.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace p2p {

/// Resolves host names on threads of their own. A resolver can take seconds (a DNS server that does not answer),
/// and neither the loop that owns the sockets nor libzmq's I/O thread (which resolves a name given to connect
/// inside itself, stalling every connection of the context) may wait on it: the node resolves first, here, and
/// hands libzmq a numeric address.
class host_lookup {
public:
    struct answer {
        std::uint64_t tag = 0;
        std::string address;   ///< Numeric IPv4, ready for an endpoint ("192.0.2.1"); empty on failure.
        std::string error;     ///< The resolver's words when the name does not resolve, or why no greeting was read.
        bool greeting = false; ///< The answer of start_greeting, not of start.
        std::string mechanism; ///< start_greeting: the security mechanism the socket there speaks ("NULL", "CURVE").
    };

    host_lookup();
    /// Lookups still running finish on their own; their answers are dropped.
    ~host_lookup();
    host_lookup(const host_lookup&) = delete;
    host_lookup& operator=(const host_lookup&) = delete;

    /// Readable while answers wait in take().
    int notify_fd() const;
    /// Starts resolving `host` to an IPv4 address for a TCP connection (the peer's sockets speak IPv4; an IPv6
    /// literal is given to libzmq as it is); the answer comes back under `tag`.
    void start(std::uint64_t tag, std::string host);
    /// Starts reading which security mechanism the ZeroMQ socket at numeric_host:port speaks (zmtp_greeting.hpp says
    /// why a failed handshake needs this); the answer comes back under `tag`, with `mechanism` set.
    void start_greeting(std::uint64_t tag, std::string numeric_host, std::string port);
    /// The answers that arrived since the last call.
    std::vector<answer> take();

    /// True for a host that needs no lookup: an IPv4 or IPv6 literal (IPv6 with or without brackets).
    static bool is_numeric(const std::string& host);

private:
    struct shared;
    /// Runs `work` on a detached thread and queues its answer.
    void run_detached(std::function<answer()> work);
    std::shared_ptr<shared> shared_;
};

} // namespace p2p
