// SPDX-License-Identifier: MIT
// interrupted.hpp - ZeroMQ calls that a signal interrupts.
//
// A Ctrl-C reaches whichever thread of the process does not block it, and libzmq's waits (zmq_poll, a blocking
// send or receive) then fail with EINTR whatever SA_RESTART says; cppzmq throws that as zmq::error_t. The front
// ends learn of the signal from their signal pipe, so every other wait just goes on: these wrappers do that.
#pragma once

#include <zmq.hpp>

#include <cerrno>
#include <chrono>
#include <span>

namespace p2p {

/// Calls `call()` again for as long as a signal interrupts it; any other error is thrown as before.
template <typename Call>
auto retry_interrupted(Call&& call) {
    for (;;) {
        try {
            return call();
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) {
                throw;
            }
        }
    }
}

/// zmq::poll that a signal does not cut short: it waits again for what is left of `timeout` (negative: forever),
/// and returns 0 when that has passed.
inline int poll_through_signals(std::span<zmq::pollitem_t> items, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        try {
            return zmq::poll(items.data(), items.size(), timeout);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) {
                throw;
            }
        }
        if (timeout.count() >= 0) {
            timeout = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (timeout.count() <= 0) {
                return 0;
            }
        }
    }
}

} // namespace p2p
