// SPDX-License-Identifier: MIT
#include "wait.hpp"

#include <cerrno>
#include <vector>

namespace p2p::cli {

wake wait_for_activity(peer& p, const stop_signal& stop, const line_reader* input, std::chrono::milliseconds timeout) {
    if (stop.requested()) {
        return wake::stop;
    }
    // Events already read off the pipe (while the peer waited for a reply) do not make it readable again.
    if (p.has_queued_events()) {
        return wake::event;
    }
    std::vector<zmq::pollitem_t> items{stop.pollitem(), p.pollitem()};
    if (input != nullptr) {
        items.push_back(input->pollitem());
    }
    try {
        zmq::poll(items, timeout);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) {
            throw;
        }
        // A signal interrupted the poll; the handler has written to the signal pipe, which the next check sees.
        return stop.requested() ? wake::stop : wake::idle;
    }
    if ((items[0].revents & ZMQ_POLLIN) != 0 || stop.requested()) {
        return wake::stop;
    }
    if ((items[1].revents & ZMQ_POLLIN) != 0) {
        return wake::event;
    }
    if (input != nullptr && (items[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) != 0) {
        return wake::input;
    }
    return wake::idle;
}

} // namespace p2p::cli
