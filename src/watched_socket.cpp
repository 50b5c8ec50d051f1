// SPDX-License-Identifier: MIT
#include "p2p/watched_socket.hpp"

#include "p2p/interrupted.hpp"

#include <atomic>
#include <cstring>

namespace p2p {

watched_socket::watched_socket(zmq::context_t& context, zmq::socket_t socket, int events)
    : socket_(std::move(socket)), monitor_(context, zmq::socket_type::pair) {
    static std::atomic<std::uint64_t> monitors{0};
    const auto endpoint = "inproc://p2p-monitor-" + std::to_string(monitors++);
    // Each of these calls first processes libzmq's pending commands, a wait that a signal interrupts (on a thread
    // that takes signals: a program's own that drives a node): they are tried again, as the node's own calls are.
    retry_interrupted([&] {
        if (zmq_socket_monitor(socket_.handle(), endpoint.c_str(), events) != 0) {
            throw zmq::error_t();
        }
    });
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.set(zmq::sockopt::rcvhwm, 0);
    retry_interrupted([&] { monitor_.connect(endpoint); });
}

watched_socket::~watched_socket() {
    if (socket_.handle() != nullptr) {
        // Stopping takes the lock libzmq holds while it sends an event: once it returns, no send is under way and
        // none comes after.
        zmq_socket_monitor(socket_.handle(), nullptr, 0);
    }
    socket_.close();
    monitor_.close();
}

std::optional<socket_event> watched_socket::next_event() {
    for (;;) {
        // Two frames per event: 2 bytes of event number and 4 of value, then the endpoint.
        zmq::message_t head;
        if (!retry_interrupted([&] { return monitor_.recv(head, zmq::recv_flags::dontwait); })) {
            return std::nullopt;
        }
        if (head.more()) {
            zmq::message_t where;
            [[maybe_unused]] auto got = retry_interrupted([&] { return monitor_.recv(where, zmq::recv_flags::none); });
        }
        if (head.size() < 6) {
            continue; // not an event of this libzmq's format: nothing to report
        }
        socket_event e;
        std::memcpy(&e.kind, head.data(), sizeof e.kind);
        std::memcpy(&e.value, static_cast<const char*>(head.data()) + sizeof e.kind, sizeof e.value);
        return e;
    }
}

} // namespace p2p
