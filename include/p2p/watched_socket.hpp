// SPDX-License-Identifier: MIT
// watched_socket.hpp - an outgoing socket together with the monitor libzmq reports its connection events to.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace p2p {

/// One connection event as libzmq reports it: ZMQ_EVENT_* and its value (an errno, a protocol error code...).
struct socket_event {
    std::uint16_t kind = 0;
    std::uint32_t value = 0;
};

/// Owns a socket and the reading end of its monitor, and closes them in the one safe order.
///
/// libzmq writes monitor events from its I/O thread with a blocking send. If the reading end closes while the
/// monitor still runs, the next event of the socket (a DISCONNECTED or a reconnect try during its teardown) blocks
/// that thread, and with it every connection of the context until the context ends. So the destructor stops the
/// monitor first, then closes the socket, then the reading end; and the reading end takes every event without a
/// queue limit, so a loop that is busy for a while never blocks the I/O thread either.
class watched_socket {
public:
    /// Starts watching `socket` for `events` (ZMQ_EVENT_* bits). Call before connect, so no event is missed.
    /// Throws zmq::error_t when libzmq refuses the monitor.
    watched_socket(zmq::context_t& context, zmq::socket_t socket, int events);
    watched_socket(watched_socket&&) noexcept = default;
    watched_socket& operator=(watched_socket&&) = delete;
    watched_socket(const watched_socket&) = delete;
    watched_socket& operator=(const watched_socket&) = delete;
    ~watched_socket();

    zmq::socket_t& socket() { return socket_; }
    /// What to poll for the monitor's events.
    zmq::socket_ref monitor() { return monitor_; }
    /// The next event, if one is waiting (never blocks).
    std::optional<socket_event> next_event();

private:
    zmq::socket_t socket_;
    zmq::socket_t monitor_;
};

} // namespace p2p
